"""Several reference photos: AI/ML API's multi-image model gets the exact body from its fake;
the fake refuses undocumented shapes; other providers refuse before any request."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from bot.jobs import JobKind
from bot.providers import REGISTRY
from bot.providers.aimlapi import AimlapiProvider
from bot.providers.base import InputImage, VideoRequest, unsupported
from tests.fakes.aimlapi import REFS_MODEL, FakeAimlapi, validate_generation

KEY = "refs-test-key"
PHOTOS = [b"\xff\xd8\xff\xe0" + bytes([n]) * 64 for n in range(4)]


def uri(data: bytes) -> str:
    return f"data:image/jpeg;base64,{base64.b64encode(data).decode()}"


def refs(count: int, **fields) -> VideoRequest:
    images = [InputImage(p, "image/jpeg") for p in PHOTOS[:count]]
    return VideoRequest(
        job_id=4,
        kind=JobKind.REFS,
        prompt=fields.pop("prompt", "they dance together"),
        image=images[0],
        end_image=images[1],
        more_images=tuple(images[2:]),
        **fields,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeAimlapi]:
    server = FakeAimlapi(KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.mark.parametrize("count", [2, 3, 4])
async def test_aimlapi_gets_every_photo_in_order(fake, count):
    provider = AimlapiProvider(KEY, fake.url)
    try:
        await provider.submit(refs(count, aspect_ratio="9:16", duration=10, negative_prompt="blur"))
    finally:
        await provider.aclose()
    assert fake.requests[-1].json == {
        "model": REFS_MODEL,
        "image_list": [uri(p) for p in PHOTOS[:count]],
        "prompt": "they dance together",
        "aspect_ratio": "9:16",
        "duration": 10,
        "negative_prompt": "blur",
    }
    assert next(iter(fake.tasks.values())).photos == PHOTOS[:count]


def test_the_fake_takes_2_to_4_images_and_documented_fields_only():
    urls = ["https://x.test/a.png"] * 5
    assert validate_generation({"model": REFS_MODEL, "image_list": urls[:2]}, "aimlapi") == []
    assert validate_generation({"model": REFS_MODEL, "image_list": urls[:1]}, "aimlapi")
    assert validate_generation({"model": REFS_MODEL, "image_list": urls}, "aimlapi")
    assert validate_generation(
        {"model": REFS_MODEL, "image_list": urls[:2], "cfg_scale": 0.5}, "aimlapi"
    )


def test_references_need_kling_v1_6_std_on_aimlapi():
    caps = AimlapiProvider.capabilities
    assert unsupported(caps, refs(3)) is None
    reason = unsupported(caps, refs(3, mode="pro"))
    assert reason is not None and reason.key == "refs_needs"
    assert reason.fields == {"needs": "kling-v1-6 std"}


@pytest.mark.parametrize("name", [n for n in REGISTRY if n != "aimlapi"])
def test_other_providers_refuse_references(name):
    reason = unsupported(REGISTRY[name].capabilities, refs(3))
    assert reason is not None and reason.key == "no_refs"
