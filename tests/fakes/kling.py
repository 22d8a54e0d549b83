"""A fake Kling official API, or (`flavour="makevid"`) makevid's copy of it.

Implements REFERENCE.md sections 5 and 2 and `makevid-kling-image2video.txt`. Kling: a JWT
(HS256, signed with the secret key; `iss` the access key, `exp` ahead, `nbf` behind) as
`Authorization: Bearer <jwt>`, `POST /v1/videos/{text2video|image2video}`, queries at
`GET /v1/videos/{kind}/{id}` (the id is Kling's `task_id` or the `external_task_id` given at
creation, as Kling's "Query Task (Single)" page says), `GET /account/costs`, callbacks (the
`data` object, POSTed to `callback_url` on every status change). makevid: `Authorization:
Bearer <key>` (the fake's `access_key` plays the key), `POST /api/v1/kling/{kind}/create_kling`,
queries at a path template (default `/api/v1/kling/{kind}/get_kling/{task_id}` [I]), no
callbacks, no account, no `external_task_id`.
Both answer in Kling's envelope `{"code","message","request_id","data"}`, with Kling's HTTP
status and error codes.

Tests drive each task's life explicitly (`set_processing`, `finish`, `fail`). Where the docs
are silent the fake takes the strict reading [I]: a `data:` image prefix, `aspect_ratio` or
`image_tail` on text2video, and an integer `duration` are refused; a second task with the same
`external_task_id` is a 400 with code 1201; an unknown path is a plain 404 page, not an envelope;
makevid's 401 carries no envelope.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from tests.fakes.media import SAMPLE_MP4
from tests.fakes.provider import (
    ProviderFake,
    RequestField,
    aspect_ratio_errors,
    image_fields,
)
from tests.fakes.recording import Recorded, is_http_url, shared_tls

SAMPLE = SAMPLE_MP4

Flavour = Literal["kling", "makevid"]

KINDS = ("text2video", "image2video")
EFFECTS_KIND = "effects"  # Kling only: `POST /v1/videos/effects`, `GET /v1/videos/effects/{id}`
EXTEND_KIND = "video-extend"  # Kling only: `POST /v1/videos/video-extend {video_id, ...}`
EXTEND_FIELDS = frozenset(
    {"video_id", "prompt", "negative_prompt", "cfg_scale", "callback_url", "external_task_id"}
)
#: The legacy effect scenes relays list [I], by the input shape they take (KLING-SURFACE 2).
SINGLE_SCENES = ("bloombloom", "dizzydizzy", "fuzzyfuzzy", "squish", "expansion")
DUAL_SCENES = ("hug", "kiss", "heart_gesture", "fight")
STATUSES = ("submitted", "processing", "succeed", "failed")
MODELS = (
    "kling-v1",
    "kling-v1-5",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
    "kling-v2-6",
)
MODES = ("std", "pro")
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
DURATIONS = ("5", "10")
MAX_PROMPT = 2500
MAX_NEGATIVE = {"kling": 2500, "makevid": 200}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
CAMERA_TYPES = ("simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}

KLING_CREATE = "/v1/videos/{kind}"
KLING_QUERY = "/v1/videos/{kind}/{task_id}"
MAKEVID_CREATE = "/api/v1/kling/{kind}/create_kling"
MAKEVID_POLL = "/api/v1/kling/{kind}/get_kling/{task_id}"
ACCOUNT_PATH = "/account/costs"

# Kling's error codes, with the HTTP status each comes with and its published message.
CODES: dict[int, tuple[int, str]] = {
    1000: (401, "Authentication failed"),
    1001: (401, "Authorization is empty"),
    1002: (401, "Authorization is invalid"),
    1003: (401, "Authorization is not yet valid"),
    1004: (401, "Authorization has expired"),
    1102: (429, "Account balance is insufficient: resource pack depleted or expired"),
    1200: (400, "Invalid request parameters"),
    1201: (400, "Invalid parameters"),
    1203: (404, "Requested resource does not exist"),
    1300: (400, "Trigger the platform strategy"),
    1301: (400, "Trigger the content security policy of the platform"),
    1302: (429, "The API request is too fast, exceeding the platform's rate limit"),
    1303: (429, "Concurrency or QPS exceeds the prepaid resource package limit"),
    5000: (500, "Server internal error"),
    5001: (503, "Server temporarily unavailable, usually due to maintenance"),
    5002: (504, "Server internal timeout, usually due to a backlog"),
}
_STATUS_CODES = {400: 1200, 401: 1000, 404: 1203, 429: 1302, 500: 5000, 503: 5001, 504: 5002}


def envelope(data: Any, *, code: int = 0, message: str = "SUCCEED") -> dict[str, Any]:
    """Kling's answer wrapper; error answers carry no `data`."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": str(uuid.uuid4())}
    if data is not None:
        body["data"] = data
    return body


def error_response(code: int, message: str | None = None) -> JSONResponse:
    """An error envelope with the HTTP status Kling pairs with `code`."""
    status, default = CODES[code]
    return JSONResponse(envelope(None, code=code, message=message or default), status_code=status)


def default_error_body(status: int) -> dict[str, Any]:
    """The envelope for a fault injected with `body=None`: the status's usual code."""
    code = _STATUS_CODES.get(status, 5000)
    return envelope(None, code=code, message=CODES[code][1])


def decode_image(value: str) -> tuple[bytes, str] | None:
    """(bytes, MIME) of raw base64 holding a PNG or JPEG; None for anything else."""
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    mime = next((m for magic, m in IMAGE_MAGIC.items() if data.startswith(magic)), None)
    return (data, mime) if mime is not None else None


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class FakeTask:
    """A video task; `data()` is what a query and a callback report for it right now."""

    task_id: str
    kind: str
    request: dict[str, Any]
    status: str = "submitted"
    status_msg: str = ""
    video_url: str | None = None
    image_bytes: bytes | None = None
    image_tail_bytes: bytes | None = None
    photos: list[bytes | None] = field(default_factory=list)
    query_count: int = 0
    created_at: int = field(default_factory=now_ms)
    updated_at: int = field(default_factory=now_ms)

    external_task_id = RequestField("external_task_id")
    callback_url = RequestField("callback_url")

    def data(self) -> dict[str, Any]:
        """The official query shape: `task_status_msg` on failure, `task_result` on success."""
        body: dict[str, Any] = {"task_id": self.task_id, "task_status": self.status}
        if self.status == "failed":
            body["task_status_msg"] = self.status_msg
        if self.external_task_id is not None:
            body["task_info"] = {"external_task_id": self.external_task_id}
        body |= {"created_at": self.created_at, "updated_at": self.updated_at}
        if self.status == "succeed":
            video = {"id": f"v-{self.task_id}", "url": self.video_url, "duration": self.duration}
            body["task_result"] = {"videos": [video]}
        return body

    @property
    def duration(self) -> str:
        return str(self.request.get("duration", "5"))


@dataclass(frozen=True)
class CallbackDelivery:
    """One attempt to POST a task's data to its `callback_url`; `error` is set if it never got
    an HTTP answer, `status` otherwise."""

    task_id: str
    url: str
    payload: dict[str, Any]
    status: int | None
    error: str | None
    at: float


def validate_effect(body: dict[str, Any]) -> list[str]:
    """`{effect_scene, input, callback_url?, external_task_id?}`, with `input` in one of the
    two documented legacy shapes: one photo `{model_name kling-v1-6, image, duration "5"}`, or
    two people `{model_name kling-v1|-v1-5|-v1-6, mode?, images [left, right], duration?}`."""
    extra = set(body) - {"effect_scene", "input", "callback_url", "external_task_id"}
    if extra:
        return [f"unknown field(s): {', '.join(sorted(extra))}"]
    scene, given = body.get("effect_scene"), body.get("input")
    if not isinstance(given, dict):
        return ["input must be an object"]
    errors = _kling_errors({k: v for k, v in body.items() if k != "input"})
    if scene in SINGLE_SCENES:
        if set(given) - {"model_name", "image", "duration"} or "image" not in given:
            errors.append(f"{scene} takes input {{model_name, image, duration}}")
        if given.get("model_name") != "kling-v1-6" or given.get("duration", "5") != "5":
            errors.append(f"{scene} needs model_name kling-v1-6 and duration 5")
        images: list[Any] = [given.get("image")]
    elif scene in DUAL_SCENES:
        if set(given) - {"model_name", "mode", "images", "duration"} or "images" not in given:
            errors.append(f"{scene} takes input {{model_name, mode, images, duration}}")
        models = ("kling-v1-6",) if scene == "fight" else ("kling-v1", "kling-v1-5", "kling-v1-6")
        if given.get("model_name", "kling-v1") not in models:
            errors.append(f"{scene} needs model_name among {', '.join(models)}")
        if given.get("mode", "std") not in MODES or given.get("duration", "5") not in DURATIONS:
            errors.append("mode must be std or pro, duration 5 or 10")
        pair = given.get("images")
        images = pair if isinstance(pair, list) else []
        if len(images) != 2:
            errors.append(f"{scene} takes exactly two images")
    else:
        return ["effect_scene is not a known effect"]
    for image in images:
        if not isinstance(image, str) or not (is_http_url(image) or decode_image(image)):
            errors.append("each image must be a URL or a base64-encoded JPEG or PNG")
    return errors


def validate_extend(body: dict[str, Any]) -> list[str]:
    """`{video_id, prompt?, negative_prompt?, cfg_scale 0-1?, callback_url?}`: the model and
    mode come from the source video and cannot be chosen."""
    extra = set(body) - EXTEND_FIELDS
    if extra:
        return [f"unknown field(s): {', '.join(sorted(extra))}"]
    errors = _kling_errors(body)
    if not isinstance(body.get("video_id"), str) or not body["video_id"]:
        errors.append("video_id is required")
    cfg = body.get("cfg_scale", 0.5)
    if not isinstance(cfg, int | float) or isinstance(cfg, bool) or not 0 <= cfg <= 1:
        errors.append("cfg_scale must be a number between 0 and 1")
    return errors


def validate_create(body: dict[str, Any], kind: str, flavour: Flavour) -> list[str]:
    """Every documented rule `body` breaks; unknown fields are ignored."""
    if kind == EFFECTS_KIND:
        return validate_effect(body)
    if kind == EXTEND_KIND:
        return validate_extend(body)
    errors = _prompt_errors(body, kind, flavour)
    errors += _image_errors(body, kind)
    errors += aspect_ratio_errors(body, kind, ASPECT_RATIOS)
    if "duration" in body and body["duration"] not in DURATIONS:
        errors.append('duration must be the string "5" or "10"')
    if "mode" in body and body["mode"] not in MODES:
        errors.append("mode must be std or pro")
    cfg = body.get("cfg_scale", 0.5)
    if not isinstance(cfg, int | float) or isinstance(cfg, bool) or not 0 <= cfg <= 1:
        errors.append("cfg_scale must be a number between 0 and 1")
    if flavour == "kling":
        errors += _kling_errors(body)
    if "camera_control" in body:
        errors += camera_control_errors(body, kind, flavour)
    return errors


def camera_control_errors(body: dict[str, Any], kind: str, flavour: Flavour) -> list[str]:
    """`camera_control {type, config{six axes, -10..10}}`; `config` only with `simple`.
    Kling: on both endpoints, `simple` moving exactly one axis [I]. makevid: text2video only,
    "when mode is std and duration is 5s"."""
    camera = body["camera_control"]
    if flavour == "makevid":
        if kind != "text2video":
            return ["camera_control is not a field of image2video"]
        if body.get("mode", "std") != "std" or body.get("duration", "5") != "5":
            return ["camera_control is only applicable in std mode for 5s"]
    return camera_object_errors(camera, one_axis=flavour == "kling")


def camera_object_errors(camera: Any, *, one_axis: bool) -> list[str]:
    """The `{type, config}` object both Kling and AI/ML image-to-video document."""
    if not isinstance(camera, dict) or set(camera) - {"type", "config"}:
        return ["camera_control must be an object with type and config"]
    kind = camera.get("type")
    if kind not in CAMERA_TYPES:
        return [f"camera_control.type must be one of {', '.join(CAMERA_TYPES)}"]
    config = camera.get("config")
    if kind != "simple":
        return [] if config is None else ["camera_control.config is only used with simple"]
    if not isinstance(config, dict) or set(config) - set(CAMERA_AXES):
        return ["camera_control.config must hold the six axes"]
    values = list(config.values())
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and -10 <= v <= 10 for v in values
    ):
        return ["camera_control.config axes must be numbers from -10 to 10"]
    moving = [v for v in values if v != 0]
    if one_axis and len(moving) != 1:
        return ["camera_control.config: exactly one axis may be non-zero"]
    return []


def _prompt_errors(body: dict[str, Any], kind: str, flavour: Flavour) -> list[str]:
    errors: list[str] = []
    prompt = body.get("prompt")
    if kind == "text2video" and (not isinstance(prompt, str) or not prompt.strip()):
        errors.append("prompt is required for text2video")
    elif prompt is not None and (not isinstance(prompt, str) or len(prompt) > MAX_PROMPT):
        errors.append(f"prompt must be a string of at most {MAX_PROMPT} characters")
    negative, limit = body.get("negative_prompt"), MAX_NEGATIVE[flavour]
    if negative is not None and (not isinstance(negative, str) or len(negative) > limit):
        errors.append(f"negative_prompt must be a string of at most {limit} characters")
    return errors


def _image_errors(body: dict[str, Any], kind: str) -> list[str]:
    errors, given = image_fields(body, kind, ("image", "image_tail"))
    for name in given:
        value = body[name]
        if not isinstance(value, str):
            errors.append(f"{name} must be a string")
        elif value.startswith("data:"):
            errors.append(f"{name}: send the base64 without a data: prefix")
        elif not is_http_url(value) and decode_image(value) is None:
            errors.append(f"{name} must be a URL or a base64-encoded JPEG or PNG")
        elif len(value) * 3 // 4 > MAX_IMAGE_BYTES:
            errors.append(f"{name} must not exceed 10MB")
    return errors


def _kling_errors(body: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if "model_name" in body and body["model_name"] not in MODELS:
        errors.append(f"model_name must be one of {', '.join(MODELS)}")
    if "callback_url" in body and not is_http_url(body["callback_url"]):
        errors.append("callback_url must be a URL")
    if "sound" in body:  # documented on kling-v2-6, in the docs' example with mode pro [I]
        if body["sound"] not in ("on", "off"):
            errors.append('sound must be "on" or "off"')
        elif body.get("model_name") != "kling-v2-6" or body.get("mode") != "pro":
            errors.append("sound is only supported by kling-v2-6 in pro mode")
    external = body.get("external_task_id")
    if external is not None and (not isinstance(external, str) or not external):
        errors.append("external_task_id must be a non-empty string")
    return errors


def _template(path: str) -> re.Pattern[str]:
    """A path template (`{kind}`, `{task_id}`) as a regex with named groups."""
    pattern = re.escape(path)
    pattern = pattern.replace(r"\{kind\}", "(?P<kind>[^/]+)")
    pattern = pattern.replace(r"\{task_id\}", "(?P<task_id>[^/]+)")
    return re.compile(pattern)


Handler = Callable[[Recorded, dict[str, str]], Awaitable[Response]]


class FakeKling(ProviderFake[FakeTask, CallbackDelivery]):
    """Kling's (or makevid's) video endpoints plus result-video hosting, on one local server."""

    delivery_kind = "callback delivery"
    wait_for_callback = ProviderFake.wait_for_delivery

    def __init__(
        self,
        access_key: str = "kling-ak-test",
        secret_key: str = "kling-sk-test",  # noqa: S107 - a test credential
        *,
        flavour: Flavour = "kling",
        poll_path: str = MAKEVID_POLL,
        forbidden: Sequence[str] = (),
    ) -> None:
        super().__init__(forbidden)
        self.access_key = access_key
        self.secret_key = secret_key
        self.flavour: Flavour = flavour
        self.deliver_callbacks = True
        self.no_credits = False  # True: creating a task answers 429 / 1102
        self.clock: Callable[[], float] = time.time  # what "now" is when checking a JWT
        self.resource_packs: list[dict[str, Any]] = [
            {
                "resource_pack_name": "Video Generation - 100 units",
                "resource_pack_id": "pack-1",
                "resource_pack_type": "decreasing_total",
                "total_quantity": 100.0,
                "remaining_quantity": 42.5,
                "purchase_time": 1726124664368,
                "effective_time": 1726124664368,
                "invalid_time": 1727366400000,
                "status": "online",
            }
        ]
        self._routes = self._route_table(poll_path)

    def _route_table(self, poll_path: str) -> list[tuple[str, re.Pattern[str], Handler]]:
        if self.flavour == "kling":
            return [
                ("POST", _template(KLING_CREATE), self._create),
                ("GET", _template(KLING_QUERY), self._query),
                ("GET", _template(ACCOUNT_PATH), self._account),
            ]
        return [
            ("POST", _template(MAKEVID_CREATE), self._create),
            ("GET", _template(poll_path), self._query),
        ]

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10.0, verify=shared_tls())

    # test-facing controls

    def token(self, **claims: Any) -> str:
        """A JWT as Kling expects it, signed with the secret key; `claims` override the defaults."""
        now = int(self.clock())
        payload = {"iss": self.access_key, "exp": now + 1800, "nbf": now - 5, **claims}
        return jwt.encode(payload, self.secret_key, algorithm="HS256")

    def auth_header(self) -> dict[str, str]:
        """A valid `Authorization` header for this flavour."""
        secret = self.token() if self.flavour == "kling" else self.access_key
        return {"Authorization": f"Bearer {secret}"}

    @property
    def callback_deliveries(self) -> list[CallbackDelivery]:
        """Every attempt to POST a task's data to its callback URL, in order."""
        return self.deliveries

    async def set_processing(self, task_id: str) -> None:
        await self._change(self.tasks[task_id], "processing")

    async def finish(
        self, task_id: str, video: bytes = SAMPLE, *, video_url: str | None = None
    ) -> str:
        """Mark the task succeeded; unless `video_url` is given the video is hosted here."""
        task = self.tasks[task_id]
        task.video_url = video_url = self._host(f"{task_id}.mp4", video, video_url)
        await self._change(task, "succeed")
        return video_url

    async def fail(self, task_id: str, message: str = "Video generation failed") -> None:
        task = self.tasks[task_id]
        task.status_msg = message
        await self._change(task, "failed")

    # internals: request pipeline

    async def _handle(self, request: Request) -> Response:
        """Record, then leak check, routing, auth, injected faults, stalls, and the endpoint."""
        rec, leaked = await self._intake(request)
        if leaked:
            return error_response(1201, "forbidden content")
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(rec.path)
            if method == rec.method and match is not None:
                return await self._authorised(rec, handler, match.groupdict())
        hosted = self._media(rec, default_error_body)
        if hosted is not None:
            return hosted
        return PlainTextResponse("404 page not found", status_code=404)

    async def _authorised(
        self, rec: Recorded, handler: Handler, params: dict[str, str]
    ) -> Response:
        denied = self._auth_error(rec.headers.get("authorization", ""))
        if denied is not None:
            return denied
        fault = self.take_fault(rec.path, default_error_body)
        if fault is not None:
            return fault
        await self._stall_point(rec.path)
        return self.after_handling(rec.path, await handler(rec, params), default_error_body)

    def _auth_error(self, header: str) -> Response | None:
        scheme, _, credential = header.partition(" ")
        if self.flavour == "makevid":
            if scheme == "Bearer" and credential == self.access_key:
                return None
            return JSONResponse({"message": "Invalid API key"}, status_code=401)  # [I]
        if scheme != "Bearer" or not credential:
            return error_response(1001)
        code = self._jwt_error(credential)
        return None if code is None else error_response(code)

    def _jwt_error(self, token: str) -> int | None:
        """The auth code a token earns (None: valid). Times are checked against `self.clock`."""
        try:
            claims = jwt.decode(
                token,
                self.secret_key,
                algorithms=["HS256"],
                options={
                    "require": ["iss", "exp", "nbf"],
                    "verify_exp": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError:
            return 1002
        now = self.clock()
        if claims["iss"] != self.access_key:
            return 1000
        if claims["nbf"] > now:
            return 1003
        if claims["exp"] <= now:
            return 1004
        return None

    # endpoints

    async def _create(self, rec: Recorded, params: dict[str, str]) -> Response:
        kind, body = params["kind"], rec.json
        kling_only = (EFFECTS_KIND, EXTEND_KIND)
        if kind not in KINDS and not (kind in kling_only and self.flavour == "kling"):
            return PlainTextResponse("404 page not found", status_code=404)
        if "application/json" not in rec.headers.get("content-type", "") or not isinstance(
            body, dict
        ):
            return error_response(1200, "the body must be a JSON object")
        problems = validate_create(body, kind, self.flavour)
        if problems:
            return error_response(1201, "; ".join(problems))
        external = body.get("external_task_id") if self.flavour == "kling" else None
        if external is not None and any(
            t.external_task_id == external for t in self.tasks.values()
        ):
            return error_response(1201, f"external_task_id {external} already exists")  # [I]
        if kind == EXTEND_KIND and not any(
            t.status == "succeed" and f"v-{t.task_id}" == body["video_id"]
            for t in self.tasks.values()
        ):
            return error_response(1203, "video not found")  # [I]: assets go after 30 days
        if self.no_credits:
            return error_response(1102)
        task = self._new_task(kind, body)
        await self.notify()
        data: dict[str, Any] = {"task_id": task.task_id, "task_status": task.status}
        if self.flavour == "kling" and external is not None:
            data["task_info"] = {"external_task_id": external}
        data |= {"created_at": task.created_at, "updated_at": task.updated_at}
        return JSONResponse(envelope(data))

    async def _query(self, rec: Recorded, params: dict[str, str]) -> Response:
        """One task, by Kling's `task_id` or (Kling only) the `external_task_id` we gave it."""
        task = self.tasks.get(params["task_id"])
        if task is None and self.flavour == "kling":
            task = next(
                (t for t in self.tasks.values() if t.external_task_id == params["task_id"]), None
            )
        if task is None or task.kind != params.get("kind", task.kind):
            return error_response(1203, "task not found")
        task.query_count += 1
        return JSONResponse(envelope(task.data()))

    async def _account(self, rec: Recorded, params: dict[str, str]) -> Response:
        """Resource packs; `start_time` and `end_time` (ms) are required query parameters."""
        query = dict(pair.partition("=")[::2] for pair in rec.query.split("&") if pair)
        if not all(query.get(name, "").isdigit() for name in ("start_time", "end_time")):
            return error_response(1201, "start_time and end_time are required")
        data = {"code": 0, "msg": "success", "resource_pack_subscribe_infos": self.resource_packs}
        return JSONResponse(envelope(data))

    # internals: task life

    def _new_task(self, kind: str, body: dict[str, Any]) -> FakeTask:
        task = FakeTask(task_id=f"Cm{uuid.uuid4().hex[:20]}", kind=kind, request=body)
        given = body.get("input") if kind == EFFECTS_KIND else None
        if isinstance(given, dict):  # an effect's photos: one `image`, or two `images`
            pair = given.get("images")
            photos: list[Any] = pair if isinstance(pair, list) else [given.get("image")]
            task.photos = [_decoded(p) for p in photos if isinstance(p, str)]
        if isinstance(body.get("image"), str) and not is_http_url(body["image"]):
            task.image_bytes = _decoded(body["image"])
        if isinstance(body.get("image_tail"), str) and not is_http_url(body["image_tail"]):
            task.image_tail_bytes = _decoded(body["image_tail"])
        self.tasks[task.task_id] = task
        return task

    async def _change(self, task: FakeTask, status: str) -> None:
        task.status, task.updated_at = status, now_ms()
        await self.notify()
        await self._deliver(task)

    async def _deliver(self, task: FakeTask) -> None:
        """POST the task's data to its callback URL, once: retries are undocumented."""
        url = task.callback_url
        if self.flavour != "kling" or not self.deliver_callbacks or url is None:
            return
        payload = task.data()
        status, error = await self._post_json(url, payload)
        await self._delivered(
            CallbackDelivery(task.task_id, url, payload, status, error, time.monotonic())
        )


def _decoded(value: str) -> bytes | None:
    decoded = decode_image(value)
    return decoded[0] if decoded is not None else None
