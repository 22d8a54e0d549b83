"""The video-parameter table: each row's pieces exist wherever the row points, once."""

from __future__ import annotations

import string
from dataclasses import fields

import pytest

from bot.i18n import CATALOGUES, EN
from bot.jobs import JobKind
from bot.params import CHOICES, FLAGS, OPTION_NAMES, PARAMS, request_fields
from bot.preferences import Preferences
from bot.providers.base import Capabilities, VideoRequest, unsupported
from bot.texts import settings_line


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_settings_are_the_preferences_fields_in_table_order():
    assert [f.name for f in fields(Preferences)] == [p.name for p in PARAMS if p.setting]


def test_request_params_are_video_request_fields():
    request = {f.name for f in fields(VideoRequest)}
    assert all(p.name in request for p in PARAMS if p.request)


def test_offered_and_default_name_capabilities_fields():
    caps = Capabilities(kinds=frozenset({JobKind.TEXT}))
    for param in PARAMS:
        for attribute in (param.offered, param.default, param.limit):
            assert attribute is None or hasattr(caps, attribute), (param.name, attribute)


@pytest.mark.parametrize("lang", list(CATALOGUES))
def test_every_row_has_its_messages(lang):
    m = CATALOGUES[lang]
    assert list(m.settings_labels) == [p.label_key for p in PARAMS if p.setting]
    for param in PARAMS:
        if param.offered and param.convert is None:  # a free value is refused its own way
            assert placeholders(getattr(m, param.refusal)) == {"choices"}
        if param.limit:
            assert placeholders(getattr(m, param.too_long)) == {"limit"}
        if param.convert:
            assert isinstance(getattr(m, param.wording), str)


def test_flags_and_codes_are_each_used_once():
    flags = [flag for p in PARAMS for flag in p.flags]
    assert len(flags) == len(set(flags)) == len(FLAGS)
    assert sorted(OPTION_NAMES) == sorted(p.flags[0] for p in PARAMS if p.flags)
    codes = [p.code for p in PARAMS if p.panel]
    assert len(codes) == len(set(codes))


def test_panel_codes_stay_what_old_buttons_carry():
    assert {code: p.name for code, p in CHOICES.items()} == {
        "m": "model",
        "d": "duration",
        "ar": "aspect_ratio",
        "mo": "mode",
        "cam": "camera",
        "p": "provider",
    }
    assert {p.name: p.code for p in PARAMS if p.panel in ("text", "toggle")} == {
        "negative_prompt": "neg",
        "as_file": "f",
    }


def test_request_fields_keep_only_request_params():
    params = {"model": "kling-v1", "cfg_scale": 0.0, "as_file": True, "lang": "en", "x": 1}
    assert request_fields(params) == {"model": "kling-v1", "cfg_scale": 0.0}


def test_settings_line_follows_the_table():
    params = {
        "model": "kling-v1",
        "duration": 10,
        "aspect_ratio": "9:16",
        "mode": "pro",
        "cfg_scale": 0.0,
        "negative_prompt": "x" * 50,
        "as_file": True,
        "provider": "sandbox",
    }
    assert settings_line(params, EN, full=False) == "kling-v1 · 10 s · 9:16"
    assert settings_line(params, EN, full=True) == (
        f"kling-v1 · 10 s · 9:16 · pro · cfg 0.0 · without: {'x' * 39}… · as a file"
    )
    assert settings_line({"as_file": False, "negative_prompt": ""}, EN, full=True) == ""


def test_a_provider_names_the_first_value_it_lacks_lengths_first():
    caps = Capabilities(
        kinds=frozenset({JobKind.TEXT, JobKind.IMAGE}),
        models=("kling-v1",),
        max_negative_prompt_length=3,
    )
    request = VideoRequest(
        job_id=1, kind=JobKind.TEXT, prompt="x", model="kling-v9", negative_prompt="fog!"
    )
    reason = unsupported(caps, request)
    assert reason is not None and reason.key == "negative_prompt_too_long"
    image = VideoRequest(job_id=1, kind=JobKind.IMAGE, prompt="x", aspect_ratio="5:4")
    assert unsupported(caps, image) is None  # the ratio is for text-to-video only
