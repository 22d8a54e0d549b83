"""The option parser: flags, short forms, a bare ratio, quoting, and errors naming the choices."""

from __future__ import annotations

import pytest

from bot.jobs import JobKind
from bot.options import (
    CFG_ALLOWED,
    OPTION_NAMES,
    TEXT_ALLOWED,
    OptionError,
    OptionSpace,
    parse_request,
)
from bot.providers.base import Capabilities

SPACE = OptionSpace(
    {
        "model": ("kling-v1", "kling-v1-5", "kling-v1-6"),
        "duration": (5, 10),
        "aspect_ratio": ("16:9", "9:16", "1:1"),
        "mode": ("pro", "std"),
        "provider": ("sandbox", "apiframe"),
    }
)


def test_the_full_example():
    parsed = parse_request(
        '--ar 9:16 --duration 10 --model kling-v1-6 --mode pro --neg "blurry, text" --cfg 0.7'
        " a fox in the snow",
        SPACE,
    )
    assert parsed.prompt == "a fox in the snow"
    assert parsed.params == {
        "aspect_ratio": "9:16",
        "duration": 10,
        "model": "kling-v1-6",
        "mode": "pro",
        "negative_prompt": "blurry, text",
        "cfg_scale": 0.7,
    }
    assert parsed.provider is None


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("-d 10 a fox", {"duration": 10}),
        ("-d 10s a fox", {"duration": 10}),
        ("9:16 a fox", {"aspect_ratio": "9:16"}),
        ("a fox 9:16", {"aspect_ratio": "9:16"}),
        ("9x16 -a 1:1 a fox", {"aspect_ratio": "1:1"}),  # the last one wins
        ("-m 1.6 a fox", {"model": "kling-v1-6"}),
        ("--model V1-5 a fox", {"model": "kling-v1-5"}),
        ("--mode PRO a fox", {"mode": "pro"}),
        ("—ar 1:1 a fox", {"aspect_ratio": "1:1"}),  # a phone's "--"
        ("--ar=16:9 a fox", {"aspect_ratio": "16:9"}),
        ("-n blurry a fox", {"negative_prompt": "blurry"}),
        ("--neg=“no text” a fox", {"negative_prompt": "no text"}),
        ("--neg «без текста» a fox", {"negative_prompt": "без текста"}),
        ("--cfg 0,5 a fox", {"cfg_scale": 0.5}),
        ("-c 1 a fox", {"cfg_scale": 1.0}),
    ],
)
def test_short_forms(text, params):
    parsed = parse_request(text, SPACE)
    assert parsed.params == params
    assert parsed.prompt == "a fox"


def test_provider_is_kept_apart_from_job_params():
    parsed = parse_request("-p apiframe a fox", SPACE)
    assert parsed.provider == "apiframe" and parsed.params == {}


@pytest.mark.parametrize(
    "text",
    [
        "a fox at 10:30 in the morning",
        "a fox - running",
        "the temperature is -5 degrees",
        "it's a dog's life",
        'she says "hello there"',
    ],
)
def test_prompts_without_options_are_left_alone(text):
    parsed = parse_request(text, SPACE)
    assert parsed.prompt == text and parsed.params == {}


def test_line_breaks_survive_and_option_lines_vanish():
    parsed = parse_request("a fox\n--ar 9:16\nslow motion", SPACE)
    assert parsed.prompt == "a fox\nslow motion"
    assert parse_request("  a fox\n\nslow  ", SPACE).prompt == "a fox\n\nslow"


def test_double_dash_ends_the_options():
    parsed = parse_request("-d 5 -- --ar is a flag", SPACE)
    assert parsed.prompt == "--ar is a flag" and parsed.params == {"duration": 5}


@pytest.mark.parametrize(
    ("text", "option", "value", "allowed"),
    [
        ("--ar 5:4 a fox", "--ar", "5:4", ("16:9", "9:16", "1:1")),
        ("4:3 a fox", "--ar", "4:3", ("16:9", "9:16", "1:1")),
        ("-d 7 a fox", "-d", "7", ("5", "10")),
        ("--model v9 a fox", "--model", "v9", ("kling-v1", "kling-v1-5", "kling-v1-6")),
        ("--mode fast a fox", "--mode", "fast", ("pro", "std")),
        ("--cfg 1.5 a fox", "--cfg", "1.5", CFG_ALLOWED),
        ("--cfg high a fox", "--cfg", "high", CFG_ALLOWED),
        ("--provider kling a fox", "--provider", "kling", ("sandbox", "apiframe")),
        ("a fox --ar", "--ar", None, ("16:9", "9:16", "1:1")),
        ("--ar -d 5 a fox", "--ar", None, ("16:9", "9:16", "1:1")),
        ('--neg "" a fox', "--neg", "", TEXT_ALLOWED),
    ],
)
def test_bad_values_name_option_value_and_choices(text, option, value, allowed):
    with pytest.raises(OptionError) as caught:
        parse_request(text, SPACE)
    assert (caught.value.option, caught.value.value, caught.value.allowed) == (
        option,
        value,
        allowed,
    )
    assert not caught.value.unknown


def test_unknown_long_option():
    with pytest.raises(OptionError) as caught:
        parse_request("--speed 2 a fox", SPACE)
    assert caught.value.unknown and caught.value.option == "--speed"
    assert caught.value.allowed == OPTION_NAMES


def test_space_is_the_union_of_the_providers():
    space = OptionSpace.of(
        {
            "a": Capabilities(kinds=frozenset({JobKind.TEXT}), models=("kling-v1",)),
            "b": Capabilities(
                kinds=frozenset({JobKind.TEXT}),
                models=("kling-v1-6", "kling-v1"),
                durations=frozenset({5}),
                aspect_ratios=("16:9", "4:3"),
                modes=frozenset({"std"}),
            ),
        }
    )
    assert space.values["model"] == ("kling-v1", "kling-v1-6")
    assert space.values["duration"] == (5, 10)
    assert space.values["aspect_ratio"] == ("16:9", "9:16", "1:1", "4:3")
    assert space.values["mode"] == ("pro", "std")
    assert space.values["provider"] == ("a", "b")
