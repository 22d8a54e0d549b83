"""Video providers: the registry of every provider the bot knows, and building the named ones.

Each provider module exports one `ProviderSpec` (`bot.providers.spec`); adding a provider is
its module and one line below. `bot.config` reads every spec's settings, and checks
`VIDEO_PROVIDERS` against these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.providers import aimlapi, apiframe, apiframe2, apilaplas, kling, makevid, sandbox
from bot.providers.base import VideoProvider
from bot.providers.spec import Common, ProviderSettings, ProviderSpec

#: Every provider, by name, in the order `kling-bot` lists them.
REGISTRY: Mapping[str, ProviderSpec[Any]] = {
    spec.name: spec
    for spec in (
        sandbox.SPEC,
        apiframe.SPEC,
        apiframe2.SPEC,
        makevid.SPEC,
        aimlapi.SPEC,
        apilaplas.SPEC,
        kling.SPEC,
    )
}


def build_providers(
    chosen: Mapping[str, ProviderSettings], common: Common
) -> dict[str, VideoProvider]:
    """One client per chosen provider (`Settings.providers`); dict order is the failover order."""
    return {name: REGISTRY[name].build(settings, common) for name, settings in chosen.items()}
