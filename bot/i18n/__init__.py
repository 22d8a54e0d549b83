"""The message catalogue: English and Russian, picked from a user's Telegram language.

Every user-facing text lives in `bot/i18n/<language>.py`; `bot.texts` composes them.
"""

from __future__ import annotations

from typing import Literal

from bot.i18n.catalogue import Messages
from bot.i18n.en import EN
from bot.i18n.reason import Reason
from bot.i18n.ru import RU

Lang = Literal["en", "ru"]
DEFAULT: Lang = "en"
CATALOGUES: dict[Lang, Messages] = {"en": EN, "ru": RU}


def language(code: str | None) -> Lang:
    """Our language for a Telegram `language_code` (an IETF tag such as "ru" or "en-GB")."""
    primary = (code or "").split("-")[0].split("_")[0].lower()
    return "ru" if primary == "ru" else DEFAULT


def messages(lang: str | None) -> Messages:
    """The catalogue for a language we store (job params, settings); English if unknown."""
    return next((m for code, m in CATALOGUES.items() if code == lang), EN)


__all__ = [
    "CATALOGUES",
    "DEFAULT",
    "EN",
    "RU",
    "Lang",
    "Messages",
    "Reason",
    "language",
    "messages",
]
