"""APIFRAME's newer API (`api.apiframe.ai`, `POST /v2/videos/generate`), as documented in
shared/provider-docs/KLING-SURFACE.md (sections 5, 8 and 9, "APIFRAME v2") and checked against
its published OpenAPI spec (`apiframe-ai/apiframe-nodejs-sdk` `openapi.json`, `src/webhooks.ts`).

Where its docs and its spec disagree, the spec wins (it rejects fields it does not list):
`kling-2.1` takes no `aspect_ratio` or `cfg_scale`, and `kling-2.5-turbo-pro`'s scale is
`guidance_scale` (0 to 1). Quirks honoured here: the key in `X-API-Key`; a submit answered
`202 {jobId, status}`; one `GET /v2/jobs/{id}` per job; statuses in capitals; the video at
`result.videoUrl`; errors as `{"error": "..."}`; images by URL only (`start_image`,
`end_image`); webhooks signed with HMAC-SHA256 over the raw body, keyed with the SHA-256
digest of the API key, in `x-webhook-signature: sha256=<hex>`.

`kling-3.0` is our `kling-v3`, as its spec's schema lists it (`openapi.json` at 02c8358):
`duration` an integer from 3 to 15 (`Capabilities.model_durations`), `mode` standard|pro,
`aspect_ratio`, `start_image`, `end_image`, `negative_prompt`, `generate_audio`; no scale.

Not offered: `kling-3.0`'s `4k` mode (in the spec but not the docs) and `multi_prompt` shots
(the bot has no option for shots); `kling-3.0-omni` (its references and shots are more than
the bot's options); camera moves, effects, reference photos and extension (none documented
for Kling on this API).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from pydantic_settings import SettingsConfigDict

from bot.i18n import Reason
from bot.jobs import JobKind, JobState
from bot.providers.base import (
    AccountStatus,
    Capabilities,
    InvalidRequest,
    TaskUpdate,
    VideoRequest,
    http_timeout,
    poll_all,
    status_error,
    transport_error,
    unreadable_answer,
)
from bot.providers.spec import ApiKeySettings, HttpUrl, ProviderSpec, with_api_key
from bot.tls import tls_context

log = logging.getLogger(__name__)

LABEL = "APIFRAME v2"
GENERATE_PATH = "/v2/videos/generate"
JOBS_PATH = "/v2/jobs/{job_id}"
ME_PATH = "/v2/me"  # "the authenticated caller info": proves the key, starts nothing
SIGNATURE_HEADER = "x-webhook-signature"
WEBHOOK_EVENTS = ("progress", "completed", "failed")
POLL_CONCURRENCY = 5

#: Our model name -> theirs.
MODELS = {
    "kling-v2-1": "kling-2.1",
    "kling-v2-1-master": "kling-2.1-master",
    "kling-v2-5-turbo": "kling-2.5-turbo-pro",
    "kling-v2-6": "kling-2.6",
    "kling-v3": "kling-3.0",
}
V3_DURATIONS = frozenset(range(3, 16))  # kling-3.0's `duration`: an integer from 3 to 15
#: The modes each model is offered in. Only `kling-2.1` has a `mode` field (standard|pro);
#: a master has none and is offered as the default, std; the turbo and 2.6 as pro (their
#: prices are pro prices), as AI/ML API offers the same models.
_MODES = {
    "kling-v2-1": ("std", "pro"),
    "kling-v2-1-master": ("std",),
    "kling-v2-5-turbo": ("pro",),
    "kling-v2-6": ("pro",),
    "kling-v3": ("std", "pro"),
}
_MODE_MODELS = frozenset({"kling-v2-1", "kling-v3"})  # the models with a `mode` field
_MODE_FIELD = {"std": "standard", "pro": "pro"}
#: The `klingParams` fields each model's schema lists (besides `duration`, `start_image`
#: and `negative_prompt`, which all of them take).
_ASPECT_RATIO = frozenset({"kling-v2-1-master", "kling-v2-5-turbo", "kling-v2-6", "kling-v3"})
_AUDIO = frozenset({"kling-v2-6", "kling-v3"})  # `generate_audio`
_GUIDANCE_SCALE = frozenset({"kling-v2-5-turbo"})
_STATES = {
    "QUEUED": JobState.QUEUED,
    "PROCESSING": JobState.RUNNING,
    "COMPLETED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.FAILED,
}


class Apiframe2Provider:
    """APIFRAME v2: text- and image-to-video on Kling 2.1, 2.1 master, 2.5 turbo, 2.6 and 3.0."""

    name = "apiframe2"
    capabilities = Capabilities(
        kinds=frozenset({JobKind.TEXT, JobKind.IMAGE}),
        image_by_url_only=True,  # `start_image` and `end_image` are URIs
        end_frame=True,
        # `end_image`: kling-2.1 (the docs: pro mode), kling-2.5-turbo-pro and kling-3.0.
        end_frames=frozenset(
            {("kling-v2-1", "pro"), ("kling-v2-5-turbo", "pro")}
            | {("kling-v3", "std"), ("kling-v3", "pro")}
        ),
        models=tuple(MODELS),
        combos=frozenset(
            (model, kind, mode)
            for model, modes in _MODES.items()
            for kind in (JobKind.TEXT, JobKind.IMAGE)
            for mode in modes
        ),
        durations=frozenset({5, 10}),
        model_durations={"kling-v3": V3_DURATIONS},
        aspect_ratios=("16:9", "9:16", "1:1"),
        max_prompt_length=4000,
        max_negative_prompt_length=2500,
        callbacks=True,  # `webhookUrl`, signed (`callback_signed`)
        # `generate_audio`
        sound=frozenset({("kling-v2-6", "pro"), ("kling-v3", "std"), ("kling-v3", "pro")}),
    )

    def __init__(
        self, api_key: str, base_url: str, *, timeout: float | httpx.Timeout = 30.0
    ) -> None:
        # The signing secret is the key's SHA-256 digest (the raw 32 bytes, not hex).
        self._signing_key = hashlib.sha256(api_key.encode()).digest()
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"X-API-Key": api_key},
            timeout=http_timeout(timeout),
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
            verify=tls_context(),
        )
        self._limit = asyncio.Semaphore(POLL_CONCURRENCY)

    async def submit(self, request: VideoRequest) -> str:
        answer = await self._call("POST", GENERATE_PATH, create_body(request), creating=True)
        job_id = answer.get("jobId") if isinstance(answer, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise unreadable_answer(LABEL)
        return job_id

    async def poll(self, task_ids: Sequence[str]) -> Mapping[str, TaskUpdate]:
        """One GET per job, a few at a time (failures as `poll_all` says)."""
        return await poll_all(task_ids, self._poll_one, LABEL)

    async def account(self) -> AccountStatus:
        """`GET /v2/me`: the caller's user, team and key. It names no balance we could read."""
        await self._call("GET", ME_PATH)
        return AccountStatus(balance=None, checked=f"GET {ME_PATH}")

    def callback_signed(self, headers: Mapping[str, str], body: bytes) -> bool:
        """`x-webhook-signature: sha256=<hex>` (or bare hex, as their SDK accepts) must be the
        HMAC-SHA256 of exactly `body`, keyed with SHA-256(API key)."""
        given = headers.get(SIGNATURE_HEADER)
        if not given:
            return False
        given = given.strip().removeprefix("sha256=")
        expected = hmac.new(self._signing_key, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(given.lower().encode(), expected.encode())

    def parse_callback(self, body: Any) -> TaskUpdate | None:
        """A webhook event names its job as `jobId` with the job's `status` (their SDK's
        example); progress, error and result are read as on `GET /v2/jobs/{id}` [I]."""
        if not isinstance(body, dict) or not isinstance(body.get("jobId"), str):
            return None
        return _parse_job(body, body["jobId"])

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _poll_one(self, task_id: str) -> TaskUpdate | None:
        async with self._limit:
            answer = await self._call("GET", JOBS_PATH.format(job_id=quote(task_id, safe="")))
        if not isinstance(answer, dict):
            raise unreadable_answer(LABEL, creating=False)
        return _parse_job(answer, task_id)

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, creating: bool = False
    ) -> Any:
        """One request; `creating` marks the submit, the one call that may start a paid job."""
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise transport_error(LABEL, exc, creating=creating) from exc
        if response.status_code >= 400:
            raise status_error(
                LABEL,
                response.status_code,
                _error_message(response),
                headers=response.headers,
                creating=creating,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise unreadable_answer(LABEL, creating=creating) from exc


def create_body(request: VideoRequest) -> dict[str, Any]:
    """`{model, prompt, klingParams, webhookUrl?, webhookEvents?}` with only the fields the
    model's schema lists; an option it does not list is refused here, before any request."""
    if request.kind not in (JobKind.TEXT, JobKind.IMAGE):
        raise InvalidRequest(f"{LABEL} makes text- and image-to-video only")
    model = request.model or Apiframe2Provider.capabilities.default_model
    mode = request.mode or Apiframe2Provider.capabilities.default_mode
    if model not in MODELS or mode not in _MODES[model]:
        raise InvalidRequest(f"{model} in {mode} mode is not offered by {LABEL}")
    params: dict[str, Any] = {}
    if model in _MODE_MODELS:
        params["mode"] = _MODE_FIELD[mode]
    if request.duration is not None:
        takes = Apiframe2Provider.capabilities.offered("durations", model)
        if request.duration not in takes:
            raise InvalidRequest(f"{model} does not make {request.duration} s videos on {LABEL}")
        params["duration"] = request.duration
    if request.kind is JobKind.IMAGE:
        params.update(_images(request))
    if request.kind is JobKind.TEXT and request.aspect_ratio is not None:
        _needs(model, _ASPECT_RATIO, "--ratio")
        params["aspect_ratio"] = request.aspect_ratio
    if request.cfg_scale is not None:
        _needs(model, _GUIDANCE_SCALE, "--cfg")
        params["guidance_scale"] = request.cfg_scale
    if request.negative_prompt is not None:
        params["negative_prompt"] = request.negative_prompt
    if request.sound is not None and model in _AUDIO:
        params["generate_audio"] = request.sound  # `unsupported` refuses `--sound` elsewhere
    elif request.sound:
        raise InvalidRequest(f"{model} makes no sound on {LABEL}", reason=Reason.of("no_sound"))
    body: dict[str, Any] = {"model": MODELS[model], "prompt": request.prompt}
    if params:
        body["klingParams"] = params
    if request.callback_url is not None:
        body["webhookUrl"] = request.callback_url
        body["webhookEvents"] = list(WEBHOOK_EVENTS)
    return body


def _needs(model: str, models: frozenset[str], option: str) -> None:
    """Refuse `option` unless `model` is one of `models` (whose schemas list it)."""
    if model not in models:
        raise InvalidRequest(
            f"{option} is not offered with {model} by {LABEL}",
            reason=Reason.of("option_needs_model", option=option, models=", ".join(sorted(models))),
        )


def _images(request: VideoRequest) -> dict[str, str]:
    """`start_image` (and `end_image`) as links of ours: this API takes URIs only."""
    if request.image is None or request.image.url is None:
        raise InvalidRequest(
            f"{LABEL} needs the image as a public link (set PUBLIC_URL)",
            reason=Reason.of("no_provider_for_images"),
        )
    images = {"start_image": request.image.url}
    if request.end_image is not None:
        if request.end_image.url is None:
            raise InvalidRequest(
                f"{LABEL} needs the end frame as a public link",
                reason=Reason.of("no_provider_for_images"),
            )
        images["end_image"] = request.end_image.url
    return images


def _parse_job(job: dict[str, Any], task_id: str) -> TaskUpdate | None:
    """A job object (`status`, `progress`, `error`, `result.videoUrl`) as an update."""
    status = job.get("status")
    state = _STATES.get(status) if isinstance(status, str) else None
    if state is None:
        log.warning("%s job %s has an unknown status %r; still waiting", LABEL, task_id, status)
        return None
    if state is JobState.SUCCEEDED:
        result = job.get("result")
        url = result.get("videoUrl") if isinstance(result, dict) else None
        if not isinstance(url, str) or not url:
            return TaskUpdate(task_id, JobState.FAILED, error=Reason.of("no_video_sent"))
        return TaskUpdate(task_id, state, progress=100, video_url=url)
    if state is JobState.FAILED:
        error = job.get("error")
        if isinstance(error, str) and error:
            return TaskUpdate(task_id, state, error=error[:500])
        return TaskUpdate(task_id, state, error=Reason.of("no_reason"))
    return TaskUpdate(task_id, state, progress=_progress(job.get("progress")))


def _progress(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(0, min(100, int(value)))


def _error_message(response: httpx.Response) -> str:
    """The `error` of their error envelope, when there is one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error)[:300] if isinstance(error, str) else ""


class Apiframe2Settings(ApiKeySettings):
    """`APIFRAME2_API_KEY` (an `afk_...` key), `APIFRAME2_BASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="APIFRAME2_")

    base_url: HttpUrl = "https://api.apiframe.ai"


SPEC = ProviderSpec(
    "apiframe2", Apiframe2Settings, Apiframe2Provider.capabilities, with_api_key(Apiframe2Provider)
)
