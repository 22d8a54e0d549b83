"""The one table of HTTP semantics every provider module goes through."""

from __future__ import annotations

import httpx
import pytest

from bot.providers.base import (
    AuthFailed,
    InvalidRequest,
    NoCredits,
    RateLimited,
    Unavailable,
    http_meaning,
    status_error,
    transport_error,
    unreadable_answer,
)

REQUEST = httpx.Request("POST", "http://provider.test/create")


@pytest.mark.parametrize(
    ("status", "error", "maybe_accepted"),
    [
        (400, InvalidRequest, False),
        (401, AuthFailed, False),
        (402, NoCredits, False),
        (403, AuthFailed, False),
        (404, InvalidRequest, False),
        (408, Unavailable, False),
        (422, InvalidRequest, False),
        (429, RateLimited, False),
        (500, Unavailable, True),
        (501, Unavailable, True),  # an unknown 5xx: never risk paying twice
        (502, Unavailable, True),
        (503, Unavailable, False),
        (504, Unavailable, True),
    ],
)
def test_each_status_has_one_meaning(status, error, maybe_accepted):
    meaning = http_meaning(status)
    assert (meaning.error, meaning.maybe_accepted) == (error, maybe_accepted)
    created = status_error("P", status, creating=True)
    assert type(created) is error and created.maybe_accepted is maybe_accepted
    assert created.retryable is (error in (RateLimited, Unavailable))
    assert not status_error("P", status, creating=False).maybe_accepted  # a poll bills nothing


def test_retry_after_is_honoured_for_retryable_answers_only():
    headers = {"retry-after": "7"}
    assert status_error("P", 429, headers=headers).retry_after == 7.0
    assert status_error("P", 503, headers=headers).retry_after == 7.0
    assert status_error("P", 400, headers=headers).retry_after is None
    assert status_error("P", 429, "slow down").message == "slow down"
    assert status_error("P", 503).message == "P failed (HTTP 503)"


@pytest.mark.parametrize(
    ("exc", "maybe_accepted"),
    [
        (httpx.ConnectError("refused", request=REQUEST), False),
        (httpx.ConnectTimeout("slow", request=REQUEST), False),
        (httpx.PoolTimeout("busy", request=REQUEST), False),
        (httpx.ReadTimeout("sent, no answer", request=REQUEST), True),
        (httpx.WriteTimeout("half sent", request=REQUEST), True),
        (httpx.RemoteProtocolError("dropped", request=REQUEST), True),
        (httpx.ReadError("reset after sending", request=REQUEST), True),
    ],
)
def test_transport_errors_are_ambiguous_once_the_request_may_have_left(exc, maybe_accepted):
    error = transport_error("P", exc)
    assert isinstance(error, Unavailable) and error.retryable
    assert error.maybe_accepted is maybe_accepted
    assert not transport_error("P", exc, creating=False).maybe_accepted


def test_an_unreadable_success_may_hide_a_job():
    assert unreadable_answer("P").maybe_accepted
    assert not unreadable_answer("P", creating=False).maybe_accepted
