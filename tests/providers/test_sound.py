"""`--sound`: Kling's `sound` on kling-v2-6 pro, the exact body against the fake, the fake's
refusal elsewhere, and the refusal (no request) by providers that document no audio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import texts
from bot.jobs import JobKind
from bot.options import OptionError, OptionSpace, parse_request
from bot.providers import REGISTRY
from bot.providers.aimlapi import AimlapiProvider
from bot.providers.base import VideoRequest, unsupported
from bot.providers.kling import KlingProvider
from tests.fakes.aimlapi import FakeAimlapi
from tests.fakes.kling import FakeKling, validate_create

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

AK, SK = "kling-ak-test", "kling-sk-test"
SPACE = OptionSpace.of({name: spec.capabilities for name, spec in REGISTRY.items()})


def request(**fields: Any) -> VideoRequest:
    return VideoRequest(job_id=3, kind=JobKind.TEXT, prompt="a storm", **fields)


@pytest.mark.parametrize(
    ("text", "sound", "prompt"),
    [
        ("--sound a storm", True, "a storm"),
        ("a storm --sound", True, "a storm"),
        ("--sound on a storm", True, "a storm"),
        ("--sound off a storm", False, "a storm"),
        ("--sound=no a storm", False, "a storm"),
    ],
)
def test_sound_is_a_switch(text, sound, prompt):
    parsed = parse_request(text, SPACE)
    assert (parsed.params, parsed.prompt) == ({"sound": sound}, prompt)


def test_a_sound_value_that_is_no_switch_is_refused():
    with pytest.raises(OptionError) as caught:
        parse_request("--sound=loud a storm", SPACE)
    assert caught.value.wording == "switch_values"


@pytest.fixture
async def fake() -> AsyncIterator[FakeKling]:
    server = FakeKling(AK, SK)
    await server.start()
    yield server
    await server.stop()


@pytest.mark.parametrize(("sound", "sent"), [(True, "on"), (False, "off")])
async def test_kling_v2_6_pro_sends_sound(fake, sound, sent):
    provider = KlingProvider(AK, SK, fake.url)
    try:
        await provider.submit(request(model="kling-v2-6", mode="pro", sound=sound))
    finally:
        await provider.aclose()
    assert fake.requests[-1].json == {
        "prompt": "a storm",
        "mode": "pro",
        "model_name": "kling-v2-6",
        "external_task_id": "job-3",
        "sound": sent,
    }


async def test_sound_off_elsewhere_sends_nothing(fake):
    provider = KlingProvider(AK, SK, fake.url)
    try:
        await provider.submit(request(model="kling-v1-6", sound=False))
    finally:
        await provider.aclose()
    assert "sound" not in fake.requests[-1].json


def test_kling_makes_sound_with_v2_6_pro_only():
    caps = KlingProvider.capabilities
    assert unsupported(caps, request(model="kling-v2-6", mode="pro", sound=True)) is None
    for fields in ({"model": "kling-v2-6"}, {"model": "kling-v1-6", "mode": "pro"}):
        reason = unsupported(caps, request(sound=True, **fields))
        assert reason is not None and reason.key == "sound_needs"
        assert reason.fields == {"needs": "kling-v2-6 pro"}
    assert unsupported(caps, request(model="kling-v1-6", sound=False)) is None


def test_the_fake_takes_sound_only_as_documented():
    base = {"prompt": "x", "model_name": "kling-v2-6", "mode": "pro"}
    assert validate_create({**base, "sound": "on"}, "text2video", "kling") == []
    assert validate_create({**base, "sound": True}, "text2video", "kling")
    assert validate_create(
        {**base, "model_name": "kling-v1-6", "sound": "on"}, "text2video", "kling"
    )
    assert validate_create({**base, "mode": "std", "sound": "on"}, "text2video", "kling")


@pytest.mark.parametrize(
    "name", [name for name in REGISTRY if name not in ("kling", "aimlapi", "apiframe2")]
)
def test_providers_without_documented_audio_refuse_sound(name):
    caps = REGISTRY[name].capabilities
    kind = next(iter(caps.kinds))
    reason = unsupported(caps, VideoRequest(job_id=1, kind=kind, prompt="x", sound=True))
    assert reason is not None and reason.key == "no_sound"


def test_a_switch_value_is_worded_for_any_switch():
    with pytest.raises(OptionError) as caught:
        parse_request("--refs=maybe two cats", SPACE)
    assert texts.bad_option(caught.value, "en") == (
        "--refs: “maybe” is not a choice here. Choose on or off (the option alone means on)."
    )


async def test_aimlapi_v2_6_is_created_on_the_universal_endpoint_with_generate_audio():
    fake = FakeAimlapi("sound-key")
    await fake.start()
    provider = AimlapiProvider("sound-key", fake.url)
    try:
        task_id = await provider.submit(request(model="kling-v2-6", mode="pro", sound=False))
        rec = fake.requests[-1]
        assert (rec.method, rec.path) == ("POST", "/v2/video/generations")
        assert rec.json == {
            "model": "klingai/video-v2-6-pro-text-to-video",
            "prompt": "a storm",
            "generate_audio": False,
        }
        url = await fake.finish(task_id)
        update = (await provider.poll([task_id]))[task_id]
        assert update.video_url == url
        assert fake.requests[-1].path == "/v2/generate/video/kling/generation"
        reason = unsupported(provider.capabilities, request(model="kling-v1-6", sound=True))
        assert reason is not None and reason.key == "sound_needs"
    finally:
        await provider.aclose()
        await fake.stop()
