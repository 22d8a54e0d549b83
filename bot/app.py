"""Wiring and the runner: builds every part from `Settings` and runs them until told to stop.

Long polling is the runner's choice here, made in one place; the web server runs beside it
when `PUBLIC_URL` is set. `bot.web` (Starlette, uvicorn) is imported only when a server
starts (webhook mode, or `METRICS_LISTEN`), so a long-polling bot never loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from telegram import Bot
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseRateLimiter,
    ContextTypes,
    TypeHandler,
)
from telegram.request import HTTPXRequest

import handlers
from bot.access import AccessPolicy, Gatekeeper
from bot.alerts import Alerts
from bot.background import Background
from bot.billing import Billing, BillingPolicy, parse_packs, parse_prices
from bot.chat_status import ChatStatus
from bot.config import Settings
from bot.delivery import Delivery
from bot.downloads import Downloader, DownloadPolicy
from bot.intake import Intake
from bot.jobs import ProviderCallback
from bot.leases import Leases
from bot.lifecycle import JobLifecycle
from bot.metrics import Metrics
from bot.outlook import Outlooks
from bot.overrides import SHIPPED, Overrides
from bot.pacing import PacingRateLimiter
from bot.providers import build_providers
from bot.providers.base import VideoProvider
from bot.replicas import Replicas, stable_replica_id
from bot.sharing import Sharing
from bot.store import JobStore, StoreWatch, open_store
from bot.submission import SubmitPolicy, Submitter
from bot.tls import tls_context
from bot.tracker import Tracker
from bot.updates import ChatOrderedProcessor

if TYPE_CHECKING:
    from bot.web import EmbeddedServer

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    rate_limiter: BaseRateLimiter | None = None,  # type: ignore[type-arg]
) -> Application:  # type: ignore[type-arg]
    """The python-telegram-bot Application, pointed at `TELEGRAM_API_URL`.

    In webhook mode there is no Updater: our web server puts updates on the queue itself.
    `rate_limiter` is a seam, not a setting: tests and benchmarks pass one in (Telegram's limits
    scaled down, or another limiter) through `Overrides`; the bot runs with `PacingRateLimiter()`.
    """
    if rate_limiter is None:
        rate_limiter = PacingRateLimiter()  # per chat, per group and overall; see bot.pacing
    root = settings.telegram_api_url
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .request(
            HTTPXRequest(
                connection_pool_size=32,
                connect_timeout=10.0,
                read_timeout=30.0,
                write_timeout=30.0,
                media_write_timeout=600.0,
                httpx_kwargs={"verify": tls_context()},
            )
        )
        .rate_limiter(rate_limiter)
        .concurrent_updates(ChatOrderedProcessor())  # chats side by side, each in order
    )
    if settings.webhook_mode:
        builder = builder.updater(None)
    else:
        builder = builder.get_updates_request(
            HTTPXRequest(
                connect_timeout=10.0, read_timeout=40.0, httpx_kwargs={"verify": tls_context()}
            )
        )
    return builder.build()


@dataclass
class BotParts:
    """Everything `run_bot` starts, exposed so tests can reach into a running bot."""

    settings: Settings
    store: JobStore
    providers: dict[str, VideoProvider]
    application: Application  # type: ignore[type-arg]
    intake: Intake
    lifecycle: JobLifecycle
    tracker: Tracker
    metrics: Metrics
    http: httpx.AsyncClient
    watch: StoreWatch
    alerts: Alerts
    replicas: Replicas


@contextlib.asynccontextmanager
async def assemble(
    settings: Settings, *, overrides: Overrides = SHIPPED
) -> AsyncIterator[BotParts]:
    """Build every part; close them all on exit. `overrides`: what a test swaps in."""
    password = settings.database_password
    store = await open_store(
        settings.database_url,
        wait=settings.database_wait,
        password=password.get_secret_value() if password else None,
    )
    watch = StoreWatch(store)
    await store.release_orphaned_leases()
    await _claim_identity(settings, store)
    providers = build_providers(settings.providers, settings.provider_common)
    metrics = Metrics()
    # Video downloads only: redirects are followed (and checked) by the Downloader, no proxy
    # from the environment (it would resolve names out of our checks), and no kept
    # connections (each request goes to an address checked for it).
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(60.0, connect=10.0),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
        verify=tls_context(),
    )
    downloads = DownloadPolicy(
        trusted_origins=settings.video_trusted_origins,
        deadline=settings.video_download_timeout,
        min_rate=settings.video_download_min_rate,
        rate_grace=overrides.download_rate_grace,
    )
    application = build_application(settings, rate_limiter=overrides.new_rate_limiter())
    limiter = application.bot.rate_limiter
    shared_pacing = store.SHARED and isinstance(limiter, PacingRateLimiter)
    if shared_pacing:
        limiter.share(store)  # replicas pace together: Telegram's limits are per bot
    gatekeeper = Gatekeeper(
        store,
        AccessPolicy(
            allowed_user_ids=settings.allowed_user_ids,
            allowed_chat_ids=settings.allowed_chat_ids,
            admin_user_ids=settings.admin_user_ids,
            max_active_jobs=settings.max_active_jobs_per_user,
            daily_jobs=settings.daily_jobs_per_user,
            cooldown=settings.request_cooldown,
        ),
    )
    alerts = Alerts(
        application.bot,
        settings.admin_user_ids,
        low_balance=settings.low_balance_alert,
        repeat=overrides.alert_repeat,
        submit_outage=overrides.alert_submit_outage,
        balance_interval=overrides.alert_balance_interval,
    )
    submitter = Submitter(
        alerts=alerts,
        providers=providers,
        bot=application.bot,
        store=store,
        metrics=metrics,
        policy=SubmitPolicy(
            attempts=settings.submit_attempts,
            backoff=settings.submit_backoff,
            public_url=settings.public_url,
            media_link_ttl=settings.media_link_ttl,
            callbacks=settings.webhook_mode,
        ),
    )
    background = Background(watch)
    # The pacer's view of each chat and of Telegram's budget: what gives way under load. The
    # benchmark's baseline (`status_gives_way=False`) sends everything, as before issue 16.
    limiter = application.bot.rate_limiter
    pacer = limiter if isinstance(limiter, PacingRateLimiter) else None
    if not overrides.status_gives_way:
        pacer = None
    busy = pacer.busy if pacer is not None else None
    status = ChatStatus(
        application.bot,
        background,
        metrics,
        status_edit_interval=settings.status_edit_interval,
        outlooks=Outlooks(store, submitter.capabilities()),
        busy=busy,
        give_way=overrides.status_gives_way,
    )
    lifecycle = JobLifecycle(
        store=store,
        submitter=submitter,
        delivery=Delivery(
            application.bot,
            Downloader(http, downloads),
            pacer=pacer,
            extendable=submitter.extendable,
        ),
        status=status,
        leases=Leases(
            store,
            owner=settings.replica_id,
            seconds=settings.lease_seconds,
            watch=watch,
            sleep=overrides.lease_sleep,
        ),
        background=background,
        metrics=metrics,
        job_timeout=settings.job_timeout,
        alerts=alerts,
    )
    preferences = store  # settings live in the job store
    billing = Billing(
        store,
        BillingPolicy(
            enabled=settings.billing == "stars",
            prices=parse_prices(settings.prices),
            packs=parse_packs(settings.credit_packs),
            welcome=settings.welcome_credits,
            daily=settings.free_credits_daily,
            bill_admins=settings.bill_admins,
            admin_ids=settings.admin_user_ids,
        ),
    )
    intake = Intake(
        store=store,
        preferences=preferences,
        submitter=submitter,
        status=status,
        lifecycle=lifecycle,
        gatekeeper=gatekeeper,
        billing=billing,
    )
    # Before handlers.register's error handler, which would answer "sorry" and drop it.
    application.add_error_handler(_again_when_store_is_back(watch))
    handlers.register(
        application,
        intake=intake,
        lifecycle=lifecycle,
        store=store,
        preferences=preferences,
        capabilities=submitter.capabilities(),
        gatekeeper=gatekeeper,
        sharing=Sharing(
            store, metrics, credit=settings.share_credit, page_size=overrides.inline_page
        ),
        album_wait=overrides.album_wait,
        billing=billing,
        replicas_within=settings.lease_seconds,
    )
    application.add_handler(TypeHandler(ProviderCallback, lifecycle.on_callback))
    tracker = Tracker(
        store=store,
        lifecycle=lifecycle,
        providers=providers,
        metrics=metrics,
        interval=settings.poll_interval,
        callback_interval=settings.callback_poll_interval if settings.webhook_mode else None,
        job_timeout=settings.job_timeout,
        replica_id=settings.replica_id,
        lease_seconds=settings.lease_seconds,
        reconcile_timeout=settings.reconcile_timeout,
        watch=watch,
        purge_interval=overrides.purge_interval,
        question_lifetime=overrides.question_lifetime,
    )
    try:
        yield BotParts(
            settings,
            store,
            providers,
            application,
            intake,
            lifecycle,
            tracker,
            metrics,
            http,
            watch,
            alerts,
            Replicas(
                store,
                replica_id=settings.replica_id,
                lease_seconds=settings.lease_seconds,
                watch=watch,
                on_count=limiter.set_replicas if shared_pacing else None,
            ),
        )
    finally:
        await alerts.aclose()
        await watch.aclose()
        for provider in providers.values():
            await provider.aclose()
        await http.aclose()
        await store.close()


async def _claim_identity(settings: Settings, store: JobStore) -> None:
    """Settle this replica's id on a shared database, and hold its identity lock (see
    `bot.replicas`): a default `REPLICA_ID` becomes the first free `<hostname>-<n>`, so a
    bot killed and started again takes its unfinished jobs back at once."""
    if not store.SHARED:
        return  # one process per SQLite file: its leases are released at start
    stable = None
    if "replica_id" not in settings.model_fields_set:
        stable = await stable_replica_id(store)  # None: every slot taken; keep the random id
    if stable is not None:
        settings.replica_id = stable
    elif not await store.lock_identity(settings.replica_id):
        log.error(
            "REPLICA_ID %s is in use by another running replica: give each its own",
            settings.replica_id,
        )
    log.info("replica id %s", settings.replica_id)


def _again_when_store_is_back(
    watch: StoreWatch,
) -> Callable[[object, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """An error handler that keeps updates whose handling failed because the database was
    down: each is put back on the update queue once the database answers again, so an update
    Telegram already handed over (long polling) or a provider callback is handled, not lost.
    Any other failure goes on to the next error handler."""

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update is None or not await watch.failed():
            return
        update_id = getattr(update, "update_id", None)
        log.info("update %s: the database is down; handling it again once it is back", update_id)
        watch.after_outage(context.application.update_queue.put(update))
        raise ApplicationHandlerStop

    return on_error


async def run_bot(
    settings: Settings,
    stop: asyncio.Event,
    *,
    on_ready: Callable[[BotParts], None] | None = None,
    overrides: Overrides = SHIPPED,
) -> None:
    """Run the bot until `stop` is set; `on_ready` is called once it takes updates.
    `overrides`: what tests and benchmarks swap in (see `bot.overrides`).

    Long polling without `PUBLIC_URL`; with it, a webhook to our own web server. This is the
    one place that choice is made.
    """
    async with assemble(settings, overrides=overrides) as parts:
        warn_about_limits(settings, parts.providers)
        application = parts.application
        accepting = True
        async with application:
            await application.start()
            await parts.replicas.join()  # before any message goes
            servers: list[tuple[EmbeddedServer, asyncio.Task[None]]] = []
            if settings.metrics_address is not None:  # either mode: /metrics and /healthz
                servers.append(
                    await start_metrics_server(
                        parts, settings.metrics_address, lambda: application.running and accepting
                    )
                )
            if settings.public_url:
                servers.append(await start_web_server(parts, lambda: accepting))
                await set_webhook(parts)
            else:
                assert application.updater is not None
                # start_polling deletes any webhook left from an earlier deployment first.
                await application.updater.start_polling(
                    allowed_updates=handlers.ALLOWED_UPDATES,
                    drop_pending_updates=settings.drop_pending_updates,
                )
            tracker_task = asyncio.create_task(parts.tracker.run())
            heartbeat_task = asyncio.create_task(parts.replicas.run())
            balances_task = asyncio.create_task(parts.alerts.watch_balances(parts.providers))
            menus_task = asyncio.create_task(present(application.bot, settings))
            mode = "webhook" if settings.webhook_mode else "long polling"
            names = ", ".join(parts.providers)
            log.info(
                "bot @%s running (%s) with providers %s", application.bot.username, mode, names
            )
            if on_ready is not None:
                on_ready(parts)
            try:
                await stop.wait()
            finally:
                log.info("stopping: no new updates; finishing deliveries in flight")
                accepting = False  # Telegram keeps what we refuse now for the next start
                if application.updater is not None:
                    await application.updater.stop()
                tracker_task.cancel()
                balances_task.cancel()
                heartbeat_task.cancel()
                menus_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await menus_task
                with contextlib.suppress(asyncio.CancelledError):
                    await tracker_task
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat_task
                with contextlib.suppress(asyncio.CancelledError):
                    await balances_task
                await parts.lifecycle.aclose(grace=settings.shutdown_grace)
                await parts.replicas.leave()
                await application.stop()
                for server, serving in servers:
                    server.should_exit = True
                    await serving


async def present(bot: Bot, settings: Settings) -> None:
    """The command menus (one per language, and the admins' own in their private chats) and
    the descriptions, set once the bot takes updates: several Bot API calls that need not hold
    up the first update. Telegram keeps what an earlier start set meanwhile; a failure is
    logged, and the bot runs on."""
    try:
        await handlers.set_commands(
            bot, settings.admin_user_ids, billing=settings.billing == "stars"
        )
    except Exception as exc:  # e.g. Telegram unreachable for a moment: not worth a crash
        log.warning("could not set the command menus: %r", exc)
    try:
        await handlers.set_descriptions(bot)
    except Exception as exc:
        log.warning("could not set the descriptions: %r", exc)


async def set_webhook(parts: BotParts) -> None:
    settings = parts.settings
    assert settings.public_url is not None and settings.webhook_secret is not None
    await parts.application.bot.set_webhook(
        url=f"{settings.public_url}{settings.telegram_webhook_path}",
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=handlers.ALLOWED_UPDATES,
        drop_pending_updates=settings.drop_pending_updates,
    )


async def start_web_server(
    parts: BotParts, accepting: Callable[[], bool]
) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    from bot import web  # Starlette and uvicorn only when a server runs

    settings = parts.settings
    app = web.create_web_app(
        web.WebDeps(
            store=parts.store,
            application=parts.application,
            providers=parts.providers,
            metrics=parts.metrics,
            telegram_path=settings.telegram_webhook_path,
            webhook_secret=(
                settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            ),
            accepting=accepting,
            watch=parts.watch,
            replica_id=settings.replica_id,
        )
    )
    return await web.serve(app, settings.listen_host, settings.port, settings, "web server")


async def start_metrics_server(
    parts: BotParts, address: tuple[str, int], running: Callable[[], bool]
) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    """`/metrics` and `/healthz` on their own listener (127.0.0.1 by default): never on the
    public port."""
    from bot import web  # Starlette and uvicorn only when a server runs

    app = web.create_metrics_app(parts.metrics, parts.store, running, parts.settings.lease_seconds)
    return await web.serve(app, address[0], address[1], parts.settings, "metrics")


def warn_about_limits(settings: Settings, providers: dict[str, VideoProvider]) -> None:
    if settings.public_url:
        return
    url_only = [name for name, p in providers.items() if p.capabilities.image_by_url_only]
    if url_only:
        log.warning(
            "PUBLIC_URL is not set: %s cannot animate photos (they need a public image link)",
            ", ".join(url_only),
        )
