"""Checks on what users type that no provider would make sense of.

Lengths are per provider (see `bot.providers.base.unsupported`); this module finds the
characters nobody means to send: C0/C1 control codes (other than line breaks and tabs) and
the invisible or direction-flipping format characters that hide text. Joiners used inside
emoji (U+200C, U+200D) and the marks right-to-left writers rely on (U+200E, U+200F) are fine.
"""

from __future__ import annotations

import unicodedata

_ALLOWED_CONTROLS = frozenset("\n\r\t")
_HIDING_FORMATS = frozenset(
    "\u200b\u2060\ufeff"  # zero-width space, word joiner, byte-order mark
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # bidi isolates
)
_SHOWN = 3


def control_characters(text: str) -> str:
    """The offending characters as "U+0000, U+202E" (at most three), or "" when none."""
    bad = sorted({char for char in text if _is_unwanted(char)})
    return ", ".join(f"U+{ord(char):04X}" for char in bad[:_SHOWN])


def _is_unwanted(char: str) -> bool:
    if char in _ALLOWED_CONTROLS:
        return False
    return unicodedata.category(char) in ("Cc", "Cs") or char in _HIDING_FORMATS
