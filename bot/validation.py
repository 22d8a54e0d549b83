"""Checks on what users type, each with its own plain answer (and no job)."""

from __future__ import annotations

import unicodedata

_ALLOWED_CONTROLS = {"\n", "\t"}


def prompt_problem(text: str, *, limit: int, what: str = "prompt") -> str | None:
    """Why `text` cannot be used as a prompt, or None. Empty text is the caller's usage case."""
    bad = sorted({c for c in text if _is_control(c)})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:3])
        return f"The {what} contains invisible control characters ({shown}); please retype it."
    if len(text) > limit:
        return f"The {what} is {len(text)} characters long; please keep it under {limit}."
    return None


def _is_control(char: str) -> bool:
    return char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co")
