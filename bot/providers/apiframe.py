"""APIFRAME (`POST /kling-imagine`), as documented in shared/provider-docs.

Quirks honoured here: the raw key in `Authorization` (no `Bearer`), polling by `POST /fetch`
and `POST /fetch-many` (2 to 20 ids), `percentage` a string while running and a number when
finished, input images by URL only, errors as `{"errors": [{"msg": ...}]}` or an empty `{}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic_settings import SettingsConfigDict

from bot.i18n import Reason
from bot.jobs import JobKind, JobState
from bot.providers.base import (
    AccountStatus,
    Capabilities,
    InvalidRequest,
    NoCredits,
    ProviderError,
    TaskUpdate,
    VideoRequest,
    http_timeout,
    status_error,
    transport_error,
    unreadable_answer,
)
from bot.providers.spec import ApiKeySettings, HttpUrl, ProviderSpec, with_api_key
from bot.tls import tls_context

log = logging.getLogger(__name__)

_STATES = {
    "pending": JobState.QUEUED,
    "staged": JobState.QUEUED,
    "starting": JobState.QUEUED,
    "retry": JobState.QUEUED,
    "retrying": JobState.QUEUED,
    "processing": JobState.RUNNING,
    "finished": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
}
_BATCH = 20  # /fetch-many takes 2 to 20 ids
_PRO_MODEL = "kling-v1-5"  # the docs: only kling-v1-5 works with mode "pro"


class ApiframeProvider:
    name = "apiframe"
    capabilities = Capabilities(
        kinds=frozenset({JobKind.TEXT, JobKind.IMAGE}),
        image_by_url_only=True,
        end_frame=True,
        models=("kling-v1-6", "kling-v1-5", "kling-v1"),
        aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "21:9"),
        callbacks=True,
        callback_secret_header=True,  # `webhook_secret` comes back as `x-webhook-secret`
    )

    def __init__(
        self, api_key: str, base_url: str, *, timeout: float | httpx.Timeout = 30.0
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": api_key},
            timeout=http_timeout(timeout),
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
            verify=tls_context(),
        )

    async def submit(self, request: VideoRequest) -> str:
        body = _create_body(request)
        answer = await self._call("POST", "/kling-imagine", body, creating=True)
        task_id = answer.get("task_id") if isinstance(answer, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise unreadable_answer("APIFRAME")
        return task_id

    async def poll(self, task_ids: Sequence[str]) -> Mapping[str, TaskUpdate]:
        updates: dict[str, TaskUpdate] = {}
        for start in range(0, len(task_ids), _BATCH):
            chunk = list(task_ids[start : start + _BATCH])
            if len(chunk) == 1:
                results = [await self._post("/fetch", {"task_id": chunk[0]})]
            else:
                answer = await self._post("/fetch-many", {"task_ids": chunk})
                results = answer.get("tasks", []) if isinstance(answer, dict) else []
            for result in results:
                update = _parse_result(result)
                if update is not None and update.task_id in chunk:
                    updates[update.task_id] = update
        return updates

    async def account(self) -> AccountStatus:
        answer = await self._call("GET", "/account")
        credits = answer.get("credits") if isinstance(answer, dict) else None
        number = (
            float(credits)
            if isinstance(credits, int | float) and not isinstance(credits, bool)
            else None
        )
        return AccountStatus(
            balance=f"{credits} credits" if credits is not None else None,
            checked="GET /account",
            credits=number,
        )

    def parse_callback(self, body: Any) -> TaskUpdate | None:
        """The webhook body is the same result object `/fetch` returns."""
        return _parse_result(body)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return await self._call("POST", path, body)

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        creating: bool = False,
    ) -> Any:
        """One request; `creating` marks the submit, the one call that may start a paid job."""
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise transport_error("APIFRAME", exc, creating=creating) from exc
        if response.status_code >= 400:
            raise _error(response, creating=creating)
        try:
            return response.json()
        except ValueError as exc:
            raise unreadable_answer("APIFRAME", creating=creating) from exc


def _create_body(request: VideoRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt": request.prompt,
        "generation_type": "image2video" if request.kind is JobKind.IMAGE else "text2video",
    }
    if request.kind is JobKind.IMAGE:
        if request.image is None or request.image.url is None:
            raise InvalidRequest(
                "APIFRAME needs the image as a public link (set PUBLIC_URL)",
                reason=Reason.of("no_provider_for_images"),
            )
        body["image_url"] = request.image.url
        if request.end_image is not None:
            if request.end_image.url is None:
                raise InvalidRequest(
                    "APIFRAME needs the end frame as a public link",
                    reason=Reason.of("no_provider_for_images"),
                )
            body["end_image_url"] = request.end_image.url
    elif request.aspect_ratio:
        body["aspect_ratio"] = request.aspect_ratio
    if request.mode == "pro" and request.model != _PRO_MODEL:
        raise InvalidRequest(
            f"pro mode on APIFRAME needs the model {_PRO_MODEL}",
            reason=Reason.of("pro_needs_model", model=_PRO_MODEL),
        )
    if request.model:
        body["model"] = request.model
    if request.mode:
        body["mode"] = request.mode
    optional = {
        "negative_prompt": request.negative_prompt,
        "duration": request.duration,
        "cfg_scale": request.cfg_scale,
        "webhook_url": request.callback_url,
        "webhook_secret": request.callback_secret,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def _parse_result(result: Any) -> TaskUpdate | None:
    if not isinstance(result, dict) or not isinstance(result.get("task_id"), str):
        log.warning("APIFRAME sent a result without a task id")
        return None
    task_id = result["task_id"]
    status = str(result.get("status", "")).lower()
    state = _STATES.get(status)
    if state is None:
        log.warning("APIFRAME task %s has an unknown status %r; still waiting", task_id, status)
        return None
    progress = _percentage(result.get("percentage"))
    if state is JobState.SUCCEEDED:
        url = result.get("video_url")
        if not isinstance(url, str) or not url:
            return TaskUpdate(task_id, JobState.FAILED, error=Reason.of("no_video_sent"))
        return TaskUpdate(task_id, state, progress=100, video_url=url)
    if state is JobState.FAILED:
        reason = result.get("message") or result.get("error")
        return TaskUpdate(task_id, state, error=str(reason) if reason else Reason.of("no_reason"))
    return TaskUpdate(task_id, state, progress=progress)


def _percentage(value: Any) -> int | None:
    """`"40"` while running, `100` when finished."""
    try:
        return max(0, min(100, int(float(value))))
    except (TypeError, ValueError):
        return None


def _error(response: httpx.Response, *, creating: bool) -> ProviderError:
    """`bot.providers.base.HTTP_STATUS`, plus APIFRAME's "credits" wording in a refusal."""
    message = _error_message(response)
    status = response.status_code
    if status < 500 and "credit" in message.lower():
        return NoCredits(message)
    return status_error("APIFRAME", status, message, headers=response.headers, creating=creating)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        messages = [str(e.get("msg")) for e in errors if isinstance(e, dict) and e.get("msg")]
        return "; ".join(messages)
    return ""


class ApiframeSettings(ApiKeySettings):
    """`APIFRAME_API_KEY`, `APIFRAME_BASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="APIFRAME_")

    base_url: HttpUrl = "https://api.apiframe.pro"


SPEC = ProviderSpec(
    "apiframe", ApiframeSettings, ApiframeProvider.capabilities, with_api_key(ApiframeProvider)
)
