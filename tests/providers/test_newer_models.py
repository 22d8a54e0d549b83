"""Newer Kling models. AI/ML API's (v2 master, v2.1 master, v2.1, v2.5 turbo): the exact body
each gets from the fake, in the kinds and modes its page documents; anything else, and an end
frame with them, refused before any request with words. Kling's own v2.1 and v2.6: end frames
as documented."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.jobs import JobKind
from bot.providers.aimlapi import AimlapiProvider
from bot.providers.base import InputImage, VideoRequest, unsupported
from bot.providers.kling import KlingProvider
from tests.fakes.aimlapi import FakeAimlapi, validate_generation

KEY = "newer-test-key"
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
URI = f"data:image/jpeg;base64,{base64.b64encode(JPEG).decode()}"


def request(kind: JobKind, **fields) -> VideoRequest:
    if kind is JobKind.IMAGE:
        fields.setdefault("image", InputImage(JPEG, "image/jpeg"))
    return VideoRequest(job_id=6, kind=kind, prompt="a lantern", **fields)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAimlapi]:
    server = FakeAimlapi(KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.mark.parametrize(
    ("model", "mode", "kind", "their_id"),
    [
        ("kling-v2-master", None, JobKind.TEXT, "klingai/v2-master-text-to-video"),
        ("kling-v2-master", None, JobKind.IMAGE, "klingai/v2-master-image-to-video"),
        ("kling-v2-1-master", None, JobKind.TEXT, "klingai/v2.1-master-text-to-video"),
        ("kling-v2-1-master", "std", JobKind.IMAGE, "klingai/v2.1-master-image-to-video"),
        ("kling-v2-1", None, JobKind.IMAGE, "kling-video/v2.1/standard/image-to-video"),
        ("kling-v2-1", "pro", JobKind.IMAGE, "kling-video/v2.1/pro/image-to-video"),
        ("kling-v2-5-turbo", "pro", JobKind.TEXT, "klingai/v2.5-turbo/pro/text-to-video"),
        ("kling-v2-5-turbo", "pro", JobKind.IMAGE, "klingai/v2.5-turbo/pro/image-to-video"),
    ],
)
async def test_each_newer_model_gets_its_id_and_documented_fields(
    fake, model, mode, kind, their_id
):
    assert unsupported(AimlapiProvider.capabilities, request(kind, model=model, mode=mode)) is None
    provider = AimlapiProvider(KEY, fake.url)
    try:
        await provider.submit(request(kind, model=model, mode=mode, duration=10, cfg_scale=0.4))
    finally:
        await provider.aclose()
    expected = {"model": their_id, "prompt": "a lantern", "duration": 10, "cfg_scale": 0.4}
    if kind is JobKind.IMAGE:
        expected["image_url"] = URI
    assert fake.requests[-1].json == expected


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"model": "kling-v2-1"}, JobKind.TEXT),  # image-to-video only
        ({"model": "kling-v2-5-turbo"}, JobKind.TEXT),  # pro only
        ({"model": "kling-v2-master", "mode": "pro"}, JobKind.IMAGE),  # a master has no mode
    ],
)
def test_combinations_not_documented_are_refused_with_the_choices(fields, kind):
    reason = unsupported(AimlapiProvider.capabilities, request(kind, **fields))
    assert reason is not None and reason.key == "not_offered_here"
    assert "kling-v2-5-turbo pro" in reason.fields["choices"]


def test_an_end_frame_with_a_newer_model_is_refused_before_any_request():
    caps = AimlapiProvider.capabilities
    frame = InputImage(b"", "image/jpeg")
    reason = unsupported(caps, request(JobKind.IMAGE, model="kling-v2-1", end_image=frame))
    assert reason is not None and reason.key == "end_frame_models"
    assert reason.fields == {
        "models": "kling-v1 pro, kling-v1 std, kling-v1-5 pro, kling-v1-5 std, kling-v1-6 pro, "
        "kling-v1-6 std, kling-v3 pro, kling-v3 std"
    }
    assert unsupported(caps, request(JobKind.IMAGE, model="kling-v1-6", end_image=frame)) is None
    body = {"model": "kling-video/v2.1/pro/image-to-video", "prompt": "x", "image_url": URI}
    assert validate_generation({**body, "tail_image_url": URI}, "aimlapi") == [
        "property tail_image_url should not exist"
    ]


def test_kling_takes_an_end_frame_with_v2_1_pro_and_none_with_v2_6():
    caps = KlingProvider.capabilities
    frame = InputImage(JPEG, "image/jpeg")

    def photos(**fields: Any) -> VideoRequest:
        return VideoRequest(
            job_id=1, kind=JobKind.IMAGE, prompt="x", image=frame, end_image=frame, **fields
        )

    assert unsupported(caps, photos(model="kling-v2-1", mode="pro")) is None
    assert unsupported(caps, photos(model="kling-v1-6")) is None  # as before
    for fields in ({"model": "kling-v2-1"}, {"model": "kling-v2-6", "mode": "pro"}):
        reason = unsupported(caps, photos(**fields))
        assert reason is not None and reason.key == "end_frame_models"
