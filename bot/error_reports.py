"""Optional error reporting to Sentry (`SENTRY_DSN`), with every secret scrubbed first.

What reaches Sentry is exactly what the log calls an error: each ERROR record (with its
traceback) becomes an event, the INFO and WARNING lines before it its breadcrumbs, so there is
one channel to keep clean. No integration that reads requests, HTTP calls or local variables is
enabled: they would carry the bot token (it is inside every Telegram URL), callback tokens and
API keys. Whatever does get in is masked twice: before the SDK serialises the event (where it
may trim long strings, and a cut token would no longer match) and again just before sending.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

log = logging.getLogger("kling-bot")


def scrub(value: Any, mask: Callable[[str], str]) -> Any:
    """`value` (an event, or any part of one) with `mask` applied to every string in it,
    dictionary keys included."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {scrub(key, mask): scrub(item, mask) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, mask) for item in value]
    return value


def setup_error_reports(dsn: str | None, mask: Callable[[str], str]) -> bool:
    """Send errors to Sentry at `dsn` (nothing to do without one); True when enabled.

    The SDK is imported only here, so a bot without `SENTRY_DSN` never loads it."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.atexit import AtexitIntegration
    from sentry_sdk.integrations.dedupe import DedupeIntegration
    from sentry_sdk.integrations.excepthook import ExcepthookIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.scope import add_global_event_processor

    def scrubbed(event: Any, hint: Any) -> Any:
        return scrub(event, mask)

    sentry_sdk.init(
        dsn=dsn,
        release=f"kling-bot@{_version()}",
        send_default_pii=False,
        include_local_variables=False,  # frames' locals hold settings, tokens, request bodies
        max_request_body_size="never",
        default_integrations=False,  # no Starlette, httpx or stdlib: each would record URLs
        auto_enabling_integrations=False,
        integrations=[
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
            ExcepthookIntegration(),
            DedupeIntegration(),
            AtexitIntegration(callback=lambda pending, timeout: None),  # flush quietly
        ],
        before_send=scrubbed,
        before_breadcrumb=scrubbed,
    )
    add_global_event_processor(scrubbed)  # runs before long strings are trimmed
    log.info("errors are reported to Sentry")
    return True


def _version() -> str:
    try:
        return version("kling-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
