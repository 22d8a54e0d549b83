"""A fake APIFRAME v2 (`api.apiframe.ai`), for its Kling models only.

Built from KLING-SURFACE.md ("APIFRAME v2", sections 5, 8, 9) and the request schemas of its
OpenAPI spec (`apiframe-ai/apiframe-nodejs-sdk` `openapi.json`): `X-API-Key` auth, `POST
/v2/videos/generate` answering `202 {jobId, status}`, `GET /v2/jobs/{id}`, `GET /v2/me`, errors
as `{"error": "..."}`. Every schema has `additionalProperties: false`, so any field a model does
not list (at the top or in `klingParams`) is a 400, as the spec's validation would make it.

Webhooks go to `webhookUrl` for the events in `webhookEvents` (all three if absent [I]), signed
exactly as `src/webhooks.ts` verifies them: `x-webhook-signature: sha256=<hex HMAC-SHA256 of
the raw body, keyed with SHA-256(apiKey)>`. The event body names `jobId`, `type` and `status`
(the SDK's example); it also carries the job's `progress`, `result` and `error` [I].
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.media import SAMPLE_MP4
from tests.fakes.provider import ProviderFake
from tests.fakes.recording import Recorded, is_http_url, shared_tls

SAMPLE = SAMPLE_MP4
RATIOS = ("16:9", "9:16", "1:1")
EVENTS = ("progress", "completed", "failed")
#: Each Kling model's `klingParams` fields, as its schema lists them (3.0 as read in
#: `openapi.json` at 02c8358; 3.0-omni is not served here; 3.0's `multi_prompt`, a JSON
#: string, is accepted as a string).
KLING_PARAMS: dict[str, frozenset[str]] = {
    "kling-2.1": frozenset({"duration", "end_image", "mode", "negative_prompt", "start_image"}),
    "kling-2.1-master": frozenset({"aspect_ratio", "duration", "negative_prompt", "start_image"}),
    "kling-2.5-turbo-pro": frozenset(
        {"aspect_ratio", "duration", "end_image", "guidance_scale", "negative_prompt"}
        | {"start_image"}
    ),
    "kling-2.6": frozenset(
        {"aspect_ratio", "duration", "generate_audio", "negative_prompt", "start_image"}
    ),
    "kling-3.0": frozenset(
        {"aspect_ratio", "duration", "end_image", "generate_audio", "mode", "multi_prompt"}
        | {"negative_prompt", "start_image"}
    ),
}
#: `duration` per model: kling-3.0 takes an integer from 3 to 15, the others 5 or 10.
DURATIONS: dict[str, tuple[int, ...]] = {"kling-3.0": tuple(range(3, 16))}
#: `mode` per model: kling-3.0's schema also lists 4k (its docs do not).
MODES: dict[str, tuple[str, ...]] = {"kling-3.0": ("standard", "pro", "4k")}
TOP_LEVEL = frozenset({"model", "prompt", "klingParams", "webhookUrl", "webhookEvents"})


def signature(api_key: str, body: bytes) -> str:
    """The documented `x-webhook-signature` value for `body`."""
    secret = hashlib.sha256(api_key.encode()).digest()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass
class FakeJob:
    """A video job; `job()` is what `GET /v2/jobs/{id}` shows right now."""

    job_id: str
    request: dict[str, Any]
    status: str = "QUEUED"
    progress: int = 0
    video_url: str | None = None
    error: str | None = None
    fetched_images: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    @property
    def task_id(self) -> str:
        return self.job_id

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.request.get("klingParams") or {})

    def job(self) -> dict[str, Any]:
        done = self.status == "COMPLETED"
        return {
            "id": self.job_id,
            "status": self.status,
            "model": self.request["model"],
            "progress": self.progress,
            "result": {"videoUrl": self.video_url} if done else None,
            "error": self.error,
            "creditCost": None,
            "webhookStatus": None,
            "createdAt": "2026-05-01T00:00:00.000Z",
            "completedAt": "2026-05-01T00:01:00.000Z" if done else None,
        }


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an event to a job's `webhookUrl`: its raw body, headers and answer."""

    job_id: str
    url: str
    event: str
    body: bytes
    headers: dict[str, str]
    status: int | None
    error: str | None
    at: float

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_generate(body: dict[str, Any]) -> list[str]:
    """Every rule of the spec's Kling variants of `GenerateVideoRequest` that `body` breaks."""
    errors = [f"unrecognized key: {key}" for key in sorted(set(body) - TOP_LEVEL)]
    model = body.get("model")
    if model not in KLING_PARAMS:
        return [*errors, f"model must be one of {', '.join(KLING_PARAMS)}"]
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not 1 <= len(prompt) <= 4000:
        errors.append("prompt must be a string of 1 to 4000 characters")
    params = body.get("klingParams", {})
    if not isinstance(params, dict):
        return [*errors, "klingParams must be an object"]
    errors += [
        f"klingParams: unrecognized key for {model}: {key}"
        for key in sorted(set(params) - KLING_PARAMS[model])
    ]
    durations = DURATIONS.get(model, (5, 10))
    if "duration" in params and (
        not isinstance(params["duration"], int)
        or isinstance(params["duration"], bool)
        or params["duration"] not in durations
    ):
        errors.append(f"klingParams.duration must be one of {', '.join(map(str, durations))}")
    modes = MODES.get(model, ("standard", "pro"))
    if "mode" in params and params["mode"] not in modes:
        errors.append(f"klingParams.mode must be one of {', '.join(modes)}")
    if "multi_prompt" in params and not isinstance(params["multi_prompt"], str):
        errors.append("klingParams.multi_prompt must be a JSON string")
    if "aspect_ratio" in params and params["aspect_ratio"] not in RATIOS:
        errors.append(f"klingParams.aspect_ratio must be one of {', '.join(RATIOS)}")
    for name in ("start_image", "end_image"):
        if name in params and not is_http_url(params[name]):
            errors.append(f"klingParams.{name} must be a URI")
    negative = params.get("negative_prompt", "")
    if not isinstance(negative, str) or len(negative) > 2500:
        errors.append("klingParams.negative_prompt must be a string of at most 2500 characters")
    scale = params.get("guidance_scale", 0.5)
    if not _number(scale) or not 0 <= scale <= 1:
        errors.append("klingParams.guidance_scale must be a number from 0 to 1")
    if "generate_audio" in params and not isinstance(params["generate_audio"], bool):
        errors.append("klingParams.generate_audio must be a boolean")
    if "webhookUrl" in body and not is_http_url(body["webhookUrl"]):
        errors.append("webhookUrl must be a URI")
    events = body.get("webhookEvents", list(EVENTS))
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        errors.append("webhookEvents must be a non-empty list of progress, completed, failed")
    return errors


class FakeApiframe2(ProviderFake[FakeJob, WebhookDelivery]):
    """APIFRAME v2's job endpoints for Kling, plus result-video hosting, on one local server."""

    delivery_kind = "webhook delivery"
    wait_for_webhook = ProviderFake.wait_for_delivery

    def __init__(self, api_key: str = "afk_test", *, forbidden: Sequence[str] = ()) -> None:
        super().__init__(forbidden)
        self.api_key = api_key
        self.deliver_webhooks = True

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10.0, follow_redirects=True, verify=shared_tls())

    # test-facing controls

    async def set_processing(self, job_id: str, progress: int) -> None:
        job = self.tasks[job_id]
        job.status, job.progress = "PROCESSING", progress
        await self._job_changed(job, "progress")

    async def finish(self, job_id: str, video: bytes = SAMPLE) -> str:
        job = self.tasks[job_id]
        job.video_url = self._host(f"{job_id}.mp4", video, None)
        job.status, job.progress = "COMPLETED", 100
        await self._job_changed(job, "completed")
        return job.video_url

    async def fail(self, job_id: str, error: str = "Provider returned 500") -> None:
        job = self.tasks[job_id]
        job.status, job.error = "FAILED", error
        await self._job_changed(job, "failed")

    # request pipeline

    async def _handle(self, request: Request) -> Response:
        rec, leaked = await self._intake(request)
        if leaked:
            return JSONResponse({"error": "forbidden content"}, status_code=400)
        route = self._route(rec)
        if route is None:
            hosted = self._media(rec, self._fault_body)
            if hosted is not None:
                return hosted
            return JSONResponse({"error": "Not found"}, status_code=404)
        if rec.headers.get("x-api-key") != self.api_key:
            return JSONResponse({"error": "Invalid API key"}, status_code=401)
        fault = self.take_fault(rec.path, self._fault_body)
        if fault is not None:
            return fault
        await self._stall_point(rec.path)
        return self.after_handling(rec.path, await route(rec), self._fault_body)

    def _route(self, rec: Recorded) -> Any:
        if (rec.method, rec.path) == ("POST", "/v2/videos/generate"):
            return self._generate
        if (rec.method, rec.path) == ("GET", "/v2/me"):
            return self._me
        if rec.method == "GET" and rec.path.startswith("/v2/jobs/"):
            return self._get_job
        return None

    @staticmethod
    def _fault_body(status: int) -> Any:
        return {"error": f"HTTP {status}"}

    # endpoints

    async def _generate(self, rec: Recorded) -> Response:
        body = rec.json if "application/json" in rec.headers.get("content-type", "") else None
        if not isinstance(body, dict):
            return JSONResponse({"error": "Invalid JSON body"}, status_code=400)
        problems = validate_generate(body)
        if problems:
            return JSONResponse({"error": "; ".join(problems)}, status_code=400)
        job = FakeJob(job_id=str(uuid.uuid4()), request=body)
        await self._download_images(job)
        self.tasks[job.job_id] = job
        await self.notify()
        background = BackgroundTasks()
        if job.status == "FAILED":
            background.add_task(self._deliver, job, "failed")
        return JSONResponse(
            {"jobId": job.job_id, "status": "QUEUED"}, status_code=202, background=background
        )

    async def _get_job(self, rec: Recorded) -> Response:
        job = self.tasks.get(rec.path.removeprefix("/v2/jobs/"))
        if job is None:
            return JSONResponse({"error": "Job not found"}, status_code=404)
        return JSONResponse(job.job())

    async def _me(self, rec: Recorded) -> Response:
        return JSONResponse(
            {
                "user": {"email": "bot@example.com"},
                "team": {"name": "bot"},
                "apiKey": {"prefix": self.api_key[:8]},
            }
        )

    # job life

    async def _download_images(self, job: FakeJob) -> None:
        """Fetch the frames as the service would; one it cannot fetch fails the job."""
        assert self._client is not None, "start() the fake first"
        for name in ("start_image", "end_image"):
            url = job.params.get(name)
            if url is None:
                continue
            try:
                response = await self._client.get(url)
            except httpx.HTTPError:
                response = None
            kind = response.headers.get("content-type", "") if response is not None else ""
            if response is None or not response.is_success or not kind.startswith("image/"):
                job.status, job.error = "FAILED", f"Could not download {name}"
                return
            job.fetched_images[name] = (response.content, kind)

    async def _job_changed(self, job: FakeJob, event: str) -> None:
        await self.notify()
        await self._deliver(job, event)

    async def _deliver(self, job: FakeJob, event: str) -> None:
        """POST the event, signed, if the job asked for it; once (retries undocumented)."""
        url = job.request.get("webhookUrl")
        events = job.request.get("webhookEvents", list(EVENTS))
        if not self.deliver_webhooks or url is None or event not in events:
            return
        state = job.job()
        payload = {
            "jobId": job.job_id,
            "type": event,
            "status": state["status"],
            "progress": state["progress"],
            "result": state["result"],
            "error": state["error"],
        }
        body = json.dumps(payload).encode()
        headers = {
            "content-type": "application/json",
            "x-webhook-signature": signature(self.api_key, body),
        }
        status, error = await self.post_raw(url, body, headers)
        await self._delivered(
            WebhookDelivery(job.job_id, url, event, body, headers, status, error, time.monotonic())
        )

    async def post_raw(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        """POST exactly `body` (what the signature covers): its status, or the error."""
        assert self._client is not None, "start() the fake first"
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, repr(exc)
        return response.status_code, None
