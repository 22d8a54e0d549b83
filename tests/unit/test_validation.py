"""User text checks."""

import pytest

from bot.validation import prompt_problem


@pytest.mark.parametrize("text", ["a fox in the snow", "line one\nline two\tindented", "кот 🐱"])
def test_ordinary_prompts_pass(text):
    assert prompt_problem(text, limit=100) is None


@pytest.mark.parametrize(
    ("char", "code"), [("\x00", "U+0000"), ("\x1b", "U+001B"), ("\u202e", "U+202E")]
)
def test_control_characters_are_named(char, code):
    problem = prompt_problem(f"a{char}b", limit=100)
    assert problem is not None and code in problem


def test_too_long_says_the_length_and_the_limit():
    assert prompt_problem("x" * 51, limit=50, what="negative prompt") == (
        "The negative prompt is 51 characters long; please keep it under 50."
    )
