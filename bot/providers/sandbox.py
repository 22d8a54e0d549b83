"""The built-in offline provider: free, no key, so operators can try their Telegram setup.

It accepts any valid request, reports queued and then running progress over `SANDBOX_DELAY`
seconds, and finishes with a small real MP4 shipped in the package, named by the internal
reference `CLIP_REF` rather than a `file://` URL: the bot never opens local files a provider
names. The task id carries its own start time, so tasks survive a restart of the bot exactly
like a remote provider's would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bot.jobs import JobKind, JobState
from bot.providers.base import (
    OUR_MODELS,
    AccountStatus,
    Capabilities,
    InvalidRequest,
    TaskUpdate,
    VideoRequest,
)
from bot.providers.spec import Common, ProviderSettings, ProviderSpec

CLIP_PATH = Path(__file__).with_name("sandbox_clip.mp4")
#: The sandbox's video "link": delivery uploads CLIP_PATH for it, for sandbox jobs only.
CLIP_REF = "sandbox:clip"

#: The share of the delay spent "queued" before "running" starts.
_QUEUED_SHARE = 0.25


class SandboxProvider:
    name = "sandbox"
    capabilities = Capabilities(
        kinds=frozenset({JobKind.TEXT, JobKind.IMAGE}),
        end_frame=True,
        models=OUR_MODELS,
        stops_on_cancel=True,  # a simulated task: cancelling it ends it
    )

    def __init__(self, delay: float = 8.0) -> None:
        self._delay = delay

    async def submit(self, request: VideoRequest) -> str:
        if request.kind is JobKind.IMAGE and request.image is None:
            raise InvalidRequest("image-to-video needs an image")
        return f"sbx-{uuid.uuid4().hex}-{time.time():.3f}"

    async def poll(self, task_ids: Sequence[str]) -> Mapping[str, TaskUpdate]:
        now = time.time()
        updates: dict[str, TaskUpdate] = {}
        for task_id in task_ids:
            started = _started_at(task_id)
            if started is not None:
                updates[task_id] = self._update(task_id, now - started)
        return updates

    def _update(self, task_id: str, elapsed: float) -> TaskUpdate:
        if elapsed >= self._delay:
            return TaskUpdate(task_id, JobState.SUCCEEDED, progress=100, video_url=CLIP_REF)
        queued_for = self._delay * _QUEUED_SHARE
        if elapsed < queued_for:
            return TaskUpdate(task_id, JobState.QUEUED, progress=0)
        progress = int(100 * (elapsed - queued_for) / (self._delay - queued_for))
        return TaskUpdate(task_id, JobState.RUNNING, progress=min(progress, 99))

    async def account(self) -> AccountStatus:
        return AccountStatus(balance="free", checked="built in, nothing to call")

    def parse_callback(self, body: Any) -> TaskUpdate | None:
        return None  # the sandbox is polled only

    async def aclose(self) -> None:
        return None


def _started_at(task_id: str) -> float | None:
    prefix, _, stamp = task_id.rpartition("-")
    if not prefix.startswith("sbx-"):
        return None
    try:
        return float(stamp)
    except ValueError:
        return None


class SandboxSettings(ProviderSettings):
    """`SANDBOX_DELAY`."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_")

    delay: float = Field(default=8.0, ge=0)


def _build(settings: SandboxSettings, common: Common) -> SandboxProvider:
    return SandboxProvider(delay=settings.delay)


SPEC = ProviderSpec("sandbox", SandboxSettings, SandboxProvider.capabilities, _build)
