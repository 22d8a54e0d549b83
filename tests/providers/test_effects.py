"""Effects: the exact body Kling's effects endpoint and AI/ML API's effects models get from
their fakes, the task polled back by its kind, the fakes' refusals of undocumented shapes, and
the refusal (no request) by providers that document no effects."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from bot.effects import EFFECTS, PHOTOS, effect_name
from bot.jobs import JobKind, JobState
from bot.providers import REGISTRY
from bot.providers.aimlapi import AimlapiProvider
from bot.providers.base import InputImage, InvalidRequest, VideoRequest, unsupported
from bot.providers.kling import KlingProvider
from tests.fakes.aimlapi import EFFECT_SCENES, FakeAimlapi, validate_generation
from tests.fakes.kling import FakeKling, validate_effect

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

AK, SK, KEY = "kling-ak-test", "kling-sk-test", "effects-test-key"
LEFT = b"\x89PNG\r\n\x1a\n" + bytes(64)
RIGHT = b"\xff\xd8\xff\xe0" + bytes(64)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def effect(scene: str, *photos: bytes, **fields) -> VideoRequest:
    images = [InputImage(p, "image/png" if p == LEFT else "image/jpeg") for p in photos]
    return VideoRequest(
        job_id=9,
        kind=JobKind.EFFECT,
        prompt=f"✨ {scene}",
        effect=scene,
        image=images[0] if images else None,
        end_image=images[1] if len(images) > 1 else None,
        **fields,
    )


def test_the_offered_effects_are_those_whose_photo_count_is_documented():
    assert PHOTOS == {"hug": 2, "kiss": 2, "heart_gesture": 2, "squish": 1, "expansion": 1}
    assert set(EFFECTS) <= set(EFFECT_SCENES)  # every one is in AI/ML API's enum
    assert effect_name(" Heart-Gesture ") == "heart_gesture"


@pytest.fixture
async def kling_fake() -> AsyncIterator[FakeKling]:
    server = FakeKling(AK, SK)
    await server.start()
    yield server
    await server.stop()


async def test_kling_two_people_body_and_poll(kling_fake):
    provider = KlingProvider(AK, SK, kling_fake.url)
    try:
        task_id = await provider.submit(
            effect("hug", LEFT, RIGHT, callback_url="https://bot.test/callbacks/kling/t0k3n")
        )
        task = await kling_fake.wait_for_task()
        assert task_id == f"effects:{task.task_id}"
        rec = kling_fake.requests[-1]
        assert (rec.method, rec.path) == ("POST", "/v1/videos/effects")
        assert rec.json == {
            "effect_scene": "hug",
            "input": {
                "model_name": "kling-v1-6",
                "mode": "std",
                "images": [b64(LEFT), b64(RIGHT)],
                "duration": "5",
            },
            "external_task_id": "job-9",
            "callback_url": "https://bot.test/callbacks/kling/t0k3n",
        }
        assert task.photos == [LEFT, RIGHT]
        url = await kling_fake.finish(task.task_id)
        updates = await provider.poll([task_id])
        assert updates[task_id].state is JobState.SUCCEEDED
        assert updates[task_id].video_url == url
        assert kling_fake.requests[-1].path == f"/v1/videos/effects/{task.task_id}"
    finally:
        await provider.aclose()


async def test_kling_one_photo_body(kling_fake):
    provider = KlingProvider(AK, SK, kling_fake.url)
    try:
        await provider.submit(effect("squish", LEFT))
    finally:
        await provider.aclose()
    assert kling_fake.requests[-1].json == {
        "effect_scene": "squish",
        "input": {"model_name": "kling-v1-6", "image": b64(LEFT), "duration": "5"},
        "external_task_id": "job-9",
    }


async def test_a_wrong_photo_count_never_leaves(kling_fake):
    provider = KlingProvider(AK, SK, kling_fake.url)
    try:
        with pytest.raises(InvalidRequest):
            await provider.submit(effect("kiss", LEFT))
    finally:
        await provider.aclose()
    assert kling_fake.requests == []


def test_the_kling_fake_takes_only_the_documented_effect_shapes():
    one = {"model_name": "kling-v1-6", "image": b64(LEFT), "duration": "5"}
    two = {"model_name": "kling-v1", "images": [b64(LEFT), b64(RIGHT)]}
    assert validate_effect({"effect_scene": "squish", "input": one}) == []
    assert validate_effect({"effect_scene": "hug", "input": two}) == []
    assert validate_effect({"effect_scene": "hug", "input": {**two, "images": [b64(LEFT)]}})
    assert validate_effect({"effect_scene": "squish", "input": {**one, "duration": "10"}})
    assert validate_effect({"effect_scene": "squish", "input": one, "prompt": "x"})
    assert validate_effect({"effect_scene": "fight", "input": two})  # kling-v1-6 only
    assert validate_effect({"effect_scene": "moonwalk", "input": one})


@pytest.fixture
async def aiml_fake() -> AsyncIterator[FakeAimlapi]:
    server = FakeAimlapi(KEY)
    await server.start()
    yield server
    await server.stop()


async def test_aimlapi_two_people_are_an_array_one_photo_a_string(aiml_fake):
    provider = AimlapiProvider(KEY, aiml_fake.url)
    try:
        await provider.submit(effect("heart_gesture", LEFT, RIGHT, mode="pro"))
        await provider.submit(effect("expansion", RIGHT))
    finally:
        await provider.aclose()
    two, one = (r.json for r in aiml_fake.requests[-2:])
    assert two == {
        "model": "klingai/kling-video-v1.6-pro-effects",
        "effect_scene": "heart_gesture",
        "image_url": [f"data:image/png;base64,{b64(LEFT)}", f"data:image/jpeg;base64,{b64(RIGHT)}"],
    }
    assert one == {
        "model": "klingai/kling-video-v1.6-standard-effects",
        "effect_scene": "expansion",
        "image_url": f"data:image/jpeg;base64,{b64(RIGHT)}",
    }
    assert next(iter(aiml_fake.tasks.values())).photos == [LEFT, RIGHT]


def test_the_aimlapi_fake_takes_only_the_documented_effect_shapes():
    model = "klingai/kling-video-v1.6-standard-effects"
    url = "https://x.test/a.png"
    assert (
        validate_generation(
            {"model": model, "effect_scene": "hug", "image_url": [url, url]}, "aimlapi"
        )
        == []
    )
    assert validate_generation({"model": model, "effect_scene": "hug", "image_url": url}, "aimlapi")
    assert validate_generation(
        {"model": model, "effect_scene": "squish", "image_url": url, "prompt": "x"}, "aimlapi"
    )
    assert validate_generation(
        {"model": model, "effect_scene": "hug", "image_url": [url, url]}, "apilaplas"
    )


@pytest.mark.parametrize("name", ["sandbox", "apiframe", "apilaplas", "makevid"])
def test_providers_without_effects_refuse_them(name):
    caps = REGISTRY[name].capabilities
    reason = unsupported(caps, effect("hug"))
    assert reason is not None and reason.key == "no_effects"
    assert caps.effect_names == ()


def test_an_effect_a_provider_lacks_is_refused_naming_its_effects():
    reason = unsupported(KlingProvider.capabilities, effect("fight"))
    assert reason is not None and reason.key == "choose_effect"
    assert reason.fields == {"choices": "hug, kiss, heart_gesture, squish, expansion"}
