"""Handing a job to a provider: choosing one, retrying, and failing over to the next.

Retryable errors (rate limits, outages) are retried with exponential backoff and jitter,
honouring any retry hint; then, like a bad key or an empty balance, the job moves to the next
provider in `VIDEO_PROVIDERS` that can serve it. A request no provider can serve is refused
before any HTTP call, with a plain message naming what to change.

A submit whose answer was lost (a crash, a read timeout, a 500) is never sent again, to any
provider: the provider may be making and billing the video. Where the provider offers a way
to learn the task id afterwards, the job is left to be reconciled (`SubmitUnconfirmed`);
elsewhere it fails with a plain message.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Bot
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from bot.alerts import Alerts
from bot.i18n import Reason
from bot.images import ImageRejected, PreparedImage, prepare
from bot.jobs import Job, JobKind
from bot.metrics import Metrics
from bot.params import request_fields
from bot.providers import REGISTRY
from bot.providers.base import (
    MB,
    AuthFailed,
    Capabilities,
    ContentPolicy,
    FindsTasks,
    InputImage,
    InvalidRequest,
    NoCredits,
    ProviderError,
    VideoProvider,
    VideoRequest,
    error_kind,
    unsupported,
)
from bot.store import SubmitStore

log = logging.getLogger(__name__)

NO_PROVIDER_FOR_IMAGES = Reason.of("no_provider_for_images")


@dataclass(frozen=True)
class Feature:
    """A request feature some providers document: its option, and who offers it."""

    option: str
    offered: Callable[[Capabilities, JobKind], bool]


_CAMERA = Feature(
    "--camera", lambda caps, kind: caps.camera is not None and kind in caps.camera.kinds
)
_SOUND = Feature("--sound", lambda caps, kind: bool(caps.sound))
_REFS = Feature("--refs, with one or two photos", lambda caps, kind: bool(caps.refs))
#: A provider's refusal of a feature (`bot.providers.base`), and the feature.
FEATURES: Mapping[str, Feature] = {
    "no_camera_text": _CAMERA,
    "no_camera_image": _CAMERA,
    "camera_one_axis": _CAMERA,
    "camera_needs": _CAMERA,
    "no_sound": _SOUND,
    "sound_needs": _SOUND,
    "no_refs": _REFS,
    "refs_needs": _REFS,
}


@dataclass(frozen=True)
class SubmitPolicy:
    attempts: int = 3  # tries per provider for retryable errors
    backoff: float = 2.0  # first retry delay in seconds; doubles each time, with jitter
    max_backoff: float = 60.0
    public_url: str | None = None
    media_link_ttl: float = 3600.0
    callbacks: bool = False  # webhook mode: give providers that call back a per-job URL


@dataclass(frozen=True)
class Submitted:
    provider: str
    task_id: str


class SubmitFailed(Exception):
    """No provider took the job; `reason` is for the user."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(str(reason))
        self.reason = reason


class SubmitUnconfirmed(Exception):
    """`provider` may hold a task for the job, but its answer was lost; the job is to be
    reconciled (found by our id, or adopted from a callback), never sent again."""

    def __init__(self, provider: str) -> None:
        super().__init__(provider)
        self.provider = provider


class _Cancelled(Exception):
    """The job was cancelled before this attempt left: it must not be sent."""


class Submitter:
    def __init__(
        self,
        *,
        providers: Mapping[str, VideoProvider],
        bot: Bot,
        store: SubmitStore,
        metrics: Metrics,
        policy: SubmitPolicy,
        alerts: Alerts | None = None,
    ) -> None:
        self._alerts = alerts if alerts is not None else Alerts(None, ())
        self._metrics = metrics
        self._providers = providers
        self._bot = bot
        self._store = store
        self._policy = policy

    def capabilities(self) -> dict[str, Capabilities]:
        """What each provider offers, in failover order: static declarations, so asking
        calls no provider."""
        return {name: provider.capabilities for name, provider in self._providers.items()}

    def candidates(
        self, kind: JobKind, params: Mapping[str, Any], prompt: str, *, frames: int = 0
    ) -> list[str]:
        """Providers, in failover order, that can serve this request (with `frames` photos)
        right now."""
        shape = _request_shape(kind, prompt, params, frames)
        return [
            name
            for name, provider in self._providers.items()
            if self._can_serve(provider, shape) is None
        ]

    def refusal(
        self, kind: JobKind, params: Mapping[str, Any], prompt: str, *, frames: int = 0
    ) -> Reason | None:
        """The answer for the user when no provider can serve the request, else None.

        The reason given is the first provider's: it is the one the operator prefers. A
        provider that takes no end frame at all is left to `routing`, which names one that does.
        """
        shape = _request_shape(kind, prompt, params, frames)
        reasons = [self._can_serve(p, shape) for p in self._providers.values()]
        if not all(reasons) or reasons[0] is None or reasons[0].key == "no_end_frame":
            return None
        if reasons[0] == NO_PROVIDER_FOR_IMAGES:
            return reasons[0]
        feature = FEATURES.get(reasons[0].key)
        if feature is not None:
            return self._offered_elsewhere(shape, reasons[0], feature)
        return Reason.of("cannot_make", reason=reasons[0])

    def _offered_elsewhere(self, shape: VideoRequest, reason: Reason, feature: Feature) -> Reason:
        """A feature (a camera move, sound) the first provider cannot make, naming the
        providers that offer it for this kind of job: this bot's, else any the bot knows."""
        first = next(iter(self._providers))
        others = [
            name
            for name, provider in self._providers.items()
            if name != first and feature.offered(provider.capabilities, shape.kind)
        ]
        if others:
            return Reason.of(
                "feature_elsewhere", reason=reason, others=", ".join(others), first=others[0]
            )
        if feature.offered(self._providers[first].capabilities, shape.kind):
            return Reason.of("cannot_make", reason=reason)  # it offers it, on other terms
        able = [
            name
            for name, spec in REGISTRY.items()
            if feature.offered(spec.capabilities, shape.kind)
        ]
        return Reason.of(
            "feature_nowhere", reason=reason, able=", ".join(able), option=feature.option
        )

    async def submit(
        self, job: Job, on_failover: Callable[[str, str], Awaitable[None]]
    ) -> Submitted:
        """Submit the job to the first provider that takes it; raises `SubmitFailed`.

        `on_failover(from_provider, to_provider)` is awaited each time the job moves on.
        """
        if job.submit_started_at is not None:
            # An earlier process sent this job and stopped before recording a task id: the
            # provider may be making (and charging for) it. Never send it again.
            log.warning("job %s: interrupted while submitting; not sending it again", job.id)
            raise self._unanswered(job.provider, Reason.of("interrupted_submit"))
        secret = job.callback_secret or secrets.token_urlsafe(24)
        names = self.candidates(job.kind, job.params, job.prompt, frames=len(job.input_file_ids))
        if job.provider in names:  # start with the provider the job was created for
            names.remove(job.provider)
            names.insert(0, job.provider)
        last_error: ProviderError | None = None
        for index, name in enumerate(names):
            if index > 0:
                await on_failover(names[index - 1], name)
            provider = self._providers[name]
            try:
                request = await self._video_request(job, name, provider, secret)
                task_id = await self._submit_with_retries(job, name, provider, request, secret)
            except _Cancelled:
                # Every earlier attempt was refused outright (an ambiguous one ends the loop),
                # so no provider holds a task for it: its slot is free at once.
                log.info("job %s: cancelled while being submitted; not sending it", job.id)
                await self._store.provider_stopped(job.id, None)
                raise SubmitFailed(Reason.of("unavailable")) from None  # nobody is told: cancelled
            except (InvalidRequest, ContentPolicy) as exc:
                self._metrics.submit_errors.labels(provider=name, kind=error_kind(exc)).inc()
                log.info("job %s: %s refused the request: %s", job.id, name, exc.message)
                reason = exc.reason or Reason.of("provider_said", message=exc.message)
                raise SubmitFailed(reason) from exc
            except ProviderError as exc:
                self._metrics.submit_errors.labels(provider=name, kind=error_kind(exc)).inc()
                self._alerts.submit_failed(name)
                operator_problem = isinstance(exc, AuthFailed | NoCredits)
                level = logging.ERROR if operator_problem else logging.WARNING
                log.log(level, "job %s: %s failed on submit: %s", job.id, name, exc.message)
                last_error = exc
                if exc.maybe_accepted:  # moving on could pay for the same video twice
                    raise self._unanswered(name, Reason.of("no_answer")) from exc
                continue
            self._alerts.submit_succeeded(name)
            log.info("job %s: submitted to %s as task %s", job.id, name, task_id)
            return Submitted(name, task_id)
        if last_error is None or isinstance(last_error, AuthFailed | NoCredits):
            raise SubmitFailed(Reason.of("unavailable"))
        raise SubmitFailed(Reason.of("provider_failed", message=last_error.message))

    def extendable(self, job: Job) -> bool:
        """Whether the provider that made `job`'s video can make it longer."""
        provider = self._providers.get(job.provider)
        return bool(
            provider is not None
            and provider.capabilities.extends
            and JobKind.EXTEND in provider.capabilities.kinds
            and job.kind is not JobKind.EFFECT
            and job.provider_task_id
        )

    def can_reconcile(self, name: str) -> bool:
        """Whether the bot can learn, after a lost answer, which task `name` made for a job:
        it finds tasks by our id, or (in webhook mode) its callbacks name the task."""
        provider = self._providers.get(name)
        if provider is None:
            return False
        return isinstance(provider, FindsTasks) or (
            self._policy.callbacks and provider.capabilities.callbacks
        )

    def _unanswered(self, name: str, reason: Reason) -> SubmitUnconfirmed | SubmitFailed:
        """What a submit to `name` whose answer was lost becomes."""
        if self.can_reconcile(name):
            return SubmitUnconfirmed(name)
        return SubmitFailed(reason)

    async def _submit_with_retries(
        self, job: Job, name: str, provider: VideoProvider, request: VideoRequest, secret: str
    ) -> str:
        policy = self._policy
        backoff = wait_exponential(multiplier=policy.backoff, max=policy.max_backoff) + wait_random(
            0, policy.backoff
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            hint = getattr(error, "retry_after", None) or 0.0
            return max(float(hint), backoff(state))

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "job %s: %s submit attempt %d failed (%s); retrying",
                job.id,
                name,
                state.attempt_number,
                getattr(error, "message", error),
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, ProviderError) and e.retryable and not e.maybe_accepted
            ),
            stop=stop_after_attempt(policy.attempts),
            wait=wait,
            before_sleep=log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._still_wanted(job, name, secret)
                try:
                    return await provider.submit(request)
                except ProviderError as exc:
                    if not exc.maybe_accepted:  # refused outright: no task at any provider
                        await self._still_wanted(job, name, secret)
                    raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _still_wanted(self, job: Job, name: str, secret: str) -> None:
        """Mark the job as being sent, or raise `_Cancelled` (not a `ProviderError`, so never
        retried) if it was cancelled: then it must not be sent, or sent again."""
        if not await self._store.mark_submit_started(job.id, name, secret):
            raise _Cancelled

    def _can_serve(self, provider: VideoProvider, shape: VideoRequest) -> Reason | None:
        caps = provider.capabilities
        photos = shape.kind is not JobKind.TEXT
        if photos and caps.image_by_url_only and not self._policy.public_url:
            return NO_PROVIDER_FOR_IMAGES
        return unsupported(caps, shape)

    async def _video_request(
        self, job: Job, name: str, provider: VideoProvider, secret: str
    ) -> VideoRequest:
        images = [
            await self._input_image(job, frame, file_id, provider)
            for frame, file_id in enumerate(job.input_file_ids)
        ]
        callback_url = callback_secret = None
        caps = provider.capabilities
        if self._policy.callbacks and caps.callbacks and job.callback_token:
            # The unguessable token in the path authenticates the callback (Kling signs
            # nothing). Providers that echo a secret header (APIFRAME) also get a second
            # secret, never part of a URL, so a leaked URL alone cannot forge a video.
            callback_url = f"{self._policy.public_url}/callbacks/{name}/{job.callback_token}"
            callback_secret = secret if caps.callback_secret_header else None
        return VideoRequest(
            job_id=job.id,
            kind=job.kind,
            prompt=job.prompt,
            image=images[0] if images else None,
            end_image=images[1] if len(images) > 1 else None,
            more_images=tuple(images[2:]),
            callback_url=callback_url,
            callback_secret=callback_secret,
            **request_fields(job.params),
        )

    async def prepare_images(
        self, file_ids: Sequence[str], provider_name: str
    ) -> list[PreparedImage]:
        """Download (once) and check a request's images before its job exists, so a bad photo
        gets its own answer and costs nothing; what passed is what the job will send.

        Raises `ImageRejected`; Telegram errors (download failed) propagate.
        """
        caps = self._providers[provider_name].capabilities
        prepared = []
        for file_id in file_ids:
            data, mime_type = await prepare(await self._download(file_id, caps), caps)
            prepared.append(PreparedImage(file_id, data, mime_type))
        return prepared

    async def _download(self, file_id: str, caps: Capabilities) -> bytes:
        """A Telegram file's bytes. Its URL holds the bot token: it never leaves this call.

        A file Telegram says is too big is refused before its bytes are fetched.
        """
        file = await self._bot.get_file(file_id)
        if file.file_size is not None and file.file_size > caps.image_max_bytes:
            raise ImageRejected("image_too_big", limit=caps.image_max_bytes // MB)
        return bytes(await file.download_as_bytearray())

    async def _input_image(
        self, job: Job, frame: int, file_id: str, provider: VideoProvider
    ) -> InputImage:
        """The frame's image as checked when the job was requested, re-checked against this
        provider's rules (converted only if they differ), plus a short-lived link of ours when
        the provider needs a URL. Never the Telegram file URL: it contains the bot token.
        """
        caps = provider.capabilities
        kept = await self._store.job_image(job.id, frame)
        try:
            if kept is None:  # requested before images were kept, or the process stopped
                data, mime_type = await prepare(await self._download(file_id, caps), caps)
            else:
                data, mime_type = await prepare(kept[0], caps)
        except ImageRejected as exc:
            raise InvalidRequest(str(exc), reason=exc.reason) from exc
        if kept != (data, mime_type):  # the /media/ link serves exactly what is sent
            await self._store.put_job_image(job.id, frame, file_id, data, mime_type)
        url = None
        if provider.capabilities.image_by_url_only and self._policy.public_url:
            token = secrets.token_urlsafe(24)
            expires = time.time() + self._policy.media_link_ttl
            await self._store.add_media_link(token, job.id, file_id, expires)
            url = f"{self._policy.public_url}/media/{token}"
        return InputImage(data=data, mime_type=mime_type, url=url)


def _request_shape(
    kind: JobKind, prompt: str, params: Mapping[str, Any], frames: int = 0
) -> VideoRequest:
    """A request without images, for checking capabilities before anything is downloaded
    (an empty stand-in marks an end frame, `frames` being two)."""
    end = InputImage(b"", "image/jpeg") if kind is JobKind.IMAGE and frames > 1 else None
    return VideoRequest(job_id=0, kind=kind, prompt=prompt, end_image=end, **request_fields(params))
