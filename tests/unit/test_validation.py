"""Characters nobody means to type are found and named."""

import pytest

from bot.validation import control_characters


@pytest.mark.parametrize(
    "text",
    [
        "a fox in the snow",
        "line one\nline two\tindented\r\n",
        "кот 🐱",
        "family 👨\u200d👩\u200d👧",  # emoji joined with ZWJ
        "שלום\u200f world",  # a right-to-left mark
    ],
)
def test_ordinary_prompts_pass(text):
    assert control_characters(text) == ""


@pytest.mark.parametrize(
    ("char", "code"),
    [("\x00", "U+0000"), ("\x1b", "U+001B"), ("\x85", "U+0085"), ("\u202e", "U+202E")],
)
def test_control_characters_are_named(char, code):
    assert control_characters(f"a{char}b") == code


def test_at_most_three_are_named_in_code_order():
    assert control_characters("\x07\x01\u200b\x02\x03") == "U+0001, U+0002, U+0003"
