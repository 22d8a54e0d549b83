"""Settings a user (in private) or a group (set by its admins) keeps for every new video.

In a group, the group's choices win over a member's own, and options written in the command win
over both. Only values someone chose are stored: an unset field leaves the choice to the
provider, so a bot nobody configured sends exactly what it always did.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from bot.params import PARAM, PARAMS, listed
from bot.providers.base import Capabilities
from bot.store import PreferenceStore

log = logging.getLogger(__name__)

#: Job parameters of the bot's own, kept beside the provider parameters in `job.params`.
AS_FILE = "as_file"  # True: send the result as a document
LANG = "lang"  # the requester's language, for messages sent later
PROVIDER = "provider"  # the preferred provider, for "Again"


@dataclass(frozen=True)
class Preferences:
    """One owner's choices; None means "no preference". One field per `Param` kept as a
    setting (a unit test holds the two together); what they mean lives in `bot.params`."""

    model: str | None = None
    duration: int | None = None
    aspect_ratio: str | None = None
    mode: str | None = None
    camera: str | None = None
    negative_prompt: str | None = None
    provider: str | None = None
    as_file: bool | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preferences:
        """Read stored values, dropping unknown keys and values of the wrong type."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            value, expected = data.get(f.name), PARAM[f.name].type
            if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
                values[f.name] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    def over(self, base: Preferences) -> Preferences:
        """These choices, with `base` filling the fields left unset."""
        return replace(base, **self.to_dict())

    def job_params(self) -> dict[str, Any]:
        """The chosen values as job parameters (the preferred provider is passed apart; a
        switch is passed only when on)."""
        chosen = self.to_dict()
        return {
            p.name: chosen[p.name]
            for p in PARAMS
            if p.job and p.name in chosen and chosen[p.name] is not False
        }

    def fit(self, caps: Capabilities) -> tuple[Preferences, list[str]]:
        """These choices without the values `caps` does not offer (with the chosen model, where
        it declares values per model: a 12 s duration goes with a switch to a 5|10 s model),
        and the fields dropped."""
        chosen = self.to_dict()
        model = chosen.get("model") if chosen.get("model") in caps.models else caps.default_model
        dropped = [
            p.name
            for p in PARAMS
            if p.name in chosen
            and (
                (p.offered and chosen[p.name] not in listed(p, caps, model=model))
                or (p.limit and len(chosen[p.name]) > getattr(caps, p.limit))
            )
        ]
        return replace(self, **dict.fromkeys(dropped)), dropped


def owner_id(chat_id: int, user_id: int, *, private: bool) -> int:
    """Whose settings apply: the user's in a private chat, the group's elsewhere.

    Group chat ids are negative and user ids positive, so one column holds both.
    """
    return user_id if private else chat_id


async def load(store: PreferenceStore, owner: int) -> Preferences:
    return Preferences.from_dict(await store.get_preferences(owner))


async def effective(
    store: PreferenceStore, *, user_id: int, chat_id: int, private: bool
) -> Preferences:
    """What applies to a request: the group's choices over the user's own."""
    mine = await load(store, user_id)
    if private:
        return mine
    return (await load(store, chat_id)).over(mine)
