"""Extending a video: Kling's `video-extend` gets the source video's id (asked of the source
task) from its fake; the fake refuses undocumented fields and unknown videos; only Kling
declares extension."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.jobs import JobKind, JobState
from bot.providers import REGISTRY
from bot.providers.base import InvalidRequest, ProviderError, VideoRequest, unsupported
from bot.providers.kling import KlingProvider
from tests.fakes.kling import FakeKling, validate_extend

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

AK, SK = "kling-ak-test", "kling-sk-test"


def extend(source: str, job_id: int = 2) -> VideoRequest:
    return VideoRequest(
        job_id=job_id, kind=JobKind.EXTEND, prompt="⏩ video #1, made longer", extend_of=source
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeKling]:
    server = FakeKling(AK, SK)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def kling(fake) -> AsyncIterator[KlingProvider]:
    provider = KlingProvider(AK, SK, fake.url)
    yield provider
    await provider.aclose()


async def test_the_extension_names_the_source_video(kling, fake):
    source = await kling.submit(VideoRequest(job_id=1, kind=JobKind.TEXT, prompt="a fox"))
    first = await fake.wait_for_task()
    await fake.finish(first.task_id)
    task_id = await kling.submit(extend(source))
    assert task_id.startswith("video-extend:")
    query, create = fake.requests[-2:]
    assert (query.method, query.path) == ("GET", f"/v1/videos/text2video/{first.task_id}")
    assert (create.method, create.path) == ("POST", "/v1/videos/video-extend")
    assert create.json == {"video_id": f"v-{first.task_id}", "external_task_id": "job-2"}
    longer = task_id.partition(":")[2]
    await fake.finish(longer)
    update = (await kling.poll([task_id]))[task_id]
    assert update.state is JobState.SUCCEEDED
    assert fake.requests[-1].path == f"/v1/videos/video-extend/{longer}"


async def test_a_source_without_a_video_is_refused_before_the_create(kling, fake):
    source = await kling.submit(VideoRequest(job_id=1, kind=JobKind.TEXT, prompt="a fox"))
    with pytest.raises(InvalidRequest, match="no longer has that video"):
        await kling.submit(extend(source))  # not finished: no video yet
    assert [r.method for r in fake.requests] == ["POST", "GET"]
    with pytest.raises(ProviderError):
        await kling.submit(extend("text2video:CmGone"))
    assert [r.method for r in fake.requests][-1] == "GET"


def test_the_fake_takes_the_documented_extend_fields_only():
    assert validate_extend({"video_id": "v-1", "prompt": "on", "cfg_scale": 0.3}) == []
    assert validate_extend({"video_id": "v-1", "model_name": "kling-v1"})
    assert validate_extend({"prompt": "on"})


@pytest.mark.parametrize("name", [n for n in REGISTRY if n != "kling"])
def test_only_kling_extends(name):
    caps = REGISTRY[name].capabilities
    assert not caps.extends
    reason = unsupported(caps, extend("text2video:x"))
    assert reason is not None and reason.key == "no_extend"


def test_kling_extends():
    assert KlingProvider.capabilities.extends
    assert unsupported(KlingProvider.capabilities, extend("text2video:x")) is None
