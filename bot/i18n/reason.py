"""Why something was refused or failed, kept as a catalogue key and its fields.

A reason is rendered in the reader's language when it is sent (or shown again in /jobs),
never stored as one language's words; `str()` is the English text, for logs and for the jobs
table's `error` column, which operators read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from bot.i18n.catalogue import Messages
from bot.i18n.en import EN

#: Catalogue fields a reason may name: the plain templates (not the menus and tables).
KEYS = frozenset(f.name for f in fields(Messages) if isinstance(getattr(EN, f.name), str))


@dataclass(frozen=True)
class Reason:
    """A catalogue `key` and the values of its template's fields (another `Reason` is
    rendered in the same language: "I can't make that video: <reason>").

    Write `Reason.of("key", field=...)` with a literal key: a unit test checks every such
    call against every language's template (tests/unit/test_i18n_and_texts.py).
    """

    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.key not in KEYS:
            raise ValueError(f"no message {self.key!r} in the catalogue")

    @classmethod
    def of(cls, key: str, **fields: Any) -> Reason:
        return cls(key, fields)

    def text(self, m: Messages) -> str:
        """The reason in the language of `m`."""
        values = {
            name: value.text(m) if isinstance(value, Reason) else value
            for name, value in self.fields.items()
        }
        return str(getattr(m, self.key)).format(**values)

    def __str__(self) -> str:
        return self.text(EN)

    def to_json(self) -> str:
        return json.dumps(_plain(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Reason | None:
        """A stored reason; None for nothing stored, or a key this version no longer has."""
        if not text:
            return None
        try:
            return _reason(json.loads(text))
        except (ValueError, TypeError, KeyError):
            return None


def _plain(reason: Reason) -> dict[str, Any]:
    values = {
        name: _plain(value) if isinstance(value, Reason) else value
        for name, value in reason.fields.items()
    }
    return {"key": reason.key, "fields": values}


def _reason(data: dict[str, Any]) -> Reason:
    values = {
        name: _reason(value) if isinstance(value, dict) else value
        for name, value in data["fields"].items()
    }
    return Reason(str(data["key"]), values)
