"""A fake APIFRAME (Kling reseller), faithful to its published quirks.

Implements `/work/shared/provider-docs/apiframe-kling-imagine.txt` and REFERENCE.md section 1:
raw API key in `Authorization` (no `Bearer`), `POST /fetch` with a JSON body, `POST /fetch-many`
with 2 to 20 ids, `percentage` a string while running and the number 100 when finished, 400 as
`{"errors":[{"msg":...}]}`, 401 and 500 as `{}`. Tests drive each task's life explicitly
(`set_processing`, `finish`, `fail`) and see each change on `/fetch` and on the webhook.

Where the docs are silent (marked [I] in REFERENCE.md) the fake picks the strict reading, so a
bot that passes here does not rely on leniency the real service may not have.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from tests.fakes.media import SAMPLE_MP4
from tests.fakes.provider import (
    ProviderFake,
    RequestField,
    aspect_ratio_errors,
    image_fields,
)
from tests.fakes.recording import Recorded, is_http_url, shared_tls

__all__ = ["SAMPLE", "FakeApiframe", "FakeTask", "Recorded", "WebhookDelivery", "validate_imagine"]

SAMPLE = SAMPLE_MP4

TASK_TYPE = "kling-video"
QUEUED_STATUSES = ("pending", "staged", "starting", "retry", "retrying")
GENERATION_TYPES = ("text2video", "image2video")
MODES = ("std", "pro")
MODELS = ("kling-v1", "kling-v1-5", "kling-v1-6")
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
DURATIONS = (5, 10)
FETCH_MANY_MIN, FETCH_MANY_MAX = 2, 20


@dataclass
class FakeTask:
    """A video task; `result()` is what `/fetch` and the webhook report for it right now."""

    task_id: str
    request: dict[str, Any]
    status: str = "pending"
    percentage: int = 0
    video_url: str | None = None
    message: str | None = None
    fetched_image: bytes | None = None
    fetched_image_type: str | None = None
    fetched_end_image: bytes | None = None
    fetched_end_image_type: str | None = None
    fetch_count: int = 0
    created_at: float = field(default_factory=time.monotonic)

    @property
    def generation_type(self) -> str:
        return str(self.request["generation_type"])

    webhook_url = RequestField("webhook_url")
    webhook_secret = RequestField("webhook_secret")

    def result(self) -> dict[str, Any]:
        """The documented result shape; `percentage` is a string except when finished."""
        base: dict[str, Any] = {"task_id": self.task_id, "task_type": TASK_TYPE}
        if self.status == "finished":
            return {**base, "status": "finished", "percentage": 100, "video_url": self.video_url}
        if self.status == "failed":
            return {**base, "status": "failed", "message": self.message}
        return {**base, "status": self.status, "percentage": str(self.percentage)}


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST a result to a task's `webhook_url`; `error` is set if it never got an
    HTTP answer, `status` otherwise."""

    task_id: str
    url: str
    payload: dict[str, Any]
    headers: dict[str, str]
    status: int | None
    error: str | None
    at: float


def _errors(*messages: str) -> JSONResponse:
    return JSONResponse({"errors": [{"msg": m} for m in messages]}, status_code=400)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_imagine(body: dict[str, Any]) -> list[str]:
    """Every rule of the doc page that `body` breaks; unknown fields are ignored."""
    errors: list[str] = []
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        errors.append("prompt is required and must be a non-empty string")
    kind = body.get("generation_type")
    if kind not in GENERATION_TYPES:
        errors.append("generation_type must be 'text2video' or 'image2video'")
    errors += _image_errors(body, kind)
    errors += aspect_ratio_errors(body, kind, ASPECT_RATIOS)
    errors += _model_errors(body)
    duration = body.get("duration", 5)
    if not isinstance(duration, int) or isinstance(duration, bool) or duration not in DURATIONS:
        errors.append("duration must be the integer 5 or 10")
    cfg = body.get("cfg_scale", 0.5)
    if not _is_number(cfg) or not 0 <= cfg <= 1:
        errors.append("cfg_scale must be a number between 0 and 1")
    for name in ("negative_prompt", "webhook_secret"):
        if name in body and not isinstance(body[name], str):
            errors.append(f"{name} must be a string")
    if "webhook_url" in body and not is_http_url(body["webhook_url"]):
        errors.append("webhook_url must be a URL")
    return errors


def _image_errors(body: dict[str, Any], kind: object) -> list[str]:
    errors, given = image_fields(body, kind, ("image_url", "end_image_url"))
    errors += [f"{name} must be an http(s) URL" for name in given if not is_http_url(body[name])]
    return errors


def _model_errors(body: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    mode, model = body.get("mode", "std"), body.get("model")
    if model is not None and model not in MODELS:
        errors.append(f"model must be one of {', '.join(MODELS)}")
    if mode not in MODES:
        errors.append("mode must be 'std' or 'pro'")
    elif mode == "pro" and model != "kling-v1-5":
        errors.append("mode 'pro' only works with model 'kling-v1-5'")
    return errors


class FakeApiframe(ProviderFake[FakeTask, WebhookDelivery]):
    """APIFRAME's Kling endpoints plus result-video hosting, on one local server."""

    delivery_kind = "webhook delivery"
    wait_for_webhook = ProviderFake.wait_for_delivery

    def __init__(
        self, api_key: str = "apiframe-test-key", *, forbidden: Sequence[str] = ()
    ) -> None:
        super().__init__(forbidden)
        self.api_key = api_key
        self.deliver_webhooks = True
        self.auto_finish_after_fetches: int | None = None
        self.account: dict[str, Any] = {
            "email": "bot@example.com",
            "credits": 1000,
            "total_images": 0,
            "plan": "pro",
        }
        self._routes: dict[tuple[str, str], Callable[[Recorded], Awaitable[Response]]] = {
            ("POST", "/kling-imagine"): self._imagine,
            ("POST", "/fetch"): self._fetch,
            ("POST", "/fetch-many"): self._fetch_many,
            ("GET", "/account"): self._account,
        }

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every attempt to POST a result to a webhook, in order."""
        return self.deliveries

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10.0, follow_redirects=True, verify=shared_tls())

    # test-facing controls

    async def set_queued(self, task_id: str, status: str = "pending") -> None:
        """Put a task back in one of the waiting states (`staged`, `retrying`, ...)."""
        assert status in QUEUED_STATUSES, status
        task = self.tasks[task_id]
        task.status, task.percentage = status, 0
        await self._changed_task(task)

    async def set_processing(self, task_id: str, percentage: int) -> None:
        task = self.tasks[task_id]
        task.status, task.percentage = "processing", percentage
        await self._changed_task(task)

    async def finish(
        self, task_id: str, video: bytes = SAMPLE, *, video_url: str | None = None
    ) -> str:
        """Mark the task finished; unless `video_url` is given the video is hosted here."""
        task = self.tasks[task_id]
        video_url = self._host(f"{task_id}.mp4", video, video_url)
        task.status, task.percentage, task.video_url = "finished", 100, video_url
        await self._changed_task(task)
        return video_url

    async def fail(self, task_id: str, message: str = "Video generation failed") -> None:
        task = self.tasks[task_id]
        task.status, task.message = "failed", message
        await self._changed_task(task)

    # internals: request pipeline

    async def _handle(self, request: Request) -> Response:
        """Record, then leak check, routing, auth, injected faults, and the endpoint itself."""
        rec, leaked = await self._intake(request)
        if leaked:
            return _errors("forbidden content")
        handler = self._routes.get((rec.method, rec.path))
        if handler is not None:
            if rec.headers.get("authorization") != self.api_key:
                return JSONResponse({}, status_code=401)
            fault = self.take_fault(rec.path, self._fault_body)
            if fault is not None:
                return fault
            await self._stall_point(rec.path)
            return self.after_handling(rec.path, await handler(rec), self._fault_body)
        hosted = self._media(rec, self._fault_body)
        if hosted is not None:
            return hosted
        # The `{"errors":[{"msg"}]}` shape is express-validator's, so APIFRAME is likely Express,
        # whose stock answer to an unknown method or path is this HTML 404. [I]
        return HTMLResponse(f"Cannot {rec.method} {rec.path}", status_code=404)

    @staticmethod
    def _fault_body(status: int) -> Any:
        """The documented body for an injected status: 400 an errors list, anything else `{}`."""
        return {"errors": [{"msg": "Invalid request"}]} if status == 400 else {}

    # endpoints

    async def _imagine(self, rec: Recorded) -> Response:
        body = _json_object(rec)
        if body is None:
            return _errors("Invalid request")
        problems = validate_imagine(body)
        if problems:
            return _errors(*problems)
        task = FakeTask(task_id=str(uuid.uuid4()), request=body)
        if task.generation_type == "image2video":
            await self._download_images(task)
        self.tasks[task.task_id] = task
        await self.notify()
        background = BackgroundTasks()
        if task.status == "failed":
            background.add_task(self._deliver, task, task.result())
        return JSONResponse({"task_id": task.task_id}, background=background)

    async def _fetch(self, rec: Recorded) -> Response:
        body = _json_object(rec)
        task_id = body.get("task_id") if body else None
        if not isinstance(task_id, str):
            return _errors("task_id is required")
        task = self.tasks.get(task_id)
        if task is None:
            return _errors("Invalid task_id")
        background = BackgroundTasks()
        self._count_fetch(task, background)
        return JSONResponse(task.result(), background=background)

    async def _fetch_many(self, rec: Recorded) -> Response:
        body = _json_object(rec)
        ids = body.get("task_ids") if body else None
        if (
            not isinstance(ids, list)
            or not all(isinstance(i, str) for i in ids)
            or not FETCH_MANY_MIN <= len(ids) <= FETCH_MANY_MAX
        ):
            return _errors(f"task_ids must be a list of {FETCH_MANY_MIN} to {FETCH_MANY_MAX} ids")
        background = BackgroundTasks()
        results = []
        for task_id in ids:
            task = self.tasks.get(task_id)
            if task is not None:
                self._count_fetch(task, background)
                results.append(task.result())
        return JSONResponse({"tasks": results}, background=background)

    async def _account(self, rec: Recorded) -> Response:
        return JSONResponse(self.account)

    # internals: task life

    def _count_fetch(self, task: FakeTask, background: BackgroundTasks) -> None:
        """Advance a task on its own when `auto_finish_after_fetches` is set (benchmarks)."""
        task.fetch_count += 1
        limit = self.auto_finish_after_fetches
        if limit is None or task.status not in (*QUEUED_STATUSES, "processing"):
            return
        if task.fetch_count <= limit:
            task.status, task.percentage = "processing", task.fetch_count * 100 // (limit + 1)
        else:
            task.status, task.percentage = "finished", 100
            task.video_url = self.url + self.media.add(f"{task.task_id}.mp4", SAMPLE)
        background.add_task(self._deliver, task, task.result())

    async def _changed_task(self, task: FakeTask) -> None:
        await self.notify()
        await self._deliver(task)

    async def _download_images(self, task: FakeTask) -> None:
        """Fetch the frames as the real service would; a bad image fails the task, not the call."""
        for field_name, label in (("image_url", "image"), ("end_image_url", "end image")):
            url = task.request.get(field_name)
            if url is None:
                continue
            fetched = await self._download_image(url)
            if fetched is None:
                task.status, task.message = "failed", f"Could not download {label}"
                return
            if field_name == "image_url":
                task.fetched_image, task.fetched_image_type = fetched
            else:
                task.fetched_end_image, task.fetched_end_image_type = fetched

    async def _download_image(self, url: str) -> tuple[bytes, str] | None:
        assert self._client is not None, "start() the fake first"
        try:
            response = await self._client.get(url)
        except httpx.HTTPError:
            return None
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if not response.is_success or not content_type.startswith("image/"):
            return None
        return response.content, content_type

    async def _deliver(self, task: FakeTask, payload: dict[str, Any] | None = None) -> None:
        """POST `payload` (default: the current result) to the task's webhook, once: retries are
        undocumented. Deferred deliveries pass the result as it was when the change happened."""
        url = task.webhook_url
        if not self.deliver_webhooks or url is None or self._client is None:
            return
        payload = task.result() if payload is None else payload
        headers = {} if task.webhook_secret is None else {"x-webhook-secret": task.webhook_secret}
        status, error = await self._post_json(url, payload, headers)
        await self._delivered(
            WebhookDelivery(task.task_id, url, payload, headers, status, error, time.monotonic())
        )


def _json_object(rec: Recorded) -> dict[str, Any] | None:
    """The body as Express's `json()` parser would see it: only with a JSON content type. [I]"""
    content_type = rec.headers.get("content-type", "")
    if "application/json" not in content_type or not isinstance(rec.json, dict):
        return None
    return rec.json
