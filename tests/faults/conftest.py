"""Fault tests reuse the end-to-end harness: the real bot against the fakes."""

from tests.e2e.conftest import (  # noqa: F401 - fixtures
    aimlapi,
    apiframe,
    apiframe_settings,
    fast_pacing,
    make_settings,
    public_settings,
    start_bot,
    telegram,
)
