"""A fake AI/ML API (or its 2025 copy Apilaplas), faithful to the published Kling pages.

Implements `/work/shared/provider-docs/aimlapi-kling-v1-pro-*.txt`,
`apilaplas-kling-v1.6-standard-image-to-video.txt` and REFERENCE.md sections 3 and 4:
`Authorization: Bearer <key>`, `POST /v2/generate/video/kling/generation` answering 201
`{"id","status":"queued"}` with ids holding `:` and `/`, polling by
`GET /v2/generate/video/kling/generation?generation_id=<id>`, error bodies
`{"message","path","requestId","statusCode","timestamp"}`, 401 for a bad key, 403 when out of
credits. The `edition` picks the dialect: "aimlapi" takes `duration` as an integer (and the
string its own examples send), "apilaplas" only as a string and documents one model.

Tests drive each generation explicitly (`set_generating`, `finish`, `fail`, `set_status`).
Where the docs are silent the fake takes the strict reading [I]: unknown body fields, image
fields on text-to-video models and `aspect_ratio` on image-to-video models are refused.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Never
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.kling import camera_object_errors
from tests.fakes.media import SAMPLE_MP4
from tests.fakes.provider import ProviderFake
from tests.fakes.recording import Recorded, is_http_url

SAMPLE = SAMPLE_MP4

Edition = Literal["aimlapi", "apilaplas"]
ErrorShape = Literal["name_message", "detail", "string"]

GENERATION_PATH = "/v2/generate/video/kling/generation"
UNIVERSAL_PATH = "/v2/video/generations"  # where the v2.6 pages document their models
BILLING_PATH = "/v2/billing"

AIMLAPI_MODELS = tuple(
    f"kling-video/{version}/{tier}/{kind}-to-video"
    for version, tier, kind in itertools.product(
        ("v1", "v1.5", "v1.6"), ("standard", "pro"), ("text", "image")
    )
)
#: Newer models on the same endpoint (their pages: v2-master, v2.1-master, v2.1 std/pro
#: image-to-video, v2.5-turbo pro); none documents `tail_image_url`.
NEWER_MODELS = (
    "klingai/v2-master-text-to-video",
    "klingai/v2-master-image-to-video",
    "klingai/v2.1-master-text-to-video",
    "klingai/v2.1-master-image-to-video",
    "kling-video/v2.1/standard/image-to-video",
    "kling-video/v2.1/pro/image-to-video",
    "klingai/v2.5-turbo/pro/text-to-video",
    "klingai/v2.5-turbo/pro/image-to-video",
)
#: Documented on the universal endpoint only, with `generate_audio` (default true).
#: Kling 3.0 standard and pro (video-v3-{standard,pro}-{text,image}-to-video.json): 3 to 15 s,
#: `generate_audio`, `cfg_scale`, and on image-to-video `tail_image_url`; also `multi_prompt`
#: (strings) and `shot_type`, which the bot does not send (`elements` is left out: unchecked).
V3_MODELS = tuple(
    f"klingai/video-v3-{tier}-{kind}-to-video"
    for tier, kind in itertools.product(("standard", "pro"), ("text", "image"))
)
V3_DURATIONS = tuple(range(3, 16))
V3_EXTRA = frozenset({"multi_prompt", "shot_type"})
UNIVERSAL_MODELS = (
    "klingai/video-v2-6-pro-text-to-video",
    "klingai/video-v2-6-pro-image-to-video",
    *V3_MODELS,
)
APILAPLAS_MODELS = ("kling-video/v1.6/standard/image-to-video",)
REFS_MODEL = "kling-video/v1.6/standard/multi-image-to-video"
REFS_FIELDS = frozenset(
    {"model", "image_list", "prompt", "aspect_ratio", "duration", "negative_prompt"}
)
EFFECT_MODELS = (
    "klingai/kling-video-v1.6-standard-effects",
    "klingai/kling-video-v1.6-pro-effects",
)
MODELS: dict[Edition, tuple[str, ...]] = {
    "aimlapi": (*AIMLAPI_MODELS, *NEWER_MODELS, *UNIVERSAL_MODELS, *EFFECT_MODELS, REFS_MODEL),
    "apilaplas": APILAPLAS_MODELS,
}
#: The effects models' `effect_scene` enum (v1.6-standard-effects.json), and the scenes whose
#: photo count the spec states.
EFFECT_SCENES = (
    "magic_fireball",
    "pet_moto_rider",
    "media_interview",
    "pet_lion",
    "pet_delivery",
    "pet_chef",
    "santa_gifts",
    "santa_hug",
    "girlfriend",
    "boyfriend",
    "heart_gesture_1",
    "pet_wizard",
    "smoke_smoke",
    "thumbs_up",
    "instant_kid",
    "dollar_rain",
    "cry_cry",
    "building_collapse",
    "gun_shot",
    "mushroom",
    "double_gun",
    "pet_warrior",
    "lightning_power",
    "jesus_hug",
    "shark_alert",
    "long_hair",
    "lie_flat",
    "polar_bear_hug",
    "brown_bear_hug",
    "jazz_jazz",
    "office_escape_plow",
    "fly_fly",
    "watermelon_bomb",
    "pet_dance",
    "boss_coming",
    "wool_curly",
    "iron_warrior",
    "pet_bee",
    "marry_me",
    "swing_swing",
    "day_to_night",
    "piggy_morph",
    "wig_out",
    "car_explosion",
    "ski_ski",
    "tiger_hug",
    "siblings",
    "construction_worker",
    "let's_ride",
    "snatched",
    "magic_broom",
    "felt_felt",
    "jumpdrop",
    "celebration",
    "splashsplash",
    "hula",
    "surfsurf",
    "fairy_wing",
    "angel_wing",
    "dark_wing",
    "skateskate",
    "plushcut",
    "jelly_press",
    "jelly_slice",
    "jelly_squish",
    "jelly_jiggle",
    "pixelpixel",
    "yearbook",
    "instant_film",
    "anime_figure",
    "rocketrocket",
    "bloombloom",
    "dizzydizzy",
    "fuzzyfuzzy",
    "squish",
    "expansion",
    "hug",
    "kiss",
    "heart_gesture",
    "fight",
)
EFFECT_PHOTOS = {"hug": 2, "kiss": 2, "heart_gesture": 2, "squish": 1, "expansion": 1}

STATUSES = ("queued", "generating", "completed", "error")
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
DURATIONS = (5, 10)
COMMON_FIELDS = frozenset({"model", "prompt", "duration", "negative_prompt", "cfg_scale", "ratio"})
T2V_FIELDS = COMMON_FIELDS | {"aspect_ratio"}
I2V_FIELDS = COMMON_FIELDS | {"image_url", "tail_image_url", "static_mask_url", "dynamic_masks"}
IMAGE_FIELDS = ("image_url", "tail_image_url")
#: The models whose pages document camera control: text-to-video takes a named move
#: (`camera_control`, a string) or one axis (`advanced_camera_control`); image-to-video the
#: `camera_control {type, config}` object.
CAMERA_MODELS = frozenset(
    f"kling-video/{version}/{tier}/{kind}-to-video"
    for version, tier in (("v1", "standard"), ("v1", "pro"), ("v1.6", "pro"))
    for kind in ("text", "image")
)
T2V_CAMERA_PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")

_DATA_URI = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.DOTALL)


@dataclass
class FakeTask:
    """A generation; `result()` is what the status endpoint reports for it right now."""

    task_id: str
    request: dict[str, Any]
    status: str = "queued"
    video_url: str | None = None
    error: Any = None
    image_bytes: bytes | None = None
    image_mime: str | None = None
    tail_image_bytes: bytes | None = None
    tail_image_mime: str | None = None
    photos: list[bytes | None] = field(default_factory=list)
    poll_count: int = 0

    @property
    def model(self) -> str:
        return str(self.request["model"])

    def result(self) -> dict[str, Any]:
        """`{"id","status"}` plus `video.url` when completed and `error` when failed."""
        body: dict[str, Any] = {"id": self.task_id, "status": self.status}
        if self.video_url is not None:
            body["video"] = {"url": self.video_url}
        if self.error is not None:
            body["error"] = self.error
        return body


def error_body(status: int, message: str | list[str], path: str) -> dict[str, Any]:
    """The documented error body (NestJS's shape, which the field names give away)."""
    return {
        "message": message,
        "path": path,
        "requestId": str(uuid.uuid4()),
        "statusCode": status,
        "timestamp": datetime.now(UTC).isoformat(),
    }


def is_t2v(model: str) -> bool:
    return model.endswith("text-to-video")


def decode_image(value: str) -> tuple[bytes, str | None] | None:
    """The bytes of a data URI or bare base64 string (with the URI's MIME type), else None."""
    match = _DATA_URI.fullmatch(value)
    mime, data = (match["mime"], match["data"]) if match else (None, value)
    if mime is not None and not mime.startswith("image/"):
        return None
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return (decoded, mime) if decoded else None


def validate_generation(body: dict[str, Any], edition: Edition) -> list[str]:
    """Every documented rule `body` breaks in this edition."""
    errors: list[str] = []
    model = body.get("model")
    if model not in MODELS[edition]:
        return [f"model must be one of {', '.join(MODELS[edition])}"]
    if model in EFFECT_MODELS:
        return _effect_errors(body)
    if model == REFS_MODEL:
        return _refs_errors(body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        errors.append("prompt is required and must be a non-empty string")
    allowed = T2V_FIELDS if is_t2v(model) else I2V_FIELDS
    if model in NEWER_MODELS or model in UNIVERSAL_MODELS:
        allowed = allowed - {"tail_image_url", "static_mask_url", "dynamic_masks", "ratio"}
    if model in UNIVERSAL_MODELS:
        allowed = allowed | {"generate_audio"}
        if not is_t2v(model) and model not in V3_MODELS:
            allowed = allowed - {"cfg_scale"}
    if model in V3_MODELS:
        allowed = allowed | V3_EXTRA | (set() if is_t2v(model) else {"tail_image_url"})
        if body.get("shot_type", "customize") not in ("customize", "intelligent"):
            errors.append("shot_type must be customize or intelligent")
        prompts = body.get("multi_prompt", [])
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            errors.append("multi_prompt must be an array of strings")
        if not isinstance(body.get("generate_audio", True), bool):
            errors.append("generate_audio must be a boolean")
    if edition == "aimlapi" and model in CAMERA_MODELS:
        allowed = allowed | CAMERA_FIELDS[is_t2v(model)]
    errors += [f"property {name} should not exist" for name in sorted(set(body) - allowed)]
    if is_t2v(model):
        ratio = body.get("aspect_ratio", ASPECT_RATIOS[0])
        if ratio not in ASPECT_RATIOS:
            errors.append(f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}")
    else:
        errors += _image_errors(body)
    if "duration" in body and model in V3_MODELS:
        duration = body["duration"]
        if isinstance(duration, bool) or duration not in V3_DURATIONS:
            errors.append("duration must be an integer from 3 to 15")
    elif "duration" in body:
        errors += _duration_errors(body["duration"], edition)
    errors += _camera_errors(body, is_t2v(model))
    if "negative_prompt" in body and not isinstance(body["negative_prompt"], str):
        errors.append("negative_prompt must be a string")
    cfg = body.get("cfg_scale", 0.5)
    if not isinstance(cfg, int | float) or isinstance(cfg, bool) or not 0 <= cfg <= 1:
        errors.append("cfg_scale must be a number not greater than 1")
    return errors


CAMERA_FIELDS = {
    True: frozenset({"camera_control", "advanced_camera_control"}),
    False: frozenset({"camera_control"}),
}


def _camera_errors(body: dict[str, Any], t2v: bool) -> list[str]:
    """The documented camera shapes, where the model has them (else refused as unknown)."""
    errors: list[str] = []
    camera = body.get("camera_control")
    if "camera_control" in body and t2v and camera not in T2V_CAMERA_PRESETS:
        errors.append(f"camera_control must be one of {', '.join(T2V_CAMERA_PRESETS)}")
    elif "camera_control" in body and not t2v:
        errors += camera_object_errors(camera, one_axis=False)
    if "advanced_camera_control" in body:
        advanced = body["advanced_camera_control"]
        value = advanced.get("movement_value") if isinstance(advanced, dict) else None
        if (
            not isinstance(advanced, dict)
            or set(advanced) != {"movement_type", "movement_value"}
            or advanced["movement_type"] not in CAMERA_AXES
            or not isinstance(value, int)
            or isinstance(value, bool)
            or not -10 <= value <= 10
        ):
            errors.append(
                "advanced_camera_control must be {movement_type, movement_value: -10..10}"
            )
    return errors


def _refs_errors(body: dict[str, Any]) -> list[str]:
    """`{model, image_list (2-4 URLs), prompt?, aspect_ratio?, duration?, negative_prompt?}`."""
    errors = [f"property {name} should not exist" for name in sorted(set(body) - REFS_FIELDS)]
    images = body.get("image_list")
    if not isinstance(images, list) or not 2 <= len(images) <= 4:
        errors.append("image_list must hold 2 to 4 image URLs")
    elif not all(is_http_url(url) or _decodes(url) for url in images):
        errors.append("each image_list item must be an image URL")
    if body.get("aspect_ratio", ASPECT_RATIOS[0]) not in ASPECT_RATIOS:
        errors.append(f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}")
    if "duration" in body and body["duration"] not in DURATIONS:
        errors.append("duration must be 5 or 10")
    for name in ("prompt", "negative_prompt"):
        if name in body and not isinstance(body[name], str):
            errors.append(f"{name} must be a string")
    return errors


def _effect_errors(body: dict[str, Any]) -> list[str]:
    """`{model, effect_scene, image_url (one, or an array), duration?}`; no prompt."""
    errors = [
        f"property {name} should not exist"
        for name in sorted(set(body) - {"model", "effect_scene", "image_url", "duration"})
    ]
    scene = body.get("effect_scene")
    if scene not in EFFECT_SCENES:
        errors.append("effect_scene must be one of the documented scenes")
    given = body.get("image_url")
    urls = given if isinstance(given, list) else [given]
    if not all(is_http_url(url) or _decodes(url) for url in urls):
        errors.append("image_url must be a URL (or an array of them)")
    wanted = EFFECT_PHOTOS.get(str(scene))
    if wanted == 2 and not (isinstance(given, list) and len(given) == 2):
        errors.append(f"{scene} needs an array of exactly two image URLs")
    if wanted == 1 and isinstance(given, list) and len(given) != 1:
        errors.append(f"{scene} needs one image URL")
    if "duration" in body and body["duration"] not in DURATIONS:
        errors.append("duration must be 5 or 10")
    return errors


def _image_errors(body: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if "image_url" not in body:
        errors.append("image_url is required for image-to-video models")
    for name in IMAGE_FIELDS:
        value = body.get(name)
        if name in body and not (is_http_url(value) or _decodes(value)):
            errors.append(f"{name} must be a URL or a base64-encoded image")
    if "static_mask_url" in body and not is_http_url(body["static_mask_url"]):
        errors.append("static_mask_url must be a URL")
    return errors


def _decodes(value: object) -> bool:
    return isinstance(value, str) and decode_image(value) is not None


def _duration_errors(duration: object, edition: Edition) -> list[str]:
    if edition == "apilaplas":
        ok = isinstance(duration, str) and duration in {str(d) for d in DURATIONS}
        return [] if ok else ['duration must be a string: "5" or "10"']
    # AI/ML documents an integer, but its own examples send "5": the string passes too.
    if isinstance(duration, bool):
        return ["duration must be 5 or 10"]
    ok = duration in DURATIONS or (isinstance(duration, str) and duration in ("5", "10"))
    return [] if ok else ["duration must be 5 or 10"]


class FakeAimlapi(ProviderFake[FakeTask, Never]):
    """AI/ML API's (or Apilaplas's) Kling endpoints plus result-video hosting, on one server."""

    def __init__(
        self,
        api_key: str = "aimlapi-test-key",
        *,
        edition: Edition = "aimlapi",
        forbidden: Sequence[str] = (),
    ) -> None:
        super().__init__(forbidden)
        self.api_key = api_key
        self.edition: Edition = edition
        self.credits = 1000  # 0: creating a generation answers 403
        self.id_key = "id"  # "generation_id": the create answer some clients see [C]
        self.next_ids: list[str] = []  # ids to hand out before generated ones
        self.in_flight = 0  # authorised API requests being answered (or stalled) right now
        self.peak_in_flight = 0
        self._routes: dict[tuple[str, str], Callable[[Recorded], Awaitable[Response]]] = {
            ("POST", GENERATION_PATH): self._create,
            ("GET", GENERATION_PATH): self._status,
        }
        if edition == "aimlapi":  # Apilaplas documents neither these models nor billing
            self._routes["POST", UNIVERSAL_PATH] = self._create
            self._routes["GET", BILLING_PATH] = self._billing

    # test-facing controls

    async def set_generating(self, task_id: str) -> None:
        await self.set_status(task_id, "generating")

    async def set_status(self, task_id: str, status: str) -> None:
        """Any status, documented or not, with no video or error attached."""
        task = self.tasks[task_id]
        task.status, task.video_url, task.error = status, None, None
        await self.notify()

    async def finish(
        self, task_id: str, video: bytes = SAMPLE, *, video_url: str | None = None
    ) -> str:
        """Mark the generation completed; unless `video_url` is given the video is hosted here."""
        task = self.tasks[task_id]
        video_url = self._host(f"{uuid.uuid4().hex}.mp4", video, video_url)
        task.status, task.video_url, task.error = "completed", video_url, None
        await self.notify()
        return video_url

    async def fail(
        self,
        task_id: str,
        error: str = "Video generation failed",
        *,
        shape: ErrorShape = "name_message",
    ) -> None:
        """Mark the generation failed, with `error` in one of the three shapes seen in the wild."""
        task = self.tasks[task_id]
        if shape == "name_message":
            task.error = {"name": "GenerationError", "message": error}
        elif shape == "detail":
            task.error = {
                "detail": [{"loc": ["body", "prompt"], "msg": error, "type": "value_error"}]
            }
        else:
            task.error = error
        task.status, task.video_url = "error", None
        await self.notify()

    # internals: request pipeline

    async def _handle(self, request: Request) -> Response:
        """Record, then leak check, routing, auth, injected faults, stalls, and the endpoint."""
        rec, leaked = await self._intake(request)
        if leaked:
            return self._error(400, "forbidden content", rec)
        handler = self._routes.get((rec.method, rec.path))
        if handler is not None:
            if rec.headers.get("authorization") != f"Bearer {self.api_key}":
                return self._error(401, "Unauthorized", rec)
            fault_body = functools.partial(self._fault_body, path=rec.path)
            fault = self.take_fault(rec.path, fault_body)
            if fault is not None:
                return fault
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            await self.notify()
            try:
                await self._stall_point(rec.path)
                return self.after_handling(rec.path, await handler(rec), fault_body)
            finally:
                self.in_flight -= 1
        hosted = self._media(rec, functools.partial(self._fault_body, path=rec.path))
        if hosted is not None:
            return hosted
        return self._error(404, f"Cannot {rec.method} {rec.path}", rec)

    @staticmethod
    def _fault_body(status: int, *, path: str) -> dict[str, Any]:
        """The documented error body for an injected status."""
        messages = {400: "Bad Request", 401: "Unauthorized", 403: "Insufficient credits"}
        messages |= {404: "Not Found", 429: "Too Many Requests"}
        return error_body(status, messages.get(status, "Internal server error"), path)

    @staticmethod
    def _error(status: int, message: str | list[str], rec: Recorded) -> JSONResponse:
        return JSONResponse(error_body(status, message, rec.path), status_code=status)

    # endpoints

    async def _create(self, rec: Recorded) -> Response:
        body = rec.json
        if "application/json" not in rec.headers.get("content-type", "") or not isinstance(
            body, dict
        ):
            return self._error(400, "the body must be a JSON object", rec)
        problems = validate_generation(body, self.edition)
        universal = body.get("model") in UNIVERSAL_MODELS
        if (rec.path == UNIVERSAL_PATH) != universal:  # each model where its page puts it
            problems.append(f"model {body.get('model')} is not served at {rec.path}")
        if problems:
            return self._error(400, "; ".join(problems), rec)
        if self.credits <= 0:
            return self._error(403, "Insufficient credits. Top up your balance.", rec)
        task = FakeTask(task_id=self._new_id(), request=body)
        if isinstance(body.get("image_url"), list):  # an effect's two people
            task.photos = [_decoded(url)[0] for url in body["image_url"]]
        elif isinstance(body.get("image_list"), list):  # reference photos
            task.photos = [_decoded(url)[0] for url in body["image_list"]]
        elif "image_url" in body:
            task.image_bytes, task.image_mime = _decoded(body["image_url"])
        if "tail_image_url" in body:
            task.tail_image_bytes, task.tail_image_mime = _decoded(body["tail_image_url"])
        self.tasks[task.task_id] = task
        await self.notify()
        status = 200 if rec.path == UNIVERSAL_PATH else 201  # as each endpoint documents
        return JSONResponse({self.id_key: task.task_id, "status": task.status}, status_code=status)

    async def _status(self, rec: Recorded) -> Response:
        ids = parse_qs(rec.query, keep_blank_values=True).get("generation_id", [])
        if len(ids) != 1 or not ids[0]:
            return self._error(400, "generation_id is required", rec)
        task = self.tasks.get(ids[0])
        if task is None:
            return self._error(404, "Generation not found", rec)
        task.poll_count += 1
        return JSONResponse(task.result())

    async def _billing(self, rec: Recorded) -> Response:
        """The published balance shape (`billing.aimlapi.com/v1/billing/balance`)."""
        return JSONResponse(
            {
                "balance": self.credits,
                "lowBalance": self.credits < 10,
                "lowBalanceThreshold": 10,
                "lastUpdated": datetime.now(UTC).isoformat(),
                "autoDebitStatus": "disabled",
                "status": "current",
                "statusExplanation": "Balance is current and up to date",
            }
        )

    def _new_id(self) -> str:
        if self.next_ids:
            return self.next_ids.pop(0)
        return f"kling:{uuid.uuid4().hex[:12]}/{len(self.tasks) + 1}"


def _decoded(value: str) -> tuple[bytes | None, str | None]:
    """(bytes, MIME) for base64 input, (None, None) for a URL."""
    if is_http_url(value):
        return None, None
    decoded = decode_image(value)
    return decoded if decoded is not None else (None, None)
