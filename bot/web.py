"""The bot's own HTTP server (Starlette on uvicorn, in the bot's event loop).

Routes:
- `POST {TELEGRAM_WEBHOOK_PATH}`: Telegram updates, accepted only with the right secret header,
  handed to the Application's queue.
- `POST /callbacks/<provider>/<job token>`: provider callbacks; the unguessable per-job token
  authenticates them (Kling signs nothing), and providers that echo a secret header (APIFRAME's
  `x-webhook-secret`) must also send the job's own callback secret, which no URL contains;
  providers that sign their callbacks (APIFRAME v2's HMAC, `SignsCallbacks`) must sign the
  raw body, checked before it is parsed.
  They ride the same update queue as a `ProviderCallback`, so one pipeline handles both. A
  callback naming a task for a job whose submit answer was lost (or is still on its way)
  tells the bot the task id: it is adopted.
- `GET /media/<token>`: a job's input photo for providers that take image URLs only: the very
  bytes that passed the bot's checks (converted to JPEG where needed), kept in the store with
  the job, so the Telegram file URL (it contains the bot token) never leaves.
- `GET /healthz`.
`GET /metrics` has its own server (`create_metrics_app`), on 127.0.0.1 unless told otherwise,
so the public port never shows it. Every answer is sent before any slow work (a video
transfer) starts. While the database is down, requests that need it get 503 (Telegram and the
providers send again later) and no traceback.

`HeaderTimeoutH11` closes connections that have not sent a complete request head in time:
uvicorn's own timer only runs between two requests, so a client that never finishes its
headers (slowloris) or never sends any would keep a connection forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from telegram import Update
from telegram.ext import Application
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.config import Settings
from bot.jobs import FINISHED, Job, ProviderCallback
from bot.metrics import Metrics
from bot.providers.base import SignsCallbacks, TaskUpdate, VideoProvider
from bot.store import JobStore, Pings, StoreWatch

log = logging.getLogger(__name__)

MAX_JSON_BODY = 1024 * 1024  # Telegram updates and provider callbacks are a few KB
_SECRET_PATHS = re.compile(r"^/(callbacks/[^/]+|media)/[^/]+")


@dataclass(frozen=True)
class WebDeps:
    store: JobStore
    application: Application  # type: ignore[type-arg]
    providers: Mapping[str, VideoProvider]
    metrics: Metrics
    telegram_path: str
    webhook_secret: str | None
    accepting: Callable[[], bool]  # False once shutdown has begun
    watch: StoreWatch | None = None  # while it says the database is down, updates get 503
    replica_id: str | None = None  # claims each update in the store: None, no claims (tests)


class _TooLarge(Exception):
    pass


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, refusing anything but a small `application/json` body
    whose top level is an object (Telegram updates and provider callbacks all are): a list,
    a string or nesting too deep to parse is a `ValueError` (400), never a 500."""
    return _json_object(await _raw_json_body(request))


async def _raw_json_body(request: Request) -> bytes:
    """A small `application/json` body's bytes, exactly as sent (what a signature covers)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ValueError("expected application/json")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_JSON_BODY:
                raise _TooLarge
    except ClientDisconnect:  # cut off mid-body: nothing to read, nobody to answer
        raise ValueError("the client went away before sending the whole body") from None
    return bytes(body)


def _json_object(body: bytes) -> dict[str, Any]:
    """`body` parsed, when its top level is an object; else `ValueError`."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


Endpoint = Callable[[Request], Awaitable[Response]]


def _secret_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def _adopted(store: JobStore, job: Job, update: TaskUpdate) -> Job | None:
    """The job with the callback's task adopted, when it had none yet because the submit's
    answer was lost or is still on its way; None otherwise. The callback is authenticated by
    now, and its URL (and secret) went only to the provider the job was sent to."""
    if job.provider_task_id is not None or job.submit_started_at is None:
        return None
    adopted = await store.adopt_task(job.id, job.provider, update.task_id)
    if adopted is not None:
        log.info(
            "job %s: adopted %s task %s from its callback", job.id, job.provider, update.task_id
        )
    return adopted


class SeenUpdates:
    """The update ids this replica put on its queue lately: a claim the store grants this
    replica again (its first answer may have been lost) must not run an update twice here."""

    def __init__(self, size: int = 10_000) -> None:
        self._order: deque[int] = deque(maxlen=size)
        self._ids: set[int] = set()

    def add(self, update_id: int) -> bool:
        """False if the id was added before (and is still remembered)."""
        if update_id in self._ids:
            return False
        if len(self._order) == self._order.maxlen:
            self._ids.discard(self._order[0])
        self._order.append(update_id)
        self._ids.add(update_id)
        return True


def create_web_app(deps: WebDeps) -> Starlette:
    store, application, metrics = deps.store, deps.application, deps.metrics
    seen = SeenUpdates()

    def needs_store(endpoint: Endpoint) -> Endpoint:
        """503 instead of a 500 and a traceback when the database is down: the sender
        (Telegram, a provider) tries again later, by when it may be back."""

        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            try:
                return await endpoint(request)
            except Exception:
                if deps.watch is None or not await deps.watch.failed():
                    raise
                return PlainTextResponse(
                    "Service Unavailable", status_code=503, headers={"Retry-After": "5"}
                )

        return guarded

    healthz = health_endpoint(lambda: application.running and deps.accepting(), store)

    async def telegram_update(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token")
        if deps.webhook_secret is None or not _secret_matches(given, deps.webhook_secret):
            return PlainTextResponse("Forbidden", status_code=403)
        if not deps.accepting():
            return PlainTextResponse("Shutting down", status_code=503)  # Telegram retries
        if deps.watch is not None and deps.watch.down:
            # Telegram keeps the update and sends it again: nothing is lost meanwhile.
            return PlainTextResponse("Database unavailable", status_code=503)
        try:
            data = await _json_body(request)
        except _TooLarge:
            return PlainTextResponse("Payload Too Large", status_code=413)
        except ValueError:
            return PlainTextResponse("Bad Request", status_code=400)
        try:
            update = Update.de_json(data, application.bot)
        except Exception as exc:  # an object, but not an update: fields of the wrong type
            log.info("webhook: not a Telegram update: %s", type(exc).__name__)
            update = None
        if update is None:
            return PlainTextResponse("Bad Request", status_code=400)
        # Telegram sends an update again when our answer was slow or lost, maybe to another
        # replica: the first claim in the database handles it, the others acknowledge it.
        if deps.replica_id is not None:
            claimed = await store.claim_update(update.update_id, deps.replica_id, time.time())
            if not claimed or not seen.add(update.update_id):
                log.info("update %s: delivered again; handled once already", update.update_id)
                return Response(status_code=200)
        await application.update_queue.put(update)
        return Response(status_code=200)

    async def provider_callback(request: Request) -> Response:
        name = request.path_params["provider"]
        provider = deps.providers.get(name)
        job = await store.job_by_callback_token(request.path_params["token"])
        if provider is None or job is None or job.provider != name:
            metrics.callbacks.labels(
                provider=name if provider else "unknown", outcome="forbidden"
            ).inc()
            return PlainTextResponse("Forbidden", status_code=403)
        secret = job.callback_secret  # None before the job was sent (or for an older job)
        if provider.capabilities.callback_secret_header and (
            secret is None or not _secret_matches(request.headers.get("x-webhook-secret"), secret)
        ):
            metrics.callbacks.labels(provider=name, outcome="forbidden").inc()
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            raw = await _raw_json_body(request)
        except _TooLarge:
            return PlainTextResponse("Payload Too Large", status_code=413)
        except ValueError:
            return PlainTextResponse("Bad Request", status_code=400)
        # A signing provider (APIFRAME v2) signs the bytes as sent: checked before parsing.
        if isinstance(provider, SignsCallbacks) and not provider.callback_signed(
            request.headers, raw
        ):
            metrics.callbacks.labels(provider=name, outcome="forbidden").inc()
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            body = _json_object(raw)
        except ValueError:
            return PlainTextResponse("Bad Request", status_code=400)
        update = provider.parse_callback(body)
        if update is not None:
            job = await _adopted(store, job, update) or job
        if job.state in FINISHED or update is None or update.task_id != job.provider_task_id:
            # Finished, unreadable or about another task: acknowledged so it is not resent.
            metrics.callbacks.labels(provider=name, outcome="ignored").inc()
            return JSONResponse({"ok": True})
        metrics.callbacks.labels(provider=name, outcome="accepted").inc()
        await application.update_queue.put(ProviderCallback(job.id, update))
        return JSONResponse({"ok": True})

    async def media(request: Request) -> Response:
        image = await store.media_image(request.path_params["token"], time.time())
        if image is None:  # unknown, expired, or its job has finished
            return PlainTextResponse("Not Found", status_code=404)
        data, mime_type = image
        return Response(
            data, media_type=mime_type, headers={"Cache-Control": "private, max-age=300"}
        )

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route(deps.telegram_path, needs_store(telegram_update), methods=["POST"]),
            Route(
                "/callbacks/{provider}/{token}", needs_store(provider_callback), methods=["POST"]
            ),
            Route("/media/{token}", needs_store(media), methods=["GET", "HEAD"]),
        ]
    )
    app.add_middleware(AccessLog)
    return app


def health_endpoint(running: Callable[[], bool], store: Pings) -> Endpoint:
    """`GET /healthz`: 200 while the bot takes updates and its database answers, else 503."""

    async def healthz(request: Request) -> Response:
        healthy = running() and await store.ping()
        return JSONResponse({"ok": healthy}, status_code=200 if healthy else 503)

    return healthz


def create_metrics_app(
    metrics: Metrics,
    store: JobStore,
    running: Callable[[], bool],
    live_within: float | None = None,
) -> Starlette:
    """The operator's listener (`METRICS_LISTEN`), off the public port and in either mode:
    `GET /metrics`, and `GET /healthz` for a container's health check. `live_within`: a
    replica heard from within that many seconds counts as live."""

    async def metrics_endpoint(request: Request) -> Response:
        exposition = await metrics.render(store, live_within)
        return Response(exposition, media_type="text/plain; version=0.0.4")

    app = Starlette(
        routes=[
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/healthz", health_endpoint(running, store), methods=["GET"]),
        ]
    )
    app.add_middleware(AccessLog)
    return app


#: Paths a load balancer or Docker asks every few seconds: logged at DEBUG, not INFO (two
#: replicas checked every 5 s would otherwise write 35,000 lines a day).
_QUIET_PATHS = frozenset({"/healthz"})


class AccessLog:
    """One log line per request, with the secret part of callback and media paths masked;
    health checks only at DEBUG."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            path = _SECRET_PATHS.sub(lambda m: f"/{m.group(1)}/***", scope["path"])
            elapsed = (time.monotonic() - started) * 1000
            level = logging.DEBUG if scope["path"] in _QUIET_PATHS else logging.INFO
            log.log(level, "%s %s %d %.1fms", scope["method"], path, status, elapsed)


class EmbeddedServer(uvicorn.Server):
    """uvicorn run inside our own event loop; the bot, not uvicorn, owns signal handling."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HeaderTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head (request line and
    headers) is not complete `header_timeout` seconds after the connection opened or the last
    response was sent. A request being handled or a body being sent is never cut."""

    header_timeout = 10.0  # set per server by `header_timeout_protocol`
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        # IDLE: no complete request head since the connection opened or the last response.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutH11]:
    """`HeaderTimeoutH11` with its own timeout, as uvicorn's `http=` protocol class."""
    return type("HeaderTimeoutH11", (HeaderTimeoutH11,), {"header_timeout": seconds})


async def serve(
    app: Any, host: str, port: int, settings: Settings, name: str
) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    """uvicorn in our loop, hardened: bounded connections, and a connection that has not
    sent a whole request head within `HTTP_HEADER_TIMEOUT` (or sits idle) is closed. Its
    loggers propagate to ours (`log_config=None`), so their lines are masked like ours."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=header_timeout_protocol(settings.http_header_timeout),
        limit_concurrency=settings.http_max_connections,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,  # a request head; Telegram's are < 1 KB
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no event for this
        if task.done():
            task.result()
            raise RuntimeError(f"{name} could not listen on {host}:{port}")
        await asyncio.sleep(0.01)
    log.info("%s listening on %s:%s", name, host, port)
    return server, task
