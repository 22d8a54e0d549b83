"""Callback data is hostile: only the exact shapes the bot makes are parsed."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.jobs import Job, JobKind, JobState, Requester
from bot.keyboards import Pressed, offers, parse, result_keyboard


def test_parses_the_shapes_the_bot_makes():
    assert parse("stop:12") == Pressed("stop", (12,))
    assert parse("job:1001:7:2") == Pressed("job", (1001, 7, 2))
    assert parse("jobs:-1:1") == Pressed("jobs", (-1, 1))
    assert parse("resend:12") == Pressed("resend", (12,))


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "stop",
        "stop:",
        "stop:1:2",
        "job:1:2",
        "jobs:1:2:3",
        "jobs:1:²",
        "jobs:1:٣",
        "cancel: 1",
        "cancel:1.0",
        "cancel:99999999999999999999",
        "cancel:9223372036854775808",
        "again:0x10",
        "resend:",
        "resend:1:2",
        "resend:v12",
        "delete:1",
        "💥",
    ],
)
def test_refuses_everything_else(data):
    assert parse(data) is None


def test_only_data_the_message_carries_is_offered():
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="jobs:1:2")]])
    assert offers(markup, "jobs:1:2")
    assert not offers(markup, "jobs:1:3")
    assert not offers(None, "jobs:1:2")
    assert not offers(markup, None)


def test_a_share_button_carries_no_callback_data_and_is_never_offered():
    """The Share button is answered by Telegram's inline mode, not by a press: a client
    sending its query as callback data finds no button carrying it."""
    markup = share_markup()
    (share,) = markup.inline_keyboard[-1]
    assert share.callback_data is None
    chosen = share.switch_inline_query_chosen_chat
    assert chosen is not None and chosen.query == "#7"
    assert not offers(markup, "#7")


def share_markup() -> InlineKeyboardMarkup:
    job = Job(
        7,
        Requester(1, 1, 1),
        JobKind.TEXT,
        "a fox",
        "sandbox",
        {},
        (),
        JobState.DELIVERED,
        None,
        None,
        None,
        None,
        None,
        0,
        None,
        0.0,
        0.0,
    )
    return result_keyboard(job, share=True)
