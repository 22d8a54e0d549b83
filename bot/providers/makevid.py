"""makevid (`POST /api/v1/kling/{text2video|image2video}/create_kling`), as documented in
shared/provider-docs (REFERENCE.md section 2 and makevid-kling-image2video.txt).

makevid resells Kling and answers in Kling's own envelope, so the body, envelope, state, error
and task-id helpers are `bot.providers.kling`'s; this module only knows makevid's paths and key.
Differences from Kling: a plain `Bearer <key>` [I], `negative_prompt` at most 200 characters,
no `model_name`, `callback_url` or `external_task_id` in the docs (so none are sent), and no
webhooks. Task ids are `"<kind>:<makevid's id>"`, as for Kling.

Where the docs are silent: the poll path is unpublished, so it is a template (default
`/api/v1/kling/{kind}/get_kling/{task_id}` [I]); and with no model field the service runs
Kling's default model, `kling-v1`, which is therefore the only model declared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from pydantic import AfterValidator
from pydantic_settings import SettingsConfigDict

from bot.jobs import JobKind
from bot.providers.base import (
    AccountStatus,
    CameraOffer,
    Capabilities,
    TaskUpdate,
    VideoRequest,
    http_timeout,
)
from bot.providers.kling import (
    POLL_CONCURRENCY,
    TEXT2VIDEO,
    TaskNotFound,
    call,
    create_body,
    created_task_id,
    join_task_id,
    kind_of,
    poll_each,
)
from bot.providers.spec import ApiKeySettings, Common, HttpUrl, ProviderSpec, reveal
from bot.tls import tls_context

log = logging.getLogger(__name__)

DEFAULT_POLL_PATH = "/api/v1/kling/{kind}/get_kling/{task_id}"
# No task has this id, so asking for it proves the key without starting (or paying for) a job.
_PROBE_TASK_ID = "kling-bot-credential-check"


class MakevidProvider:
    name = "makevid"
    capabilities = Capabilities(
        kinds=frozenset({JobKind.TEXT, JobKind.IMAGE}),
        end_frame=True,
        models=("kling-v1",),
        max_negative_prompt_length=200,
        callbacks=False,
        # "only applicable to text2video, when mode is std and duration is 5s"
        camera=CameraOffer(kinds=frozenset({JobKind.TEXT}), mode="std", duration=5),
    )
    label = "makevid"

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        poll_path: str = DEFAULT_POLL_PATH,
        timeout: float | httpx.Timeout = 30.0,
    ) -> None:
        self._poll_path = poll_path_template(poll_path)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=http_timeout(timeout),
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
            verify=tls_context(),
        )
        self._limit = asyncio.Semaphore(POLL_CONCURRENCY)

    async def submit(self, request: VideoRequest) -> str:
        kind = kind_of(request)
        path = f"/api/v1/kling/{kind}/create_kling"
        data = await call(
            self._client, self.label, "POST", path, body=create_body(request), creating=True
        )
        return join_task_id(kind, created_task_id(data, self.label))

    async def poll(self, task_ids: Sequence[str]) -> Mapping[str, TaskUpdate]:
        return await poll_each(task_ids, self._query, self._limit, self.label)

    async def account(self) -> AccountStatus:
        """makevid documents no account endpoint: ask for a task that does not exist. "Not
        found" in Kling's envelope means the key was accepted; a bad key raises `AuthFailed`,
        and a 404 page without the envelope says the poll path is wrong."""
        path = self._path(TEXT2VIDEO, _PROBE_TASK_ID)
        with contextlib.suppress(TaskNotFound):
            await call(self._client, self.label, "GET", path)
        return AccountStatus(
            balance=None, checked=f"GET {path} (an unknown task: 'not found' proves the key)"
        )

    def parse_callback(self, body: Any) -> TaskUpdate | None:
        """makevid documents no webhooks."""
        return None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _query(self, kind: str, task_id: str) -> dict[str, Any]:
        return await call(self._client, self.label, "GET", self._path(kind, task_id))

    def _path(self, kind: str, task_id: str) -> str:
        return self._poll_path.format(kind=kind, task_id=quote(task_id, safe=""))


def poll_path_template(path: str) -> str:
    """`path` if it can name a task (`MAKEVID_POLL_PATH`'s rule); else `ValueError`."""
    if not path.startswith("/") or "{task_id}" not in path:
        raise ValueError("must start with / and contain {task_id} (and may contain {kind})")
    return path


class MakevidSettings(ApiKeySettings):
    """`MAKEVID_API_KEY`, `MAKEVID_BASE_URL`, `MAKEVID_POLL_PATH`."""

    model_config = SettingsConfigDict(env_prefix="MAKEVID_")

    base_url: HttpUrl = "https://makevid.ai"
    poll_path: Annotated[str, AfterValidator(poll_path_template)] = DEFAULT_POLL_PATH


def _build(settings: MakevidSettings, common: Common) -> MakevidProvider:
    return MakevidProvider(
        reveal(settings.api_key),
        settings.base_url,
        poll_path=settings.poll_path,
        timeout=common.timeout,
    )


SPEC = ProviderSpec("makevid", MakevidSettings, MakevidProvider.capabilities, _build)
