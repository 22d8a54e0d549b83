"""Kling v3 (`kling-v3`) where it is documented: AI/ML API's
`klingai/video-v3-{standard,pro}-{text,image}-to-video` on `/v2/video/generations` and APIFRAME
v2's `kling-3.0`. The exact bodies against the fakes (which take 3-15 s for v3 only); durations
declared per model (`Capabilities.model_durations`): a v3 length on a 5|10 model is refused
with that model's lengths before any request; options, `/settings` choices and kept settings
follow the model."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.i18n import EN, Reason
from bot.jobs import JobKind
from bot.options import OptionSpace
from bot.params import PARAM, listed
from bot.preferences import Preferences
from bot.providers.aimlapi import AimlapiProvider
from bot.providers.apiframe2 import Apiframe2Provider, create_body
from bot.providers.base import InputImage, InvalidRequest, VideoRequest, unsupported
from bot.providers.kling import KlingProvider
from tests.fakes.aimlapi import FakeAimlapi, validate_generation
from tests.fakes.apiframe2 import validate_generate

KEY = "v3-test-key"
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
URI = f"data:image/jpeg;base64,{base64.b64encode(JPEG).decode()}"
AIML = AimlapiProvider.capabilities
AF2 = Apiframe2Provider.capabilities
DURATION = PARAM["duration"]
LINK = "https://bot.example/media/"


def request(kind: JobKind = JobKind.TEXT, **fields: Any) -> VideoRequest:
    if kind is JobKind.IMAGE:
        fields.setdefault("image", InputImage(JPEG, "image/jpeg", url=LINK + "a"))
    fields.setdefault("prompt", "a lighthouse in a storm")
    return VideoRequest(job_id=9, kind=kind, **fields)


@pytest.fixture
async def aimlapi() -> AsyncIterator[FakeAimlapi]:
    server = FakeAimlapi(KEY)
    await server.start()
    yield server
    await server.stop()


async def aiml_sent(fake: FakeAimlapi, req: VideoRequest) -> tuple[str, Any]:
    assert unsupported(AIML, req) is None
    provider = AimlapiProvider(KEY, fake.url)
    try:
        await provider.submit(req)
    finally:
        await provider.aclose()
    (create,) = [r for r in fake.requests if r.method == "POST"]
    return create.path, create.json


async def test_aimlapi_v3_text_body_with_12_s_and_sound(aimlapi):
    req = request(
        model="kling-v3", duration=12, aspect_ratio="9:16", sound=True, cfg_scale=0.3,
        negative_prompt="blur",
    )  # fmt: skip
    path, body = await aiml_sent(aimlapi, req)
    assert path == "/v2/video/generations"
    assert body == {
        "model": "klingai/video-v3-standard-text-to-video",
        "prompt": "a lighthouse in a storm",
        "aspect_ratio": "9:16",
        "duration": 12,
        "negative_prompt": "blur",
        "cfg_scale": 0.3,
        "generate_audio": True,
    }


async def test_aimlapi_v3_pro_photo_body_with_an_end_frame_and_no_sound(aimlapi):
    end = InputImage(JPEG, "image/jpeg")
    req = request(
        JobKind.IMAGE, model="kling-v3", mode="pro", duration=3, end_image=end, sound=False
    )
    path, body = await aiml_sent(aimlapi, req)
    assert path == "/v2/video/generations"
    assert body == {
        "model": "klingai/video-v3-pro-image-to-video",
        "prompt": "a lighthouse in a storm",
        "image_url": URI,
        "tail_image_url": URI,
        "duration": 3,
        "generate_audio": False,
    }


def test_the_aimlapi_fake_takes_3_to_15_s_for_v3_only():
    v3 = {"model": "klingai/video-v3-pro-text-to-video", "prompt": "x"}
    assert validate_generation({**v3, "duration": 15}, "aimlapi") == []
    assert validate_generation({**v3, "duration": 16}, "aimlapi") == [
        "duration must be an integer from 3 to 15"
    ]
    assert validate_generation({**v3, "camera_control": "down_back"}, "aimlapi") == [
        "property camera_control should not exist"
    ]
    v2 = {"model": "klingai/video-v2-6-pro-text-to-video", "prompt": "x", "duration": 12}
    assert validate_generation(v2, "aimlapi") == ["duration must be 5 or 10"]


@pytest.mark.parametrize(
    ("req", "body"),
    [
        (
            request(model="kling-v3", duration=12, aspect_ratio="1:1", sound=True),
            {
                "model": "kling-3.0",
                "prompt": "a lighthouse in a storm",
                "klingParams": {
                    "mode": "standard",
                    "duration": 12,
                    "aspect_ratio": "1:1",
                    "generate_audio": True,
                },
            },
        ),
        (
            request(
                JobKind.IMAGE,
                model="kling-v3",
                mode="pro",
                duration=15,
                negative_prompt="fog",
                end_image=InputImage(JPEG, "image/jpeg", url=LINK + "b"),
                sound=False,
            ),
            {
                "model": "kling-3.0",
                "prompt": "a lighthouse in a storm",
                "klingParams": {
                    "mode": "pro",
                    "duration": 15,
                    "start_image": LINK + "a",
                    "end_image": LINK + "b",
                    "negative_prompt": "fog",
                    "generate_audio": False,
                },
            },
        ),
    ],
)
def test_apiframe2_kling_3_0_bodies(req, body):
    assert unsupported(AF2, req) is None
    assert create_body(req) == body
    assert validate_generate(body) == []


def test_the_apiframe2_fake_takes_3_to_15_s_for_kling_3_0_only():
    v3 = {"model": "kling-3.0", "prompt": "x"}
    assert validate_generate({**v3, "klingParams": {"duration": 3}}) == []
    assert validate_generate({**v3, "klingParams": {"duration": 2}}) == [
        "klingParams.duration must be one of 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15"
    ]
    assert validate_generate({**v3, "klingParams": {"guidance_scale": 0.5}}) == [
        "klingParams: unrecognized key for kling-3.0: guidance_scale"
    ]
    v2 = {"model": "kling-2.6", "prompt": "x", "klingParams": {"duration": 12}}
    assert validate_generate(v2) == ["klingParams.duration must be one of 5, 10"]


def test_apiframe2_refuses_cfg_on_kling_3_0_which_its_schema_does_not_list():
    with pytest.raises(InvalidRequest) as caught:
        create_body(request(model="kling-v3", cfg_scale=0.5))
    assert caught.value.reason == Reason.of(
        "option_needs_model", option="--cfg", models="kling-v2-5-turbo"
    )


@pytest.mark.parametrize("caps", [AIML, AF2], ids=["aimlapi", "apiframe2"])
def test_a_v3_length_on_a_5_or_10_model_is_refused_naming_its_lengths(caps):
    model = "kling-v2-6"
    reason = unsupported(caps, request(model=model, mode="pro", duration=12))
    assert reason == Reason.of("choose_duration_for_model", model=model, choices="5, 10")
    assert reason.text(EN) == "kling-v2-6 makes videos of 5, 10 seconds only"
    assert unsupported(caps, request(model="kling-v3", duration=12)) is None
    assert unsupported(caps, request(model="kling-v3", duration=16)) == Reason.of(
        "choose_duration", choices=", ".join(map(str, range(3, 16)))
    )


def test_sound_on_v3_in_both_modes_where_documented():
    for caps in (AIML, AF2):
        for mode in ("std", "pro"):
            assert unsupported(caps, request(model="kling-v3", mode=mode, sound=True)) is None
    # Kling's own kling-v3 is known from relays only: not offered there.
    assert "kling-v3" not in KlingProvider.capabilities.models
    reason = unsupported(KlingProvider.capabilities, request(model="kling-v3"))
    assert reason is not None and reason.key == "choose_model"


def test_durations_are_offered_per_model():
    assert AF2.offered("durations", "kling-v3") == frozenset(range(3, 16))
    assert AF2.offered("durations", "kling-v2-1") == frozenset({5, 10})
    assert listed(DURATION, AF2) == tuple(range(3, 16))  # any of its models
    assert listed(DURATION, AF2, model="kling-v2-1") == (5, 10)
    assert listed(DURATION, KlingProvider.capabilities) == (5, 10)
    # `-d` takes what some configured provider makes with some model.
    assert OptionSpace.of({"kling": KlingProvider.capabilities}).values["duration"] == (5, 10)
    both = OptionSpace.of({"kling": KlingProvider.capabilities, "apiframe2": AF2})
    assert both.values["duration"] == tuple(range(3, 16))


def test_a_kept_duration_the_model_does_not_take_is_dropped():
    kept, dropped = Preferences(model="kling-v3", duration=12).fit(AF2)
    assert (kept.duration, dropped) == (12, [])
    fitted, dropped = Preferences(model="kling-v2-1", duration=12).fit(AF2)
    assert (fitted.duration, dropped) == (None, ["duration"])
    fitted, dropped = Preferences(duration=12).fit(AF2)  # the default model, kling-v2-1
    assert dropped == ["duration"]
