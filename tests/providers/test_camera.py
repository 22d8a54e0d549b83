"""Camera moves: the exact request body each provider that documents them sends to its fake,
the fakes' refusals of undocumented shapes, and the refusal (no request) everywhere else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.camera import CameraMove, camera_move, parse_camera
from bot.jobs import JobKind
from bot.providers import REGISTRY
from bot.providers.aimlapi import AimlapiProvider, ApilaplasProvider
from bot.providers.apiframe import ApiframeProvider
from bot.providers.base import InputImage, VideoRequest, unsupported
from bot.providers.kling import KlingProvider
from bot.providers.makevid import MakevidProvider
from bot.providers.sandbox import SandboxProvider
from tests.fakes.aimlapi import FakeAimlapi, validate_generation
from tests.fakes.kling import FakeKling, validate_create

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

AK, SK, KEY = "kling-ak-test", "kling-sk-test", "camera-test-key"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
SIX_ZEROS = dict.fromkeys(("horizontal", "vertical", "pan", "tilt", "roll", "zoom"), 0)


def request(kind: JobKind = JobKind.TEXT, **fields: Any) -> VideoRequest:
    if kind is JobKind.IMAGE:
        fields.setdefault("image", InputImage(PNG, "image/png"))
    return VideoRequest(job_id=5, kind=kind, prompt="a fox", **fields)


# the written forms


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("down_back", "down_back"),
        ("Down-Back", "down_back"),
        ("zoom=-3,pan=5", "pan=5,zoom=-3"),
        ("PAN=+5, zoom=0", "pan=5"),
        ("roll=10", "roll=10"),
    ],
)
def test_written_moves_read_as_one_canonical_form(written, canonical):
    assert parse_camera(written) == canonical


@pytest.mark.parametrize(
    "written",
    ["zoom_in", "pan=11", "pan=-11", "pan=2.5", "pan=1,pan=2", "yaw=3", "pan=0,zoom=0", "", "pan"],
)
def test_what_is_not_a_move_is_refused(written):
    assert parse_camera(written) is None


def test_a_move_gives_kling_all_six_axes():
    assert camera_move("pan=5,zoom=-3") == CameraMove(axes=(("pan", 5), ("zoom", -3)))
    assert camera_move("zoom=2").config == {**SIX_ZEROS, "zoom": 2}
    assert camera_move("forward_up") == CameraMove(preset="forward_up")


# Kling


@pytest.fixture
async def kling_fake() -> AsyncIterator[FakeKling]:
    server = FakeKling(AK, SK)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def kling(kling_fake: FakeKling) -> AsyncIterator[KlingProvider]:
    provider = KlingProvider(AK, SK, kling_fake.url)
    yield provider
    await provider.aclose()


async def test_kling_text_preset_body(kling, kling_fake):
    await kling.submit(request(camera="down_back", mode="std", duration=5, model="kling-v1"))
    assert kling_fake.requests[-1].json == {
        "prompt": "a fox",
        "mode": "std",
        "duration": "5",
        "camera_control": {"type": "down_back"},
        "model_name": "kling-v1",
        "external_task_id": "job-5",
    }


async def test_kling_image_axis_body(kling, kling_fake):
    await kling.submit(request(JobKind.IMAGE, camera="zoom=-4"))
    body = kling_fake.requests[-1].json
    assert body["camera_control"] == {"type": "simple", "config": {**SIX_ZEROS, "zoom": -4}}
    assert set(body) == {"prompt", "image", "camera_control", "model_name", "external_task_id"}


def test_kling_moves_one_axis_at_a_time_before_any_request():
    reason = unsupported(KlingProvider.capabilities, request(camera="pan=5,zoom=-3"))
    assert reason is not None and reason.key == "camera_one_axis"


def test_the_kling_fake_refuses_undocumented_camera_shapes():
    def errors(camera: Any) -> list[str]:
        return validate_create({"prompt": "x", "camera_control": camera}, "text2video", "kling")

    assert errors({"type": "down_back"}) == []
    assert errors({"type": "simple", "config": {**SIX_ZEROS, "pan": 3}}) == []
    assert errors({"type": "zoom_in"})
    assert errors({"type": "simple", "config": {**SIX_ZEROS, "pan": 3, "zoom": 1}})
    assert errors({"type": "simple", "config": {**SIX_ZEROS, "pan": 11}})
    assert errors({"type": "down_back", "config": SIX_ZEROS})
    assert errors("down_back")


# makevid: text2video, std, 5 s


@pytest.fixture
async def mv_fake() -> AsyncIterator[FakeKling]:
    server = FakeKling(KEY, flavour="makevid")
    await server.start()
    yield server
    await server.stop()


async def test_makevid_text_six_axis_body(mv_fake):
    provider = MakevidProvider(KEY, mv_fake.url)
    try:
        await provider.submit(request(camera="horizontal=2,tilt=-6"))
    finally:
        await provider.aclose()
    assert mv_fake.requests[-1].json == {
        "prompt": "a fox",
        "camera_control": {
            "type": "simple",
            "config": {**SIX_ZEROS, "horizontal": 2, "tilt": -6},
        },
    }


def test_makevid_moves_the_camera_in_text_videos_of_5_s_std_only():
    caps = MakevidProvider.capabilities
    assert unsupported(caps, request(camera="down_back")) is None
    image = unsupported(caps, request(JobKind.IMAGE, camera="down_back"))
    assert image is not None and image.key == "no_camera_image"
    for terms in ({"mode": "pro"}, {"duration": 10}):
        reason = unsupported(caps, request(camera="down_back", **terms))
        assert reason is not None and reason.key == "camera_needs"
        assert reason.fields == {"needs": "std, 5 s"}
    for body, kind in (
        ({"image": "https://x.test/a.png", "camera_control": {"type": "down_back"}}, "image2video"),
        ({"prompt": "x", "mode": "pro", "camera_control": {"type": "down_back"}}, "text2video"),
    ):
        assert validate_create(body, kind, "makevid")


# AI/ML API


@pytest.fixture
async def aiml_fake() -> AsyncIterator[FakeAimlapi]:
    server = FakeAimlapi(KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def aiml(aiml_fake: FakeAimlapi) -> AsyncIterator[AimlapiProvider]:
    provider = AimlapiProvider(KEY, aiml_fake.url)
    yield provider
    await provider.aclose()


async def test_aimlapi_text_preset_is_a_string(aiml, aiml_fake):
    await aiml.submit(request(camera="left_turn_forward", model="kling-v1"))
    assert aiml_fake.requests[-1].json == {
        "model": "kling-video/v1/standard/text-to-video",
        "prompt": "a fox",
        "camera_control": "left_turn_forward",
    }


async def test_aimlapi_text_axis_is_advanced_camera_control(aiml, aiml_fake):
    await aiml.submit(request(camera="roll=-7", model="kling-v1-6", mode="pro"))
    assert aiml_fake.requests[-1].json == {
        "model": "kling-video/v1.6/pro/text-to-video",
        "prompt": "a fox",
        "advanced_camera_control": {"movement_type": "roll", "movement_value": -7},
    }


async def test_aimlapi_image_move_is_the_object(aiml, aiml_fake):
    await aiml.submit(request(JobKind.IMAGE, camera="pan=5,zoom=-3", model="kling-v1", mode="pro"))
    body = aiml_fake.requests[-1].json
    assert body["model"] == "kling-video/v1/pro/image-to-video"
    assert body["camera_control"] == {
        "type": "simple",
        "config": {**SIX_ZEROS, "pan": 5, "zoom": -3},
    }


def test_aimlapi_moves_the_camera_on_the_documented_models_only():
    caps = AimlapiProvider.capabilities
    reason = unsupported(caps, request(camera="down_back"))  # its default: kling-v1-6 std
    assert reason is not None and reason.key == "camera_needs"
    assert reason.fields == {"needs": "kling-v1 pro, kling-v1 std, kling-v1-6 pro"}
    two = unsupported(caps, request(camera="pan=1,zoom=1", model="kling-v1"))
    assert two is not None and two.key == "camera_one_axis"
    assert (
        unsupported(caps, request(JobKind.IMAGE, camera="pan=1,zoom=1", model="kling-v1")) is None
    )
    undocumented = {
        "model": "kling-video/v1.6/standard/text-to-video",
        "prompt": "x",
        "camera_control": "down_back",
    }
    assert validate_generation(undocumented, "aimlapi") == [
        "property camera_control should not exist"
    ]


# providers that document no camera control: refused before any request


@pytest.mark.parametrize(
    ("caps", "kind"),
    [
        (ApiframeProvider.capabilities, JobKind.TEXT),
        (ApiframeProvider.capabilities, JobKind.IMAGE),
        (ApilaplasProvider.capabilities, JobKind.IMAGE),
        (SandboxProvider.capabilities, JobKind.TEXT),
    ],
)
def test_providers_without_camera_refuse_a_move(caps, kind):
    reason = unsupported(caps, request(kind, camera="down_back"))
    assert reason is not None
    assert reason.key == ("no_camera_text" if kind is JobKind.TEXT else "no_camera_image")


def test_the_registry_says_who_moves_the_camera():
    offers = {name: spec.capabilities.camera for name, spec in REGISTRY.items()}
    assert {name for name, offer in offers.items() if offer is not None} == {
        "kling",
        "aimlapi",
        "makevid",
    }
