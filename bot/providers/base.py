"""The one interface every video provider implements, and the one error family they raise.

Nothing outside `bot/providers/<name>.py` knows a provider's field names: the rest of the bot
speaks `VideoRequest`, `TaskUpdate` and `ProviderError` only.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, runtime_checkable

import httpx

from bot.camera import PRESETS, camera_move
from bot.effects import PHOTOS
from bot.i18n import Reason
from bot.jobs import JobKind
from bot.jobs import TaskUpdate as TaskUpdate  # part of the job model; providers make them
from bot.params import PARAMS, listed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputImage:
    """An input frame: its bytes, and a public URL when the bot serves one."""

    data: bytes
    mime_type: str
    url: str | None = None


@dataclass(frozen=True)
class VideoRequest:
    """What to generate, in the bot's own vocabulary."""

    job_id: int
    kind: JobKind
    prompt: str
    image: InputImage | None = None
    end_image: InputImage | None = None
    negative_prompt: str | None = None
    model: str | None = None
    duration: int | None = None
    aspect_ratio: str | None = None
    mode: str | None = None
    cfg_scale: float | None = None
    camera: str | None = None  # `bot.camera`'s canonical form: a preset or "pan=5,zoom=-3"
    sound: bool | None = None  # True: with generated audio; False: asked without
    effect: str | None = None  # an effect job's scene (`bot.effects`)
    more_images: tuple[InputImage, ...] = ()  # a references job's third and fourth photos
    extend_of: str | None = None  # an extend job's source: the task that made the video
    callback_url: str | None = None
    callback_secret: str | None = None

    @property
    def images(self) -> tuple[InputImage, ...]:
        """The request's photos in order (an effect's two people, left first)."""
        pair = (image for image in (self.image, self.end_image) if image is not None)
        return (*pair, *self.more_images)


OUR_MODELS = (
    "kling-v1",
    "kling-v1-5",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
    "kling-v2-6",
    "kling-v3",
)
"""The bot's own model names; each provider maps the ones it offers to its own ids."""

MB = 1024 * 1024


@dataclass(frozen=True)
class CameraOffer:
    """Where a provider documents camera moves, and on what terms."""

    kinds: frozenset[JobKind]  # the kinds of job it takes a move for
    one_axis: frozenset[JobKind] = frozenset()  # kinds whose six-axis form takes one axis only
    # (model, mode) pairs a move works with; None: whatever the provider offers.
    models: frozenset[tuple[str, str]] | None = None
    mode: str | None = None  # the only mode a move works in (makevid: std)
    duration: int | None = None  # the only duration a move works for (makevid: 5 s)

    def needs(self) -> str:
        """What a move needs here, for the user: "kling-v1 pro, kling-v1-6 pro" or "std, 5 s"."""
        if self.models is not None:
            return ", ".join(f"{model} {mode}" for model, mode in sorted(self.models))
        parts = [self.mode] if self.mode else []
        if self.duration is not None:
            parts.append(f"{self.duration} s")
        return ", ".join(parts)


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, declared once per provider and checked before any HTTP call."""

    kinds: frozenset[JobKind]
    image_by_url_only: bool = False  # True: needs a public URL for input images
    end_frame: bool = False  # accepts an end frame for image-to-video
    models: tuple[str, ...] = ("kling-v1",)  # our model names it offers; the first is the default
    modes: frozenset[str] = frozenset({"std", "pro"})
    durations: frozenset[int] = frozenset({5, 10})  # what its models take unless listed below
    # Durations per model, for models taking other lengths than `durations` (kling-v3: 3-15 s).
    # Any `<field>` may be declared per model as `model_<field>`: see `offered`.
    model_durations: Mapping[str, frozenset[int]] = field(default_factory=dict, hash=False)
    aspect_ratios: tuple[str, ...] = ("16:9", "9:16", "1:1")  # text-to-video only
    max_prompt_length: int = 2500
    max_negative_prompt_length: int = 2500
    image_min_side: int = 300
    image_max_bytes: int = 10 * MB
    image_types: frozenset[str] = frozenset({"image/jpeg", "image/png"})
    callbacks: bool = False  # reports progress to a callback URL
    # Sends back, in a header, the secret we gave it with the job (APIFRAME's
    # `x-webhook-secret`): its callbacks are then refused without that header.
    callback_secret_header: bool = False
    # Nothing keeps running (or billing) once a job is cancelled. No remote provider documents
    # a cancel endpoint, so only the built-in sandbox says so; see `Job.stopping`.
    stops_on_cancel: bool = False
    # What the provider makes when a request leaves the option out (Kling's documented
    # defaults, which the resellers keep); the settings panel shows them as in force.
    default_mode: str = "std"
    default_duration: int = 5
    default_aspect_ratio: str = "16:9"
    camera: CameraOffer | None = None  # camera moves, where the provider documents them
    # (model, mode) pairs that make a video with sound (`--sound`), where documented.
    sound: frozenset[tuple[str, str]] = frozenset()
    effect_names: tuple[str, ...] = ()  # effect scenes it makes (with `JobKind.EFFECT`)
    # (model, mode) pairs a video from reference photos (`JobKind.REFS`, 2-4) works with.
    refs: frozenset[tuple[str, str]] = frozenset()
    # Makes its own delivered videos longer (`JobKind.EXTEND`): an Extend button under them.
    extends: bool = False
    # The (model, kind, mode) text- and image-to-video combinations it makes, where not every
    # model comes in every kind and mode (AI/ML API); None: all of `models` x `kinds` x `modes`.
    combos: frozenset[tuple[str, JobKind, str]] | None = None
    # (model, mode) pairs taking an end frame; None: every model and mode it offers.
    end_frames: frozenset[tuple[str, str]] | None = None

    @property
    def default_model(self) -> str:
        return self.models[0]

    def offered(self, name: str, model: str | None = None) -> Any:
        """The values field `name` lists: for `model` where a `model_<name>` mapping declares
        them per model; for no model, every value any of its models takes (what options and
        provider choice accept before the model is known)."""
        values = getattr(self, name)
        per_model: Mapping[str, Any] = getattr(self, f"model_{name}", None) or {}
        if not per_model:
            return values
        if model is not None:
            return per_model.get(model, values)
        groups = [per_model.get(m, values) for m in self.models]
        union = dict.fromkeys(value for group in groups for value in group)
        return tuple(union) if isinstance(values, tuple) else frozenset(union)

    @property
    def camera_presets(self) -> tuple[str, ...]:
        """The named moves it takes (the settings panel's choices); none without camera."""
        return PRESETS if self.camera is not None else ()

    @property
    def default_camera(self) -> str:
        """No move unless one is asked for (shown on the panel as the default)."""
        return "none"


def effect_of(request: VideoRequest) -> tuple[str, tuple[InputImage, ...]]:
    """An effect request's scene and photos, checked against the photos the scene takes."""
    scene, images = request.effect, request.images
    if scene is None or scene not in PHOTOS or len(images) != PHOTOS[scene]:
        raise InvalidRequest(f"the effect {scene} needs {PHOTOS.get(scene or '', 1)} photo(s)")
    return scene, images


def http_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """A provider client's timeouts: as configured, or `timeout` to read with 10 s to connect."""
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout, connect=10.0)


def unsupported(caps: Capabilities, request: VideoRequest) -> Reason | None:
    """Why this provider cannot serve the request, as a message for the user; None if it can.

    Each parameter is checked through its `bot.params` row: the values the provider offers,
    or the length it takes.
    """
    if request.kind not in caps.kinds:
        if request.kind is JobKind.EFFECT:
            return Reason.of("no_effects")
        if request.kind is JobKind.REFS:
            return Reason.of("no_refs")
        if request.kind is JobKind.EXTEND:
            return Reason.of("no_extend")
        text = request.kind is JobKind.TEXT
        return Reason.of("no_text_to_video") if text else Reason.of("no_image_to_video")
    if len(request.prompt) > caps.max_prompt_length:
        return Reason.of("prompt_too_long", limit=caps.max_prompt_length)
    values = [
        (param, value)
        for param in PARAMS
        if param.request
        and (param.only_for is None or request.kind in param.only_for)
        and (value := getattr(request, param.name)) is not None
    ]
    for param, value in values:  # lengths first, then choices
        if param.limit and len(value) > getattr(caps, param.limit):
            return Reason(param.too_long, {"limit": getattr(caps, param.limit)})
    model = request.model or caps.default_model
    for param, value in values:
        if param.convert is not None:  # a free value: checked on its own terms below
            continue
        offered = listed(param, caps) if param.offered else ()
        if param.offered and value not in offered:
            return Reason(param.refusal, {"choices": ", ".join(map(str, offered))})
        for_model = listed(param, caps, model=model) if param.offered else ()
        if param.offered and value not in for_model:  # offered, but not with this model
            choices = ", ".join(map(str, for_model))
            return Reason(f"{param.refusal}_for_model", {"model": model, "choices": choices})
    if (reason := model_refusal(caps, request)) is not None:
        return reason
    if request.camera is not None and (reason := camera_refusal(caps, request)) is not None:
        return reason
    if request.kind is JobKind.REFS and (reason := refs_refusal(caps, request)) is not None:
        return reason
    if request.sound:
        return sound_refusal(caps, request)
    return None


def model_refusal(caps: Capabilities, request: VideoRequest) -> Reason | None:
    """Why this provider does not make the request's model in its mode for its kind, or takes
    no end frame with it; None if it does."""
    model, mode = request.model or caps.default_model, request.mode or caps.default_mode
    combo = (model, request.kind, mode)
    framed = request.kind in (JobKind.TEXT, JobKind.IMAGE)
    if caps.combos is not None and framed and combo not in caps.combos:
        offered = sorted(f"{m} {md}" for m, k, md in caps.combos if k is request.kind)
        return Reason.of("not_offered_here", model=model, mode=mode, choices=", ".join(offered))
    if request.end_image is None or request.kind is not JobKind.IMAGE:
        return None  # an effect's second person is no end frame
    if not caps.end_frame:
        return Reason.of("no_end_frame")
    takes = caps.end_frames
    if takes is not None and (model, mode) not in takes:
        pairs = ", ".join(f"{model} {mode}" for model, mode in sorted(takes))
        return Reason.of("end_frame_models", models=pairs)
    return None


def refs_refusal(caps: Capabilities, request: VideoRequest) -> Reason | None:
    """Why this provider cannot make a video from references with these settings."""
    model = request.model or caps.default_model
    if (model, request.mode or caps.default_mode) not in caps.refs:
        needs = ", ".join(f"{model} {mode}" for model, mode in sorted(caps.refs))
        return Reason.of("refs_needs", needs=needs)
    return None


def sound_refusal(caps: Capabilities, request: VideoRequest) -> Reason | None:
    """Why this provider cannot add sound to the request; None if it can."""
    if not caps.sound:
        return Reason.of("no_sound")
    model = request.model or caps.default_model
    if (model, request.mode or caps.default_mode) not in caps.sound:
        needs = ", ".join(f"{model} {mode}" for model, mode in sorted(caps.sound))
        return Reason.of("sound_needs", needs=needs)
    return None


def camera_refusal(caps: Capabilities, request: VideoRequest) -> Reason | None:
    """Why this provider cannot make the request's camera move; None if it can."""
    offer = caps.camera
    if offer is None or request.kind not in offer.kinds:
        text = request.kind is JobKind.TEXT
        return Reason.of("no_camera_text") if text else Reason.of("no_camera_image")
    move = camera_move(request.camera or "")
    if request.kind in offer.one_axis and len(move.axes) > 1:
        return Reason.of("camera_one_axis")
    model = request.model or caps.default_model
    mode = request.mode or caps.default_mode
    duration = request.duration or caps.default_duration
    if (
        (offer.models is not None and (model, mode) not in offer.models)
        or (offer.mode is not None and mode != offer.mode)
        or (offer.duration is not None and duration != offer.duration)
    ):
        return Reason.of("camera_needs", needs=offer.needs())
    return None


@dataclass(frozen=True)
class AccountStatus:
    """What `kling-bot check` prints for a provider whose credentials work."""

    balance: str | None  # e.g. "1000 credits", None when the provider does not say
    checked: str  # what was called, e.g. "GET /account"
    credits: float | None = None  # the balance as a number, for `LOW_BALANCE_ALERT`


class ProviderError(Exception):
    """A provider refused or failed a call. `message` is safe to show to the user; `reason`,
    when the words are ours rather than the provider's, is the same as a message key."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        maybe_accepted: bool = False,
        reason: Reason | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.retry_after = retry_after
        # True when the request reached the provider but no usable answer came back (a read
        # timeout, a 500, 502 or 504, an unreadable 2xx): it may have started a paid job anyway.
        # Which answers those are is decided in one place: `HTTP_STATUS` and `transport_error`.
        self.maybe_accepted = maybe_accepted


class InvalidRequest(ProviderError):
    """The request itself is wrong: tell the user what to change."""


class AuthFailed(ProviderError):
    """Bad or missing credentials: an operator problem."""


class NoCredits(ProviderError):
    """The operator's balance with this provider is empty."""


class RateLimited(ProviderError):
    """Too many requests; worth retrying later."""

    retryable = True


class Unavailable(ProviderError):
    """5xx, timeouts, connection errors, unreadable answers; worth retrying later."""

    retryable = True


class ContentPolicy(ProviderError):
    """The provider refused the content."""


def error_kind(error: ProviderError) -> str:
    """A short label for metrics and logs: invalid_request, auth, no_credits, ..."""
    kinds: tuple[tuple[type[ProviderError], str], ...] = (
        (InvalidRequest, "invalid_request"),
        (AuthFailed, "auth"),
        (NoCredits, "no_credits"),
        (RateLimited, "rate_limited"),
        (Unavailable, "unavailable"),
        (ContentPolicy, "content_policy"),
    )
    return next((label for cls, label in kinds if isinstance(error, cls)), "other")


@dataclass(frozen=True)
class HttpMeaning:
    """What an HTTP answer means for a call that may start a paid job."""

    error: type[ProviderError]
    # True: the provider may have started (and billed) the job although the answer says
    # otherwise, so the request must never be sent again, to any provider.
    maybe_accepted: bool = False


#: HTTP semantics, one table for every provider. "Not processed" answers (429, 408, 503) are
#: retried with backoff and then failed over; 500, 502 and 504 may come after the provider
#: started the job (a crash or a gateway timeout behind it), so they are ambiguous. Provider
#: modules put only what their docs state on top (AI/ML's 403 or Kling's 429/1102: no credits).
HTTP_STATUS: Mapping[int, HttpMeaning] = {
    401: HttpMeaning(AuthFailed),
    402: HttpMeaning(NoCredits),
    403: HttpMeaning(AuthFailed),
    408: HttpMeaning(Unavailable),
    429: HttpMeaning(RateLimited),
    500: HttpMeaning(Unavailable, maybe_accepted=True),
    502: HttpMeaning(Unavailable, maybe_accepted=True),
    503: HttpMeaning(Unavailable),
    504: HttpMeaning(Unavailable, maybe_accepted=True),
}
_CLIENT_ERROR = HttpMeaning(InvalidRequest)
_OTHER_SERVER_ERROR = HttpMeaning(Unavailable, maybe_accepted=True)  # unknown 5xx: play safe

#: Transport errors raised before the request could reach the provider: safe to send again.
#: Any other (a read timeout, a connection dropped mid-answer) came after sending: ambiguous.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_DEFAULT_MESSAGES: Mapping[type[ProviderError], str] = {
    AuthFailed: "{} rejected the credentials",
    NoCredits: "{} account has no credits left",
    RateLimited: "{} is rate limiting us",
    InvalidRequest: "{} refused the request (HTTP {})",
    Unavailable: "{} failed (HTTP {})",
}


def http_meaning(status: int) -> HttpMeaning:
    """The table's entry for an error status; other 4xx are refusals, other 5xx ambiguous."""
    meaning = HTTP_STATUS.get(status)
    if meaning is not None:
        return meaning
    return _CLIENT_ERROR if status < 500 else _OTHER_SERVER_ERROR


def status_error(
    provider: str,
    status: int,
    message: str = "",
    *,
    headers: Mapping[str, str] | None = None,
    creating: bool = True,
) -> ProviderError:
    """An HTTP error status as the table's error, honouring a `Retry-After` in `headers`.

    `creating`: the call may start a paid job (a submit), the only kind of call for which
    `maybe_accepted` means anything.
    """
    meaning = http_meaning(status)
    text = message or _DEFAULT_MESSAGES.get(meaning.error, "{} failed (HTTP {})").format(
        provider, status
    )
    hint = retry_after((headers or {}).get("retry-after")) if meaning.error.retryable else None
    return meaning.error(text, retry_after=hint, maybe_accepted=creating and meaning.maybe_accepted)


async def poll_all(
    task_ids: Sequence[str],
    poll_one: Callable[[str], Awaitable[TaskUpdate | None]],
    label: str,
) -> dict[str, TaskUpdate]:
    """Poll each task side by side (`poll_one` bounds its own concurrency). Tasks whose poll
    failed are left out and logged; only when every one failed is the first error raised, so
    a bad key or an outage is not silent."""
    ids = list(dict.fromkeys(task_ids))
    results = await asyncio.gather(*(poll_one(task_id) for task_id in ids), return_exceptions=True)
    updates: dict[str, TaskUpdate] = {}
    errors: list[ProviderError] = []
    for task_id, result in zip(ids, results, strict=True):
        if isinstance(result, ProviderError):
            log.warning("%s: polling task %s failed: %s", label, task_id, result.message)
            errors.append(result)
        elif isinstance(result, BaseException):
            raise result
        elif result is not None and result.task_id == task_id:
            updates[task_id] = result
    if errors and len(errors) == len(ids):
        raise errors[0]
    return updates


def transport_error(provider: str, exc: httpx.HTTPError, *, creating: bool = True) -> Unavailable:
    """An httpx failure as `Unavailable`, marking whether the provider may have got the request."""
    return Unavailable(
        f"{provider} unreachable ({type(exc).__name__})",
        maybe_accepted=creating and not isinstance(exc, _NOT_SENT),
    )


def unreadable_answer(provider: str, *, creating: bool = True) -> Unavailable:
    """A 2xx we cannot read (not JSON, or no task id): the job may well exist, so ambiguous."""
    return Unavailable(f"{provider} sent an unreadable answer", maybe_accepted=creating)


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class VideoProvider(Protocol):
    """A Kling video API behind one interface."""

    name: str
    capabilities: Capabilities

    async def submit(self, request: VideoRequest) -> str:
        """Start a job; returns the provider's task id. Raises `ProviderError`."""
        ...

    async def poll(self, task_ids: Sequence[str]) -> Mapping[str, TaskUpdate]:
        """Report on many tasks at once; ids the provider did not answer for are left out."""
        ...

    async def account(self) -> AccountStatus:
        """One authenticated call that proves the credentials work. Raises `ProviderError`."""
        ...

    def parse_callback(self, body: Any) -> TaskUpdate | None:
        """A provider callback's body as an update (None if unreadable or not one of ours).

        Providers without callbacks return None.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class FindsTasks(Protocol):
    """A provider that can find the task it made for one of our jobs by our own id.

    Optional: after a submit whose answer was lost (a crash, a 500, a read timeout) this is
    how the bot learns the task id instead of failing a job the provider is billing.
    """

    async def find_task(self, job_id: int, kind: JobKind) -> TaskUpdate | None:
        """The task made for `job_id`, as an update (its task id ours to poll); None when the
        provider has none. Raises `ProviderError` when it cannot tell."""
        ...


@runtime_checkable
class SignsCallbacks(Protocol):
    """A provider whose callbacks carry a signature over the raw body (APIFRAME v2's HMAC).

    Optional: the web server checks it on the bytes as received, before parsing or trusting
    anything in them; a callback it refuses is answered 403 and changes nothing.
    """

    def callback_signed(self, headers: Mapping[str, str], body: bytes) -> bool:
        """True only if `headers` carry a valid signature of exactly `body`."""
        ...
