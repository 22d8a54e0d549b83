"""Reading the Bot API calls the fake recorded, as the tests read them."""

from __future__ import annotations

from typing import Any


def text_of(call: Any) -> str:
    """What a message call says: its text, or a media message's caption ("" for neither)."""
    return str(call.params.get("text") or call.params.get("caption") or "")


def buttons(call: Any) -> list[str]:
    """The `callback_data` of every inline button the call attaches, row by row."""
    rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]
