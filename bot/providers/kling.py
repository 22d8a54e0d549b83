"""Kling's official API (`POST /v1/videos/text2video|image2video`), as documented in
shared/provider-docs (REFERENCE.md section 5).

Quirks honoured here: a short-lived HS256 JWT signed with the secret key instead of an API key,
every answer wrapped in the envelope `{"code": 0, "message", "request_id", "data": {...}}` (a
non-zero `code` is an error even under HTTP 200), errors told apart by HTTP status *and* `code`,
`duration` as a string, input images as URLs or raw base64 without a `data:` prefix.

Task ids. Kling queries a task at `/v1/videos/{text2video|image2video}/{id}`, and its id alone
does not say which, so `submit` returns `"<kind>:<Kling's id>"` (e.g. `"image2video:CmC9rG..."`)
and `poll` splits it back. That string is what the bot stores and what every `TaskUpdate`
carries, callbacks included. A callback body has no kind field (only `task_id`,
`task_status`, `task_info.external_task_id`, ...), so the provider remembers the kind of every
task it has submitted or polled in this process; a callback for a task it does not know yet
(right after a restart, before the first poll) is ignored and the next poll reports the same
news. Polling stays the source of truth; callbacks only make updates faster.

Every task is created with `external_task_id` `"job-<our job id>"`, which Kling keeps unique
per account and accepts in place of its own id in the query path ("Query Task (Single)"), so
a task whose create answer was lost (a 500, a timeout, a crash) is found again: `find_task`.

The envelope, task-id, body, state and error helpers are module-level and public because
`makevid` (a reseller that speaks the same envelope) imports them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from pydantic_settings import SettingsConfigDict

from bot.camera import camera_move
from bot.effects import EFFECTS as EFFECT_SCENES
from bot.i18n import Reason
from bot.jobs import JobKind, JobState
from bot.providers.base import (
    AccountStatus,
    AuthFailed,
    CameraOffer,
    Capabilities,
    ContentPolicy,
    InputImage,
    InvalidRequest,
    NoCredits,
    ProviderError,
    TaskUpdate,
    Unavailable,
    VideoRequest,
    effect_of,
    http_timeout,
    poll_all,
    status_error,
    transport_error,
    unreadable_answer,
)
from bot.providers.spec import Common, Credential, HttpUrl, ProviderSettings, ProviderSpec, reveal
from bot.tls import tls_context

log = logging.getLogger(__name__)

TEXT2VIDEO, IMAGE2VIDEO, EFFECTS = "text2video", "image2video", "effects"
VIDEO_EXTEND = "video-extend"  # `POST /v1/videos/video-extend`, `GET .../video-extend/{id}`
KINDS = (TEXT2VIDEO, IMAGE2VIDEO, EFFECTS, VIDEO_EXTEND)
_PATHS = {JobKind.IMAGE: IMAGE2VIDEO, JobKind.EFFECT: EFFECTS, JobKind.EXTEND: VIDEO_EXTEND}
#: The model and mode of effect tasks: the one model both documented input shapes take
#: (single-photo scenes need kling-v1-6 [I]; two-person scenes kling-v1, -v1-5 or -v1-6 [C]).
EFFECT_MODEL, EFFECT_DURATION = "kling-v1-6", "5"

STATES = {
    "submitted": JobState.QUEUED,
    "processing": JobState.RUNNING,
    "succeed": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
}

# Kling's documented codes. 1000-1004 and 1302/1303 are in REFERENCE.md; the rest of each
# family follows Kling's error-code table (1100 account exception, 1101 arrears, 1103 no access
# to the resource, 1304 IP whitelist).
_CODE_ERRORS: dict[int, type[ProviderError]] = {
    **dict.fromkeys((1000, 1001, 1002, 1003, 1004, 1100, 1103, 1304), AuthFailed),
    **dict.fromkeys((1101, 1102), NoCredits),
    **dict.fromkeys((1200, 1201, 1202, 1203), InvalidRequest),
    **dict.fromkeys((1300, 1301), ContentPolicy),
}  # rate limits (1302, 1303) and outages (5000-5002): `_CODE_STATUS` and the shared table
_NOT_FOUND_CODE = 1203

POLL_CONCURRENCY = 5  # Kling queries one task per call; this many calls at once per provider
_TOKEN_TTL = 1800  # seconds, as Kling's sample code signs them
_TOKEN_RENEW_MARGIN = 300  # a fresh token once less than this remains
_NBF_SKEW = 5  # seconds of clock skew Kling's sample code allows for
_ACCOUNT_WINDOW_MS = 365 * 24 * 3600 * 1000  # resource packs bought within the last year
_REMEMBERED_KINDS = 10_000  # tasks whose kind parse_callback can recover

Clock = Callable[[], float]


class TaskNotFound(InvalidRequest):
    """The envelope said the task does not exist (HTTP 404 or code 1203).

    A subclass so `makevid`'s credential check can tell "no such task" (the key worked) from a
    404 page that means the endpoint itself does not exist.
    """


class KlingJwt(httpx.Auth):
    """Signs each request with a cached JWT, regenerated when less than 5 minutes remain."""

    def __init__(self, access_key: str, secret_key: str, clock: Clock = time.time) -> None:
        import jwt  # PyJWT is loaded only once Kling is a provider

        self._encode = jwt.encode
        self._access_key = access_key
        self._secret_key = secret_key
        self._clock = clock
        self._token = ""
        self._expires = 0

    def token(self) -> str:
        now = int(self._clock())
        if self._expires - now < _TOKEN_RENEW_MARGIN:
            self._expires = now + _TOKEN_TTL
            claims = {"iss": self._access_key, "exp": self._expires, "nbf": now - _NBF_SKEW}
            self._token = self._encode(claims, self._secret_key, algorithm="HS256")
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        yield request


class KlingProvider:
    name = "kling"
    capabilities = Capabilities(
        kinds=frozenset({JobKind.TEXT, JobKind.IMAGE, JobKind.EFFECT, JobKind.EXTEND}),
        end_frame=True,
        extends=True,  # `POST /v1/videos/video-extend {video_id}`: 4-5 s more, up to 3 min
        effect_names=EFFECT_SCENES,  # `POST /v1/videos/effects`
        models=(
            "kling-v1-6",
            "kling-v1",
            "kling-v1-5",
            "kling-v2-master",
            "kling-v2-1",
            "kling-v2-1-master",
            "kling-v2-5-turbo",
            "kling-v2-6",
        ),
        callbacks=True,
        # `image_tail`: as before for the older models; of the newer ones, the docs list
        # kling-v2-1 in pro mode only, and no end frame for kling-v2-6.
        end_frames=frozenset(
            {
                (model, mode)
                for model in (
                    "kling-v1",
                    "kling-v1-5",
                    "kling-v1-6",
                    "kling-v2-master",
                    "kling-v2-1-master",
                    "kling-v2-5-turbo",
                )
                for mode in ("std", "pro")
            }
            | {("kling-v2-1", "pro")}
        ),
        # `sound: "on"|"off"` on kling-v2-6, documented with `mode: "pro"` (audio is pro-only [I]).
        sound=frozenset({("kling-v2-6", "pro")}),
        # `camera_control` on both endpoints; its `simple` config moves one axis [I].
        camera=CameraOffer(
            kinds=frozenset({JobKind.TEXT, JobKind.IMAGE}),
            one_axis=frozenset({JobKind.TEXT, JobKind.IMAGE}),
        ),
    )
    label = "Kling"

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        base_url: str,
        *,
        timeout: float | httpx.Timeout = 30.0,
        clock: Clock = time.time,
    ) -> None:
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=KlingJwt(access_key, secret_key, clock),
            timeout=http_timeout(timeout),
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
            verify=tls_context(),
        )
        self._limit = asyncio.Semaphore(POLL_CONCURRENCY)
        self._kinds: dict[str, str] = {}  # Kling's task id -> kind, for parse_callback

    async def submit(self, request: VideoRequest) -> str:
        kind = kind_of(request)
        if kind == VIDEO_EXTEND:
            first: dict[str, Any] = {"video_id": await self._video_id(request)}
        else:
            first = effect_body(request) if kind == EFFECTS else create_body(request)
        body = {
            **first,
            # Kling refuses a second task with this id (idempotent), and finds a task by it.
            "external_task_id": external_task_id(request.job_id),
        }
        if kind in (TEXT2VIDEO, IMAGE2VIDEO):  # an extension keeps its source's model
            body["model_name"] = request.model or self.capabilities.models[0]
        mode = request.mode or self.capabilities.default_mode
        if request.sound is not None and (body.get("model_name"), mode) in self.capabilities.sound:
            body["sound"] = "on" if request.sound else "off"
        if request.callback_url:
            # No signature is documented: the secret lives in the callback URL's path.
            body["callback_url"] = request.callback_url
        data = await call(
            self._client, self.label, "POST", f"/v1/videos/{kind}", body=body, creating=True
        )
        task_id = created_task_id(data, self.label)
        self._remember(kind, task_id)
        return join_task_id(kind, task_id)

    async def poll(self, task_ids: Sequence[str]) -> Mapping[str, TaskUpdate]:
        return await poll_each(task_ids, self._query, self._limit, self.label)

    async def find_task(self, job_id: int, kind: JobKind) -> TaskUpdate | None:
        """The task made for our job, queried by the `external_task_id` we gave it (Kling's
        query path takes either id); None when Kling has no such task."""
        path_kind = _PATHS.get(kind, TEXT2VIDEO)
        path = f"/v1/videos/{path_kind}/{quote(external_task_id(job_id), safe='')}"
        try:
            async with self._limit:
                data = await call(self._client, self.label, "GET", path)
        except TaskNotFound:
            return None
        task_id = created_task_id(data, self.label)
        self._remember(path_kind, task_id)
        ours = join_task_id(path_kind, task_id)
        return task_update(data, ours, self.label) or TaskUpdate(ours, JobState.QUEUED)

    async def account(self) -> AccountStatus:
        end = int(self._clock() * 1000)
        params = {"start_time": end - _ACCOUNT_WINDOW_MS, "end_time": end}
        data = await call(self._client, self.label, "GET", "/account/costs", params=params)
        numbers = _remaining_units(data)
        shown = (
            f"{sum(numbers):g} units left in {len(numbers)} resource pack(s)" if numbers else None
        )
        credits = float(sum(numbers)) if numbers else None
        return AccountStatus(balance=shown, checked="GET /account/costs", credits=credits)

    def parse_callback(self, body: Any) -> TaskUpdate | None:
        """The callback body is the query's `data` object; its kind comes from memory."""
        task_id = body.get("task_id") if isinstance(body, dict) else None
        if not isinstance(task_id, str) or not task_id:
            log.warning("Kling sent a callback without a task id")
            return None
        kind = self._kinds.get(task_id)
        if kind is None:
            log.info(
                "Kling callback for task %s, unknown here yet: the next poll reports it", task_id
            )
            return None
        return task_update(body, join_task_id(kind, task_id), self.label)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _video_id(self, request: VideoRequest) -> str:
        """The id of the video the source task made (`task_result.videos[0].id`), which is
        what `video-extend` takes: asked of Kling, since only the task id is kept."""
        source = split_task_id(request.extend_of or "")
        if source is None:
            raise InvalidRequest("there is no video of ours to extend")
        async with self._limit:
            data = await self._query(*source)
        result = data.get("task_result")
        videos = result.get("videos") if isinstance(result, dict) else None
        video = videos[0] if isinstance(videos, list) and videos else None
        video_id = video.get("id") if isinstance(video, dict) else None
        if not isinstance(video_id, str) or not video_id:
            raise InvalidRequest("Kling no longer has that video (it keeps them 30 days)")
        return video_id

    async def _query(self, kind: str, task_id: str) -> dict[str, Any]:
        self._remember(kind, task_id)
        path = f"/v1/videos/{kind}/{quote(task_id, safe='')}"
        return await call(self._client, self.label, "GET", path)

    def _remember(self, kind: str, task_id: str) -> None:
        self._kinds.pop(task_id, None)  # re-insert: dict order doubles as least recently seen
        self._kinds[task_id] = kind
        if len(self._kinds) > _REMEMBERED_KINDS:
            del self._kinds[next(iter(self._kinds))]


# task ids


def external_task_id(job_id: int) -> str:
    """Our id for a job's task at Kling (`external_task_id`), unique per account."""
    return f"job-{job_id}"


def kind_of(request: VideoRequest) -> str:
    """The path segment Kling (and makevid) use for this kind of job."""
    return _PATHS.get(request.kind, TEXT2VIDEO)


def join_task_id(kind: str, task_id: str) -> str:
    """Our task id: the provider's own, prefixed with the kind its query path needs."""
    return f"{kind}:{task_id}"


def split_task_id(task_id: str) -> tuple[str, str] | None:
    """`(kind, provider's id)` from `join_task_id`'s form; None for anything else."""
    kind, sep, own_id = task_id.partition(":")
    if not sep or kind not in KINDS or not own_id:
        return None
    return kind, own_id


# requests


def create_body(request: VideoRequest) -> dict[str, Any]:
    """The create fields Kling and makevid share; unset options are left out."""
    body: dict[str, Any] = {}
    if request.prompt:  # required for text2video, optional for image2video
        body["prompt"] = request.prompt
    if request.kind is JobKind.IMAGE:
        if request.image is None:
            raise InvalidRequest("image-to-video needs an image")
        body["image"] = image_value(request.image)
        if request.end_image is not None:
            body["image_tail"] = image_value(request.end_image)
    elif request.aspect_ratio:
        body["aspect_ratio"] = request.aspect_ratio
    optional = {
        "negative_prompt": request.negative_prompt,
        "cfg_scale": request.cfg_scale,
        "mode": request.mode,
        "duration": None if request.duration is None else str(request.duration),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if request.camera is not None:
        body["camera_control"] = camera_control(request.camera)
    return body


def effect_body(request: VideoRequest) -> dict[str, Any]:
    """`POST /v1/videos/effects`: the scene and its `input` in the documented legacy shapes,
    one photo as `image` (duration "5" only), two people as `images` [left, right]."""
    scene, images = effect_of(request)
    effect_input: dict[str, Any] = {"model_name": EFFECT_MODEL}
    if len(images) == 1:
        effect_input["image"] = image_value(images[0])
    else:
        effect_input |= {"mode": "std", "images": [image_value(image) for image in images]}
    effect_input["duration"] = EFFECT_DURATION
    return {"effect_scene": scene, "input": effect_input}


def camera_control(camera: str) -> dict[str, Any]:
    """Kling's `camera_control`: a named move alone, or `simple` with all six axes."""
    move = camera_move(camera)
    if move.preset is not None:
        return {"type": move.preset}
    return {"type": "simple", "config": move.config}


def image_value(image: InputImage) -> str:
    """The bot's own URL when it serves one, else raw base64: a `data:` prefix is refused."""
    return image.url or base64.b64encode(image.data).decode("ascii")


async def call(
    client: httpx.AsyncClient,
    label: str,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    creating: bool = False,
) -> dict[str, Any]:
    """One request; the envelope's `data`, or the matching `ProviderError`.

    `creating` marks a call that may start a paid job, so a 5xx or an unreadable answer
    raises with `maybe_accepted` (as does, for any call, a transport error after sending).
    """
    try:
        response = await client.request(method, path, json=body, params=params)
    except httpx.HTTPError as exc:
        raise transport_error(label, exc) from exc
    return envelope_data(response, label, creating=creating)


# answers


def envelope_data(
    response: httpx.Response, label: str, *, creating: bool = False
) -> dict[str, Any]:
    """The `data` object of a successful envelope; raises the mapped `ProviderError` otherwise."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    envelope = answer if _is_envelope(answer) else None
    if response.is_error or envelope is None or envelope["code"] != 0:
        raise error_for(response, envelope, label, creating=creating)
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise unreadable_answer(label, creating=creating)
    return data


def created_task_id(data: dict[str, Any], label: str) -> str:
    task_id = data.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise unreadable_answer(label)
    return task_id


def task_update(data: Any, task_id: str, label: str) -> TaskUpdate | None:
    """A query's `data` (or a callback body) as an update for our `task_id`; None if unreadable."""
    if not isinstance(data, dict):
        log.warning("%s sent a task that is not an object", label)
        return None
    status = str(data.get("task_status", "")).lower()
    state = STATES.get(status)
    if state is None:
        log.warning("%s task %s has an unknown status %r; still waiting", label, task_id, status)
        return None
    if state is JobState.SUCCEEDED:
        url = _video_url(data)
        if url is None:
            return TaskUpdate(task_id, JobState.FAILED, error=Reason.of("no_video_sent"))
        return TaskUpdate(task_id, state, progress=100, video_url=url)
    if state is JobState.FAILED:
        reason = data.get("task_status_msg")
        return TaskUpdate(task_id, state, error=str(reason) if reason else Reason.of("no_reason"))
    return TaskUpdate(task_id, state)


async def poll_each(
    task_ids: Sequence[str],
    query: Callable[[str, str], Awaitable[dict[str, Any]]],
    limit: asyncio.Semaphore,
    label: str,
) -> dict[str, TaskUpdate]:
    """Query each task, `limit` at a time (failures as `poll_all` says)."""

    async def one(task_id: str) -> TaskUpdate | None:
        parsed = split_task_id(task_id)
        if parsed is None:
            log.warning("%s cannot poll %r: not a task id this provider returned", label, task_id)
            return None
        async with limit:
            return task_update(await query(*parsed), task_id, label)

    return await poll_all(task_ids, one, label)


def error_for(
    response: httpx.Response, envelope: dict[str, Any] | None, label: str, *, creating: bool
) -> ProviderError:
    """Kling's `code` where it says more than the status (which it does for "no credits",
    429/1102), else `bot.providers.base.HTTP_STATUS`, the same table as every provider's."""
    status = response.status_code
    code = envelope["code"] if envelope is not None else None
    message = str(envelope.get("message") or "") if envelope is not None else ""
    if envelope is not None and (status == 404 or code == _NOT_FOUND_CODE):
        return TaskNotFound(f"{label}: task not found")
    kind = _CODE_ERRORS.get(code) if code is not None else None
    if code in _CODE_STATUS:  # rate limits and outages: the status Kling pairs with the code
        status = _CODE_STATUS[code]
    elif kind is not None:
        return kind(message or _DEFAULT_MESSAGES.get(kind, "{} refused the request").format(label))
    elif status < 400:  # a success we cannot read, or a refusal with a code we do not know
        if envelope is None:
            return unreadable_answer(label, creating=creating)
        return Unavailable(f"{label} failed (code {code})")
    elif status == 404:  # a 404 page, not Kling's: a wrong path
        request = response.request
        return InvalidRequest(f"{label} has no endpoint {request.method} {request.url.path}")
    return status_error(label, status, message, headers=response.headers, creating=creating)


_DEFAULT_MESSAGES: dict[type[ProviderError], str] = {
    AuthFailed: "{} rejected the credentials",
    NoCredits: "{} account has no credits left",
    ContentPolicy: "{} refused the content",
}
# The HTTP status Kling pairs with each rate-limit and server-error code: the code decides even
# when it comes under another status (HTTP 200 included), and the shared table says the rest.
_CODE_STATUS = {1302: 429, 1303: 429, 5000: 500, 5001: 503, 5002: 504}


def _is_envelope(answer: Any) -> bool:
    code = answer.get("code") if isinstance(answer, dict) else None
    return isinstance(code, int) and not isinstance(code, bool)


def _video_url(data: dict[str, Any]) -> str | None:
    result = data.get("task_result")
    videos = result.get("videos") if isinstance(result, dict) else None
    first = videos[0] if isinstance(videos, list) and videos else None
    url = first.get("url") if isinstance(first, dict) else None
    return url if isinstance(url, str) and url else None


def _remaining_units(data: dict[str, Any]) -> list[float]:
    """What is left in each resource pack in force (`status` "online"), if the answer says."""
    packs = data.get("resource_pack_subscribe_infos")
    if not isinstance(packs, list):
        return []
    online = [p for p in packs if isinstance(p, dict) and p.get("status") == "online"]
    amounts = [p.get("remaining_quantity") for p in online]
    return [a for a in amounts if isinstance(a, int | float) and not isinstance(a, bool)]


class KlingSettings(ProviderSettings):
    """`KLING_ACCESS_KEY`, `KLING_SECRET_KEY`, `KLING_BASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="KLING_")

    access_key: Credential = None
    secret_key: Credential = None
    base_url: HttpUrl = "https://api-singapore.klingai.com"


def _build(settings: KlingSettings, common: Common) -> KlingProvider:
    return KlingProvider(
        reveal(settings.access_key),
        reveal(settings.secret_key),
        settings.base_url,
        timeout=common.timeout,
    )


SPEC = ProviderSpec("kling", KlingSettings, KlingProvider.capabilities, _build)
