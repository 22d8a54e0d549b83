"""Fault tests reuse the end-to-end harness: the real bot against the fakes."""

from tests.e2e.conftest import (  # noqa: F401 - fixtures
    aimlapi,
    apiframe,
    apiframe_settings,
    kling,
    make_settings,
    media_origins,
    overrides,
    public_settings,
    start_bot,
    telegram,
)
