"""Which providers may take a request, in the order to try them.

`Submitter.candidates` already keeps the operator's failover order and drops providers that
cannot serve the parameters; this adds the two things it does not know about: the user's
preferred provider goes first, and an end frame (a second photo) needs a provider that takes one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.providers.base import Capabilities


@dataclass(frozen=True)
class NoEndFrame:
    """No candidate takes an end frame. `others` lists configured providers that do."""

    provider: str  # the provider the request would have gone to
    others: tuple[str, ...]


def order(
    candidates: Sequence[str],
    capabilities: Mapping[str, Capabilities],
    *,
    preferred: str | None = None,
    end_frame: bool = False,
) -> list[str] | NoEndFrame:
    """`candidates` with `preferred` first; for an end frame, only providers that take one."""
    names = list(candidates)
    if preferred in names:
        names.remove(preferred)
        names.insert(0, preferred)
    if not end_frame:
        return names
    able = [name for name in names if capabilities[name].end_frame]
    if able:
        return able
    first = names[0] if names else next(iter(capabilities), "")
    others = tuple(name for name, caps in capabilities.items() if caps.end_frame)
    return NoEndFrame(first, others)
