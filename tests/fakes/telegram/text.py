"""Message text as Telegram stores it: trimmed, with the entities it detects by itself
(commands, URLs, @mentions) added to any the sender gave. Offsets count UTF-16 code units."""

from __future__ import annotations

import re

from tests.fakes.telegram.api import JSON


def u16(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


_AUTO_ENTITY = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<url>\bhttps?://[^\s<>\"]+)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32}\b)"
)


def auto_entities(text: str) -> list[JSON]:
    """Entities Telegram detects by itself in any text: commands, URLs, @mentions."""
    found = []
    for match in _AUTO_ENTITY.finditer(text):
        kind = match.lastgroup or "url"
        value = match.group()
        if kind == "url":
            value = value.rstrip(".,;:!?)'")
        found.append({"type": kind, "offset": u16(text[: match.start()]), "length": u16(value)})
    return found


def merge_entities(explicit: list[JSON], detected: list[JSON]) -> list[JSON]:
    """Add detected entities, except inside code, pre and links (Telegram skips those)."""
    opaque = [e for e in explicit if e.get("type") in {"code", "pre", "text_link", "url"}]
    known = {(e.get("type"), e.get("offset"), e.get("length")) for e in explicit}

    def overlaps(entity: JSON) -> bool:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if (entity["type"], start, entity["length"]) in known:
            return True
        return any(o["offset"] < end and start < o["offset"] + o["length"] for o in opaque)

    merged = explicit + [e for e in detected if not overlaps(e)]
    return sorted(merged, key=lambda e: (e["offset"], -e["length"]))


def trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip surrounding whitespace as Telegram does, moving and clipping entities along."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = u16(text[: len(text) - len(text.lstrip())])
    total = u16(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept
