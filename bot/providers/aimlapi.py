"""AI/ML API and its 2025 copy Apilaplas (`POST /v2/generate/video/kling/generation`), as
documented in shared/provider-docs.

Quirks honoured here: `Authorization: Bearer <key>`, any 2xx on create (201 documented) with the
id in `id` or `generation_id`, one `GET ?generation_id=<id>` per task (ids hold `:` and `/`, so
they are URL-encoded), `error` as a string, `{"name","message"}` or `{"detail":[{"msg"}]}`, error
bodies `{"message",...}`, 403 for "out of credits", no callbacks. Apilaplas differs only in
sending `duration` as a string and documenting a single image-to-video model.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
from pydantic_settings import SettingsConfigDict

from bot.camera import camera_move
from bot.effects import EFFECTS
from bot.i18n import Reason
from bot.jobs import JobKind, JobState
from bot.providers.base import (
    AccountStatus,
    CameraOffer,
    Capabilities,
    ContentPolicy,
    InputImage,
    InvalidRequest,
    NoCredits,
    ProviderError,
    TaskUpdate,
    VideoRequest,
    effect_of,
    http_timeout,
    status_error,
    transport_error,
    unreadable_answer,
)
from bot.providers.spec import ApiKeySettings, HttpUrl, ProviderSpec, with_api_key
from bot.tls import tls_context

log = logging.getLogger(__name__)

GENERATION_PATH = "/v2/generate/video/kling/generation"  # create (POST) and poll (GET)
# The universal endpoint, where the v2.6 pages document their models; answers have the same
# shape, and generations made there are polled like the rest (REFERENCE.md section 3).
UNIVERSAL_PATH = "/v2/video/generations"
BILLING_PATH = "/v2/billing"  # AI/ML API's balance [I]

# The docs say `image_url` takes "a Base64-encoded local image" without showing one. A data URI
# names its MIME type, so the server need not sniff PNG from JPEG, and it is the form their
# OpenAI-style endpoints take for images; "raw" (bare base64) is the fallback if the real
# service ever refuses it. [I]
IMAGE_ENCODING: Literal["data_uri", "raw"] = "data_uri"

POLL_CONCURRENCY = 5  # parallel status requests per provider instance
_PROBE_ID = "kling-bot-credentials-check"  # Apilaplas's account check asks about this id

_STATES = {
    "queued": JobState.QUEUED,
    "generating": JobState.RUNNING,
    "completed": JobState.SUCCEEDED,
    "error": JobState.FAILED,
}
_VERSIONS = {"kling-v1": "v1", "kling-v1-5": "v1.5", "kling-v1-6": "v1.6"}  # ours -> theirs
#: Newer models, each in the kinds and modes its page documents (of the v2 ones, none takes
#: `tail_image_url`). A master has no mode: it is offered as the default, std.
_NEWER: dict[tuple[str, JobKind, str], str] = {
    ("kling-v2-master", JobKind.TEXT, "std"): "klingai/v2-master-text-to-video",
    ("kling-v2-master", JobKind.IMAGE, "std"): "klingai/v2-master-image-to-video",
    ("kling-v2-1-master", JobKind.TEXT, "std"): "klingai/v2.1-master-text-to-video",
    ("kling-v2-1-master", JobKind.IMAGE, "std"): "klingai/v2.1-master-image-to-video",
    ("kling-v2-1", JobKind.IMAGE, "std"): "kling-video/v2.1/standard/image-to-video",
    ("kling-v2-1", JobKind.IMAGE, "pro"): "kling-video/v2.1/pro/image-to-video",
    ("kling-v2-5-turbo", JobKind.TEXT, "pro"): "klingai/v2.5-turbo/pro/text-to-video",
    ("kling-v2-5-turbo", JobKind.IMAGE, "pro"): "klingai/v2.5-turbo/pro/image-to-video",
    ("kling-v2-6", JobKind.TEXT, "pro"): "klingai/video-v2-6-pro-text-to-video",
    ("kling-v2-6", JobKind.IMAGE, "pro"): "klingai/video-v2-6-pro-image-to-video",
    ("kling-v3", JobKind.TEXT, "std"): "klingai/video-v3-standard-text-to-video",
    ("kling-v3", JobKind.TEXT, "pro"): "klingai/video-v3-pro-text-to-video",
    ("kling-v3", JobKind.IMAGE, "std"): "klingai/video-v3-standard-image-to-video",
    ("kling-v3", JobKind.IMAGE, "pro"): "klingai/video-v3-pro-image-to-video",
}
#: Kling 3.0 (`video-v3-{standard,pro}-…`): 3 to 15 s, `generate_audio` (default true),
#: `cfg_scale`, and on image-to-video `tail_image_url`. Their `multi_prompt`, `shot_type` and
#: `elements` are not offered (the bot has no option for shots or elements).
_V3 = frozenset(model for (ours, _, _), model in _NEWER.items() if ours == "kling-v3")
V3_DURATIONS = frozenset(range(3, 16))
#: Models documented on `UNIVERSAL_PATH` only; `generate_audio` is theirs.
_UNIVERSAL = frozenset(
    {"klingai/video-v2-6-pro-text-to-video", "klingai/video-v2-6-pro-image-to-video"} | _V3
)
_COMBOS = frozenset(
    {
        (model, kind, mode)
        for model in _VERSIONS
        for kind in (JobKind.TEXT, JobKind.IMAGE)
        for mode in ("std", "pro")
    }
    | set(_NEWER)
)
_TIERS = {"std": "standard", "pro": "pro"}
_KINDS = {JobKind.TEXT: "text-to-video", JobKind.IMAGE: "image-to-video"}
REFS_MODEL = "kling-video/v1.6/standard/multi-image-to-video"
_POLICY_WORDS = ("moderation", "policy", "safety", "nsfw", "inappropriate")  # in a 400 message


def provider_model(model: str, kind: JobKind, mode: str) -> str:
    """Their model id for our model name, kind and mode, e.g. `kling-video/v1.6/pro/text-to-video`.

    Raises `InvalidRequest` for a model or mode the pattern does not cover.
    """
    newer = _NEWER.get((model, kind, mode))
    if newer is not None:
        return newer
    version, tier = _VERSIONS.get(model), _TIERS.get(mode)
    if version is None or tier is None:
        raise InvalidRequest(f"the model {model} in {mode} mode is not offered here")
    return f"kling-video/{version}/{tier}/{_KINDS[kind]}"


class AimlapiProvider:
    """AI/ML API: text- and image-to-video on Kling 1.0, 1.5 and 1.6, standard or pro."""

    name = "aimlapi"
    label = "AI/ML API"
    capabilities = Capabilities(
        kinds=frozenset({JobKind.TEXT, JobKind.IMAGE, JobKind.EFFECT, JobKind.REFS}),
        effect_names=EFFECTS,  # `klingai/kling-video-v1.6-{standard,pro}-effects`
        refs=frozenset({("kling-v1-6", "std")}),  # `kling-video/v1.6/standard/multi-image-…`
        image_by_url_only=False,  # `image_url` also takes base64
        end_frame=True,  # `tail_image_url`
        models=(
            "kling-v1-6",
            "kling-v1-5",
            "kling-v1",
            "kling-v2-master",
            "kling-v2-1",
            "kling-v2-1-master",
            "kling-v2-5-turbo",
            "kling-v2-6",
            "kling-v3",
        ),
        combos=_COMBOS,
        # `generate_audio` (default true)
        sound=frozenset({("kling-v2-6", "pro"), ("kling-v3", "std"), ("kling-v3", "pro")}),
        # `tail_image_url`: the v1.x pages and v3 image-to-video.
        end_frames=frozenset(
            (model, mode) for model in (*_VERSIONS, "kling-v3") for mode in ("std", "pro")
        ),
        modes=frozenset({"std", "pro"}),
        durations=frozenset({5, 10}),
        model_durations={"kling-v3": V3_DURATIONS},
        aspect_ratios=("16:9", "9:16", "1:1"),
        # Text: `camera_control` (a named move) or `advanced_camera_control` (one axis);
        # image: `camera_control {type, config}`; on v1 std/pro and v1.6 pro only.
        camera=CameraOffer(
            kinds=frozenset({JobKind.TEXT, JobKind.IMAGE}),
            one_axis=frozenset({JobKind.TEXT}),
            models=frozenset({("kling-v1", "std"), ("kling-v1", "pro"), ("kling-v1-6", "pro")}),
        ),
    )
    duration_as_string = False  # the docs' schema says integer (their examples send "5")

    def __init__(
        self, api_key: str, base_url: str, *, timeout: float | httpx.Timeout = 30.0
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=http_timeout(timeout),
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
            verify=tls_context(),
        )
        self._poll_slots = asyncio.Semaphore(POLL_CONCURRENCY)

    async def submit(self, request: VideoRequest) -> str:
        body = self._create_body(request)
        path = UNIVERSAL_PATH if body["model"] in _UNIVERSAL else GENERATION_PATH
        answer = await self._call("POST", path, json=body)
        task_id = _generation_id(answer)
        if task_id is None:
            raise unreadable_answer(self.label)
        return task_id

    async def poll(self, task_ids: Sequence[str]) -> Mapping[str, TaskUpdate]:
        """One GET per id, at most `POLL_CONCURRENCY` at a time. Ids whose poll failed are left
        out, unless every one failed the same way: then that error is raised, so an expired
        key or an outage is reported once instead of being a silent gap."""
        ids = list(dict.fromkeys(task_ids))
        results = await asyncio.gather(*(self._poll_guarded(task_id) for task_id in ids))
        errors = [r for r in results if isinstance(r, ProviderError)]
        if ids and len(errors) == len(ids) and len({type(e) for e in errors}) == 1:
            raise errors[0]
        return {r.task_id: r for r in results if isinstance(r, TaskUpdate)}

    async def account(self) -> AccountStatus:
        answer = await self._call("GET", BILLING_PATH)
        balance = answer.get("balance") if isinstance(answer, dict) else None
        number = float(balance) if balance is not None and _is_number(balance) else None
        shown = f"{balance} credits" if number is not None else None
        return AccountStatus(balance=shown, checked=f"GET {BILLING_PATH}", credits=number)

    def parse_callback(self, body: Any) -> TaskUpdate | None:
        """No webhooks: every update comes from `poll`."""
        return None

    async def aclose(self) -> None:
        await self._client.aclose()

    # request bodies

    def _create_body(self, request: VideoRequest) -> dict[str, Any]:
        """The documented fields only: nothing about the chat, the user or the job."""
        if request.kind is JobKind.EFFECT:
            return _effect_body(request)
        if request.kind is JobKind.REFS:
            return self._refs_body(request)
        body: dict[str, Any] = {"model": self._model_id(request), "prompt": request.prompt}
        if request.kind is JobKind.IMAGE:
            if request.image is None:
                raise InvalidRequest("image-to-video needs an image")
            body["image_url"] = _image_ref(request.image)
            if request.end_image is not None:
                body["tail_image_url"] = _image_ref(request.end_image)
        elif request.aspect_ratio:
            body["aspect_ratio"] = request.aspect_ratio
        if request.duration is not None:
            duration = request.duration
            body["duration"] = str(duration) if self.duration_as_string else duration
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        if request.cfg_scale is not None:
            if body["model"] == "klingai/video-v2-6-pro-image-to-video":  # not in its spec
                raise InvalidRequest(f"{self.label} takes no cfg scale with this model")
            body["cfg_scale"] = request.cfg_scale
        if request.sound is not None and body["model"] in _UNIVERSAL:
            body["generate_audio"] = request.sound
        if request.camera is not None:
            body.update(_camera_fields(request.kind, request.camera))
        return body

    def _refs_body(self, request: VideoRequest) -> dict[str, Any]:
        """`kling-video/v1.6/standard/multi-image-to-video`: `image_list` (2-4), and the
        prompt, aspect ratio, duration and negative prompt it documents."""
        images = request.images
        if not 2 <= len(images) <= 4:
            raise InvalidRequest("a video from references needs 2 to 4 photos")
        body: dict[str, Any] = {
            "model": REFS_MODEL,
            "image_list": [_image_ref(image) for image in images],
        }
        optional = {
            "prompt": request.prompt or None,
            "aspect_ratio": request.aspect_ratio,
            "duration": request.duration,
            "negative_prompt": request.negative_prompt or None,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body

    def _model_id(self, request: VideoRequest) -> str:
        caps = self.capabilities
        model = request.model or caps.models[0]
        mode = request.mode or "std"
        if request.kind not in caps.kinds or model not in caps.models or mode not in caps.modes:
            raise InvalidRequest(f"{self.label} does not offer {model} ({mode}) for this")
        return provider_model(model, request.kind, mode)

    # polling

    async def _poll_guarded(self, task_id: str) -> TaskUpdate | ProviderError | None:
        async with self._poll_slots:
            try:
                answer = await self._call("GET", GENERATION_PATH, params={"generation_id": task_id})
            except ProviderError as exc:
                log.warning("%s: polling %s failed: %s", self.label, task_id, exc.message)
                return exc
        return self._parse_generation(task_id, answer)

    def _parse_generation(self, task_id: str, answer: Any) -> TaskUpdate | None:
        status = answer.get("status") if isinstance(answer, dict) else None
        state = _STATES.get(str(status).lower()) if isinstance(status, str) else None
        if state is None:
            log.warning(
                "%s task %s has an unknown status %r; still waiting", self.label, task_id, status
            )
            return None
        if state is JobState.SUCCEEDED:
            video = answer.get("video")
            url = video.get("url") if isinstance(video, dict) else None
            if not isinstance(url, str) or not url:
                return TaskUpdate(task_id, JobState.FAILED, error=Reason.of("no_video_sent"))
            return TaskUpdate(task_id, state, progress=100, video_url=url)
        if state is JobState.FAILED:
            return TaskUpdate(task_id, state, error=_failure_reason(answer.get("error")))
        return TaskUpdate(task_id, state)

    # transport

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; every failure becomes a `ProviderError`. Only a POST creates a job, so
        only a POST's ambiguous answers (see `HTTP_STATUS`) are flagged `maybe_accepted`."""
        creating = method == "POST"
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(self.label, exc, creating=creating) from exc
        if response.status_code >= 400:
            raise _error(self.label, response, creating=creating)
        try:
            return response.json()
        except ValueError as exc:
            raise unreadable_answer(self.label, creating=creating) from exc


class ApilaplasProvider(AimlapiProvider):
    """Apilaplas, the early-2025 copy of AI/ML API: `duration` is a string, and its docs show only
    `kling-video/v1.6/standard/image-to-video`, so that is all it declares."""

    name = "apilaplas"
    label = "Apilaplas"
    capabilities = Capabilities(
        kinds=frozenset({JobKind.IMAGE}),
        image_by_url_only=False,
        end_frame=True,  # `tail_image_url`, per REFERENCE.md section 4
        models=("kling-v1-6",),
        modes=frozenset({"std"}),
        durations=frozenset({5, 10}),
    )
    duration_as_string = True

    async def account(self) -> AccountStatus:
        """No billing endpoint is documented, so ask the documented status endpoint about an id
        that cannot exist: a bad key is refused (401) before the id is looked up, so any
        "not found" answer proves the key works."""
        check = f"GET {GENERATION_PATH}?generation_id={_PROBE_ID} (key accepted)"
        with contextlib.suppress(InvalidRequest):  # 400 or 404 about the probe id: authenticated
            await self._call("GET", GENERATION_PATH, params={"generation_id": _PROBE_ID})
        return AccountStatus(balance=None, checked=check)


def _image_ref(image: InputImage) -> str:
    """The bytes as base64 when we have them (the provider needs no route to us); else the URL."""
    if image.data:
        encoded = base64.b64encode(image.data).decode("ascii")
        return (
            f"data:{image.mime_type};base64,{encoded}" if IMAGE_ENCODING == "data_uri" else encoded
        )
    if image.url:
        return image.url
    raise InvalidRequest("the image is empty")


def _effect_body(request: VideoRequest) -> dict[str, Any]:
    """An effects model's body: the scene, and `image_url` as one photo or two people (left
    first); no prompt (the model takes none)."""
    scene, images = effect_of(request)
    tier = _TIERS.get(request.mode or "std", "standard")
    refs = [_image_ref(image) for image in images]
    return {
        "model": f"klingai/kling-video-v1.6-{tier}-effects",
        "effect_scene": scene,
        "image_url": refs[0] if len(refs) == 1 else refs,
    }


def _camera_fields(kind: JobKind, camera: str) -> dict[str, Any]:
    """Text-to-video: a named move as the string `camera_control`, an axis as
    `advanced_camera_control {movement_type, movement_value}`; image-to-video: the object
    `camera_control {type, config}`."""
    move = camera_move(camera)
    if kind is JobKind.IMAGE:
        if move.preset is not None:
            return {"camera_control": {"type": move.preset}}
        return {"camera_control": {"type": "simple", "config": move.config}}
    if move.preset is not None:
        return {"camera_control": move.preset}
    if len(move.axes) != 1:
        raise InvalidRequest("AI/ML API moves the camera along one axis at a time")
    axis, value = move.axes[0]
    return {"advanced_camera_control": {"movement_type": axis, "movement_value": value}}


def _generation_id(answer: Any) -> str | None:
    if not isinstance(answer, dict):
        return None
    for key in ("id", "generation_id"):
        value = answer.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _failure_reason(error: Any) -> str | Reason:
    """`error` as a string, `{"name","message"}` or `{"detail":[{"msg",...}]}`."""
    if isinstance(error, str) and error.strip():
        return error.strip()
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip()
        detail = error.get("detail")
        if isinstance(detail, str) and detail.strip():
            return detail.strip()
        if isinstance(detail, list):
            msgs = [str(d["msg"]) for d in detail if isinstance(d, dict) and d.get("msg")]
            if msgs:
                return "; ".join(msgs)
        name = error.get("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
    return Reason.of("no_reason")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _error(label: str, response: httpx.Response, *, creating: bool) -> ProviderError:
    """`bot.providers.base.HTTP_STATUS`, plus what AI/ML documents: 403 is "out of credits",
    and a 400 about moderation is a content refusal."""
    message = _error_message(response)
    status = response.status_code
    if status == 400 and any(word in message.lower() for word in _POLICY_WORDS):
        return ContentPolicy(message)
    if status == 403:  # AI/ML API's "out of credits" (it never sends 402)
        return NoCredits(message or f"{label} account has no credits left")
    return status_error(label, status, message, headers=response.headers, creating=creating)


def _error_message(response: httpx.Response) -> str:
    """`message` from `{"message","path","requestId","statusCode","timestamp"}`; a list of
    messages (a validation failure) is joined."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, list):
        return "; ".join(str(m) for m in message if m)
    return message.strip() if isinstance(message, str) else ""


class AimlapiSettings(ApiKeySettings):
    """`AIMLAPI_API_KEY`, `AIMLAPI_BASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="AIMLAPI_")

    base_url: HttpUrl = "https://api.aimlapi.com"


SPEC = ProviderSpec(
    "aimlapi", AimlapiSettings, AimlapiProvider.capabilities, with_api_key(AimlapiProvider)
)
