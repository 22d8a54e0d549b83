"""A fake Telegram Bot API server for end-to-end tests.

The real python-telegram-bot ``Application`` talks to this Starlette app over real HTTP, so
the fake reproduces what the bot can observe of https://core.telegram.org/bots/api: the
``{"ok": ..., "result": ...}`` envelopes, Telegram's own error codes and descriptions, long
polling, webhooks, multipart uploads, media fetched by URL and file downloads.  Tests drive
it from the user's side (``send_text``, ``press_button`` ...) and inspect what the bot did
(``calls``, ``wait_for``, ``messages``), or inject faults (``fail_next``, ``blocked_users``).

    async with FakeTelegram() as tg:  # point TELEGRAM_API_URL at tg.url
        alice = tg.user(1001)
        tg.send_text(alice, "/start")
        reply = await tg.wait_for("sendMessage", lambda call: call.params["chat_id"] == 1001)

Not implemented: Markdown/MarkdownV2 parsing (text is kept verbatim), inline messages,
media groups sent by the bot, webhook replies carrying a method, and most methods beyond
the ones in ``METHODS`` (those answer 404 "Not Found").
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import io
import json
import logging
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import LocalServer

JSON = dict[str, Any]
_log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_UPLOAD_BYTES = 50 * MB  # multipart uploads (sendVideo, sendDocument, ...)
MAX_URL_BYTES = 20 * MB  # media Telegram fetches itself from an http(s) URL
MAX_URL_PHOTO_BYTES = 5 * MB
MAX_DOWNLOAD_BYTES = 20 * MB  # getFile refuses bigger files
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
_BODY_SLACK = 64 * 1024  # multipart framing and text fields on top of a maximal file

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active;"
    " use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is"
    " running"
)
URL_FAILED = "Bad Request: failed to get HTTP URL content"
URL_WRONG_TYPE = "Bad Request: wrong type of the web page content"
BAD_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

METHODS = (
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setMyDescription",
    "getMyDescription",
    "setMyShortDescription",
    "getMyShortDescription",
    "sendMessage",
    "sendVideo",
    "sendDocument",
    "sendPhoto",
    "sendAnimation",
    "sendChatAction",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "getFile",
    "answerCallbackQuery",
    "getChat",
    "getChatMember",
)
_CANONICAL = {name.lower(): name for name in METHODS}
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Update types Telegram leaves out unless they are asked for explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MEDIA_KINDS = ("video", "animation", "document", "photo")
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_GIFT_TYPES = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)


# --------------------------------------------------------------------------- records


@dataclass
class UploadedFile:
    """One multipart attachment exactly as the bot sent it."""

    filename: str | None
    content_type: str | None
    data: bytes
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.data)


@dataclass
class Call:
    """One Bot API request and the answer the fake gave (recorded once answered)."""

    method: str
    params: JSON
    files: dict[str, UploadedFile]
    at: float
    http_status: int = 200
    response: JSON = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")


@dataclass
class WebhookDelivery:
    """One attempt to push an update to the webhook (status None: no HTTP answer at all)."""

    update_id: int
    status: int | None
    at: float
    error: str | None = None


@dataclass
class StoredFile:
    """A file the fake knows: its bytes plus the metadata Telegram would keep."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0
    photo_sizes: list[JSON] | None = None  # the whole PhotoSize set a photo file belongs to


class ApiError(Exception):
    """A Bot API error; raised anywhere in a handler, rendered as Telegram's error envelope."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.http_status = http_status or error_code

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass
class _Described:
    """A successful result that carries Telegram's optional ``description`` (setWebhook)."""

    result: Any
    description: str


# --------------------------------------------------------------------------- request decoding

_INT_PARAMS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "duration",
        "width",
        "height",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
        "user_id",
        "cache_time",
    }
)
_CHAT_ID_PARAMS = frozenset({"chat_id", "from_chat_id"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "supports_streaming",
        "has_spoiler",
        "drop_pending_updates",
        "show_alert",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
_JSON_PARAMS = {
    "reply_markup": "reply keyboard markup",
    "reply_parameters": "reply parameters",
    "entities": "entities",
    "caption_entities": "caption entities",
    "allowed_updates": "allowed updates",
    "commands": "commands",
    "scope": "bot command scope",
    "link_preview_options": "link preview options",
    "media": "media",
}


def _to_int(value: Any) -> int:
    """Integers as the Bot API server reads them: leading digits, anything else is 0."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return int(value)
    match = re.match(r"\s*[-+]?\d+", str(value))
    return int(match.group()) if match else 0


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1"}
    return bool(value)


def _decode_param(name: str, value: Any) -> Any:
    """Turn one transported value (form string or JSON value) into its Bot API type."""
    if name in _CHAT_ID_PARAMS:
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        return value
    if name in _INT_PARAMS:
        return _to_int(value)
    if name in _BOOL_PARAMS:
        return _to_bool(value)
    if name in _JSON_PARAMS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {_JSON_PARAMS[name]} JSON object") from None
    return value


def _decode_params(raw: JSON) -> tuple[JSON, ApiError | None]:
    """Decode every parameter; keep the raw value of the first undecodable one and report it."""
    params: JSON = {}
    error: ApiError | None = None
    for name, value in raw.items():
        try:
            params[name] = _decode_param(name, value)
        except ApiError as exc:
            params[name] = value
            error = error or exc
    return params, error


def _header_params(value: str) -> dict[str, str]:
    """Parameters of a header such as ``form-data; name="video"; filename="a.mp4"``."""
    params: dict[str, str] = {}
    for match in re.finditer(r';\s*([\w*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', value):
        raw = match.group(2).strip()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[match.group(1).lower()] = raw
    return params


def _parse_multipart(body: bytes, content_type: str) -> tuple[JSON, dict[str, UploadedFile]]:
    """A small multipart/form-data parser (Starlette's needs python-multipart, absent here)."""
    boundary = _header_params(content_type).get("boundary")
    if not boundary:
        raise _bad_request("can't parse multipart/form-data: no boundary")
    fields: JSON = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            files[name] = UploadedFile(disposition["filename"], headers.get("content-type"), data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


async def _read_body(request: Request) -> bytes:
    """Read the whole body, but answer 413 (after draining it) when it is too big to upload."""
    limit = MAX_UPLOAD_BYTES + _BODY_SLACK
    declared = request.headers.get("content-length", "0")
    too_big = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        too_big = too_big or size > limit
        if not too_big:
            chunks.append(chunk)
    if too_big:
        raise ApiError(413, "Request Entity Too Large")
    return b"".join(chunks)


async def _read_request(request: Request) -> tuple[JSON, dict[str, UploadedFile]]:
    """Parameters from the query string plus any of the three body encodings Telegram takes."""
    raw: JSON = dict(request.query_params)
    body = await _read_body(request)
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    files: dict[str, UploadedFile] = {}
    if not body:
        return raw, files
    if media_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise _bad_request("can't parse JSON object") from None
        if isinstance(decoded, dict):
            raw.update(decoded)
    elif media_type == "application/x-www-form-urlencoded":
        raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif media_type == "multipart/form-data":
        fields, files = _parse_multipart(body, content_type)
        raw.update(fields)
    if any(upload.size > MAX_UPLOAD_BYTES for upload in files.values()):
        raise ApiError(413, "Request Entity Too Large")
    return raw, files


# --------------------------------------------------------------------------- text and entities


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


_AUTO_ENTITY = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<url>\bhttps?://[^\s<>\"]+)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32}\b)"
)


def _auto_entities(text: str) -> list[JSON]:
    """Entities Telegram detects by itself in any text: commands, URLs, @mentions."""
    found = []
    for match in _AUTO_ENTITY.finditer(text):
        kind = match.lastgroup or "url"
        value = match.group()
        if kind == "url":
            value = value.rstrip(".,;:!?)'")
        found.append({"type": kind, "offset": _u16(text[: match.start()]), "length": _u16(value)})
    return found


def _merge_entities(explicit: list[JSON], detected: list[JSON]) -> list[JSON]:
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


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip surrounding whitespace as Telegram does, moving and clipping entities along."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = _u16(text[: len(text) - len(text.lstrip())])
    total = _u16(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_CHAR_REF = re.compile(r"&(?:#x([0-9a-fA-F]*)|#([0-9]*)|([A-Za-z]*))")


def _decode_char_ref(text: str, pos: int) -> tuple[str | None, int]:
    """Decode ``&lt;``/``&#60;``/``&#x3c;`` at ``pos`` like TDLib (the ``;`` is optional)."""
    match = _CHAR_REF.match(text, pos)
    if match is None:
        return None, pos
    hex_digits, digits, name = match.groups()
    char: str | None
    if name is not None:
        char = _NAMED_REFS.get(name)
    elif (hex_digits or digits) and match.end() - pos < 10:
        code = int(hex_digits, 16) if hex_digits else int(digits)
        char = chr(code) if 0 < code < 0x10FFFF and not 0xD800 <= code <= 0xDFFF else None
    else:
        char = None
    end = match.end()
    if char is not None and end < len(text) and text[end] == ";":
        end += 1
    return char, end


class _HtmlParser:
    """Telegram's HTML parse mode, following TDLib's parser and its error messages.

    One deliberate difference: with ``strict_ampersand`` a bare ``&`` that is no character
    reference is an error, because the Bot API documentation requires escaping it (Telegram
    itself shows such an ``&`` as is, and silently decodes ``&amp`` etc. inside user text).
    """

    def __init__(self, source: str, *, strict_ampersand: bool) -> None:
        self.src = source
        self.pos = 0
        self.strict_ampersand = strict_ampersand
        self.out: list[str] = []
        self.offset = 0  # UTF-16 length of the output so far
        self.open: list[tuple[str, str, int]] = []  # (tag, argument, start offset)
        self.entities: list[JSON] = []

    def parse(self) -> tuple[str, list[JSON]]:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "&":
                self._char_ref()
            elif char == "<":
                self._tag()
            else:
                self._emit(char)
                self.pos += 1
        if self.open:
            tag = self.open[-1][0]
            raise self._error(f'Can\'t find end tag corresponding to start tag "{tag}"')
        for entity in self.entities:
            entity.pop("_language", None)
        return "".join(self.out), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    def _error(self, message: str) -> ApiError:
        return _bad_request(f"can't parse entities: {message}")

    def _byte(self, pos: int) -> int:
        return len(self.src[:pos].encode())

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.offset += _u16(text)

    def _skip_spaces(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1

    def _char_ref(self) -> None:
        char, end = _decode_char_ref(self.src, self.pos)
        if char is not None:
            self._emit(char)
            self.pos = end
            return
        if self.strict_ampersand:
            raise self._error(
                f'Character "&" must be escaped as "&amp;" at byte offset {self._byte(self.pos)}'
            )
        self._emit("&")
        self.pos += 1

    def _tag(self) -> None:
        begin = self.pos
        self.pos += 1
        if self.src.startswith("/", self.pos):
            self._end_tag(begin)
        else:
            self._start_tag(begin)

    def _start_tag(self, begin: int) -> None:
        end = self.pos
        while end < len(self.src) and not self.src[end].isspace() and self.src[end] != ">":
            end += 1
        if end >= len(self.src):
            raise self._error(f"Unclosed start tag at byte offset {self._byte(begin)}")
        tag = self.src[self.pos : end].lower()
        self.pos = end
        if tag not in _HTML_TAGS:
            raise self._error(f'Unsupported start tag "{tag}" at byte offset {self._byte(begin)}')
        attributes = self._attributes(tag, begin)
        self.open.append((tag, self._argument(tag, attributes, begin), self.offset))

    def _attributes(self, tag: str, begin: int) -> dict[str, str]:
        attributes: dict[str, str] = {}
        unclosed = f"Unclosed start tag at byte offset {self._byte(begin)}"
        while True:
            self._skip_spaces()
            if self.pos >= len(self.src):
                raise self._error(unclosed)
            if self.src[self.pos] == ">":
                self.pos += 1
                return attributes
            start = self.pos
            while (
                self.pos < len(self.src)
                and self.src[self.pos] not in "=>"
                and not (self.src[self.pos].isspace())
            ):
                self.pos += 1
            name = self.src[start : self.pos].lower()
            self._skip_spaces()
            if self.pos >= len(self.src):
                raise self._error(unclosed)
            if self.src[self.pos] != "=":
                if tag == "blockquote" and name == "expandable":
                    attributes[name] = ""
                    continue
                raise self._error(
                    "Expected equal sign in declaration of an attribute of the tag"
                    f' "{tag}" at byte offset {self._byte(begin)}'
                )
            self.pos += 1
            self._skip_spaces()
            attributes[name] = self._attribute_value(unclosed)

    def _attribute_value(self, unclosed: str) -> str:
        if self.pos >= len(self.src):
            raise self._error(unclosed)
        quote = self.src[self.pos]
        value: list[str] = []
        if quote in "'\"":
            self.pos += 1
            while self.pos < len(self.src) and self.src[self.pos] != quote:
                char, end = _decode_char_ref(self.src, self.pos)
                if char is None:
                    char, end = self.src[self.pos], self.pos + 1
                value.append(char)
                self.pos = end
            self.pos += 1
        else:
            while self.pos < len(self.src) and (
                self.src[self.pos].isalnum() or self.src[self.pos] in ".-"
            ):
                value.append(self.src[self.pos])
                self.pos += 1
        if self.pos >= len(self.src):
            raise self._error(unclosed)
        return "".join(value)

    def _argument(self, tag: str, attributes: dict[str, str], begin: int) -> str:
        if tag == "a":
            return attributes.get("href", "")
        if tag == "code":
            return attributes.get("class", "").removeprefix("language-")
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise self._error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte(begin)}'
            )
        if tag == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise self._error(
                    "Custom emoji entity must contain a valid custom emoji identifier"
                )
            return emoji_id
        if tag == "blockquote":
            return "expandable" if "expandable" in attributes else ""
        return ""

    def _end_tag(self, begin: int) -> None:
        if not self.open:
            raise self._error(f"Unexpected end tag at byte offset {self._byte(begin)}")
        self.pos += 1
        start = self.pos
        while (
            self.pos < len(self.src)
            and not self.src[self.pos].isspace()
            and self.src[self.pos] != ">"
        ):
            self.pos += 1
        name = self.src[start : self.pos].lower()
        self._skip_spaces()
        if self.pos >= len(self.src) or self.src[self.pos] != ">":
            raise self._error(f"Unclosed end tag at byte offset {self._byte(begin)}")
        self.pos += 1
        tag, argument, offset = self.open.pop()
        if name and name != tag:
            raise self._error(
                f'Unmatched end tag at byte offset {self._byte(begin)}, expected "</{tag}>",'
                f' found "</{name}>"'
            )
        self._close(tag, argument, offset)

    def _close(self, tag: str, argument: str, offset: int) -> None:
        length = self.offset - offset
        if length <= 0:
            return
        entity: JSON = {"offset": offset, "length": length}
        if tag in _SIMPLE_TAGS:
            entity["type"] = _SIMPLE_TAGS[tag]
        elif tag == "a":
            if not argument:
                return
            entity.update(type="text_link", url=argument)
        elif tag == "code":
            entity.update(type="code", _language=argument)
        elif tag == "pre":
            last = self.entities[-1] if self.entities else None
            if (
                last
                and last["type"] == "code"
                and last.get("_language")
                and (last["offset"], last["length"]) == (offset, length)
            ):
                last.update(type="pre", language=last.pop("_language"))
                return
            entity["type"] = "pre"
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        else:  # tg-emoji
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        self.entities.append(entity)


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSON]]:
    """Plain text and entities of an HTML-formatted message; ApiError 400 when malformed."""
    return _HtmlParser(text, strict_ampersand=strict_ampersand).parse()


# --------------------------------------------------------------------------- small machinery


class _Signal:
    """Wake every waiter on each change; usable from synchronous code in the loop thread."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float | None) -> bool:
        """Until the next notify(); False when ``seconds`` passed first."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return False
        return True


class _Bucket:
    """A token bucket: ``capacity`` sends at once, refilled at ``rate`` per second."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = now

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.tokens -= 1


class _Window:
    """A sliding window: at most ``limit`` sends in any ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.sent: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.period:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.limit else self.sent[0] + self.period - now

    def take(self, now: float) -> None:
        self.sent.append(now)


class _RateLimiter:
    """Telegram's broadcast limits: "about one message per second" per chat, taken strictly (no
    burst: a second message within the second is answered 429), 20/min per group, 30/s overall.

    ``chat_intervals`` makes chosen chats stricter still: "about" leaves Telegram room to count
    differently than a bot does, and a bot must cope with that after one 429.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.chat_intervals: dict[int, float] = {}  # seconds per message, where not 1
        self._chats: dict[int, _Bucket] = {}
        self._groups: dict[int, _Window] = {}
        self._overall = _Window(30, 1.0)

    def acquire(self, chat_id: int) -> None:
        now = self.clock()
        bucket = self._chats.setdefault(chat_id, _Bucket(1, 1.0, now))
        bucket.rate = 1.0 / self.chat_intervals.get(chat_id, 1.0)
        limits: list[_Bucket | _Window] = [bucket, self._overall]
        if chat_id < 0:
            limits.append(self._groups.setdefault(chat_id, _Window(20, 60.0)))
        wait = max(limit.wait_time(now) for limit in limits)
        if wait > 0:
            raise _too_many_requests(max(1, math.ceil(wait)))
        for limit in limits:
            limit.take(now)


def _now() -> int:
    return int(time.time())


def _ok(outcome: Any) -> JSON:
    if isinstance(outcome, _Described):
        return {"ok": True, "result": outcome.result, "description": outcome.description}
    return {"ok": True, "result": outcome}


def _json_error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.http_status)


_FAKE_ONLY_KEYS = ("supports_streaming",)  # kept in the store, not part of a Message


def _public(message: JSON) -> JSON:
    """A copy of a stored message as the API returns it."""
    public = copy.deepcopy(message)
    for key in _FAKE_ONLY_KEYS:
        public.pop(key, None)
    return public


def _button_datas(message: JSON) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


def _extension(mime_type: str | None, file_name: str | None, default: str) -> str:
    if file_name and "." in file_name:
        return file_name.rsplit(".", 1)[1].lower()
    guessed = mimetypes.guess_extension(mime_type or "") if mime_type else None
    return guessed.lstrip(".") if guessed else default


# --------------------------------------------------------------------------- the fake


@dataclass
class Hold:
    """A method held by `FakeTelegram.hold`: `arrived` is set when a request is waiting."""

    arrived: asyncio.Event
    released: asyncio.Event
    dropped: bool = False
    chat_id: int | None = None  # only requests for this chat are held; None: every request

    def holds(self, raw: JSON) -> bool:
        return self.chat_id is None or str(raw.get("chat_id")) == str(self.chat_id)


class FakeTelegram:
    """The fake Bot API server plus the test-facing controls around it."""

    def __init__(
        self,
        token: str = "123456789:AAFakeTokenForTests_abcdefghijklmnop",  # noqa: S107
        *,
        bot_username: str = "kling_test_bot",
        bot_id: int = 123456789,
        enforce_rate_limits: bool = False,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.enforce_rate_limits = enforce_rate_limits
        self.url = ""
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": " ".join(p.capitalize() for p in bot_username.split("_")),
            "username": bot_username,
        }
        # Knobs tests may flip.
        self.refuse_urls = False
        self.blocked_users: set[int] = set()
        self.privacy_mode = False  # True: groups only deliver commands, mentions, replies to bot
        self.strict_html = True  # a bare "&" in HTML is an error (see _HtmlParser)
        self.webhook_retry_delay = 0.05  # first backoff after a failed push; doubles to 1 s
        self.clock: Callable[[], float] = time.monotonic  # drives the rate limiter
        # What happened.
        self.calls: list[Call] = []
        self._holds: dict[str, Hold] = {}
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.downloads: list[str] = []
        self.callback_answers: dict[str, JSON] = {}
        self.rate_limited_responses = 0
        self.internal_errors: list[Exception] = []  # bugs in the fake itself (answered 500)
        # State.
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._messages: dict[int, dict[int, JSON]] = {}
        self._last_message_id: dict[int, int] = {}
        self._roles: dict[tuple[int, int], str] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = 0
        self._queries: dict[str, JSON] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        # (field, language_code) -> text; "" is every language without its own
        self._descriptions: dict[tuple[str, str], str] = {}
        self._pending: list[JSON] = []
        self._last_update_id = 0
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._polling = 0
        self._webhook: JSON | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._faults: dict[str, deque[ApiError]] = {}
        self._limiter = _RateLimiter(lambda: self.clock())
        self._changed = _Signal()
        self._closing = False
        self._http: httpx.AsyncClient | None = None
        self._handlers: dict[str, Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]] = {
            name: getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower())
            for name in METHODS
        }
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._download, methods=["GET"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST", "HEAD"]),
            ]
        )
        self._server = LocalServer(self.app)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> str:
        self._closing = False
        self.url = await self._server.start()
        return self.url

    async def stop(self) -> None:
        """Release parked long polls first: uvicorn waits for open requests on shutdown."""
        self._closing = True
        self._changed.notify()
        await self._stop_webhook_task()
        await self._server.stop()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        """The client for webhook pushes and URL fetches, made on first use (TLS setup is slow)."""
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, timeout=10.0)
        return self._http

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- people and chats

    def user(
        self,
        user_id: int,
        first_name: str = "Alice",
        *,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> JSON:
        """A User who has started the bot, so their private chat exists."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._register_user(user)
        return copy.deepcopy(user)

    def group(
        self,
        chat_id: int,
        title: str = "Test group",
        *,
        type: str = "supergroup",
        is_forum: bool = False,
    ) -> JSON:
        """A group or supergroup chat the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group and supergroup chat ids are negative")
        chat: JSON = {"id": chat_id, "title": title, "type": type}
        if is_forum:
            chat["is_forum"] = True
        self._chats[chat_id] = chat
        return copy.deepcopy(chat)

    def set_admin(self, chat_id: int, user_id: int, *, owner: bool = False) -> None:
        """Make ``user_id`` (possibly the bot itself) an administrator or the creator."""
        self._roles[(chat_id, user_id)] = "creator" if owner else "administrator"

    def _register_user(self, user: JSON) -> None:
        self._users[user["id"]] = copy.deepcopy(user)
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        self._chats[user["id"]] = chat

    # ----------------------------------------------------------------- incoming updates

    def send_text(
        self,
        user: JSON,
        text: str,
        *,
        chat: JSON | None = None,
        reply_to: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSON:
        """A user writes ``text``; commands, URLs and mentions get their entities."""
        content: JSON = {"text": text}
        if entities := _auto_entities(text):
            content["entities"] = entities
        return self._incoming(user, chat, content, reply_to, message_thread_id)

    def send_photo(
        self,
        user: JSON,
        image: bytes,
        *,
        caption: str | None = None,
        chat: JSON | None = None,
        reply_to: int | None = None,
        media_group_id: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> JSON:
        """A user sends a photo; Telegram offers it in several sizes, the largest last."""
        sizes = self._store_photo(image, width, height)
        content: JSON = {"photo": sizes, **self._caption_content(caption)}
        if media_group_id:
            content["media_group_id"] = media_group_id
        return self._incoming(user, chat, content, reply_to)

    def send_document(
        self,
        user: JSON,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        chat: JSON | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """A user sends a file as a document."""
        stored = self._store_file("document", data, mime_type=mime_type, file_name=file_name)
        content: JSON = {"document": self._media_object(stored)}
        content.update(self._caption_content(caption))
        return self._incoming(user, chat, content, reply_to)

    def send_sticker(self, user: JSON, *, chat: JSON | None = None) -> JSON:
        """A user sends a (static, 512x512 WebP) sticker."""
        buffer = io.BytesIO()
        Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buffer, "WEBP")
        stored = self._store_file("sticker", buffer.getvalue(), mime_type="image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\N{SLIGHTLY SMILING FACE}",
            "set_name": "FakeStickers",
            "file_size": len(stored.data),
        }
        return self._incoming(user, chat, {"sticker": sticker}, None)

    def press_button(self, user: JSON, message: JSON, data: str, *, strict: bool = True) -> JSON:
        """A user taps an inline button of a bot message; returns the CallbackQuery.

        With ``strict`` the message must currently show a button with that callback_data,
        which catches tests pressing buttons the bot has already removed.
        """
        chat_id = message["chat"]["id"]
        stored = self._messages.get(chat_id, {}).get(message["message_id"])
        if stored is None:
            raise KeyError(f"no message {message['message_id']} in chat {chat_id}")
        if strict and data not in _button_datas(stored):
            raise AssertionError(
                f"message has no button {data!r}; buttons: {_button_datas(stored)}"
            )
        self._register_user(user)
        query_id = str(4_000_000_000_000_000 + len(self._queries) + 1)
        digest = hashlib.sha256(f"{self.bot_id}:{chat_id}".encode()).hexdigest()
        query: JSON = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "message": _public(stored),
            "chat_instance": str(int(digest[:15], 16)),
            "data": data,
        }
        self._queries[query_id] = query
        self._enqueue("callback_query", query)
        return copy.deepcopy(query)

    def _incoming(
        self,
        user: JSON,
        chat: JSON | None,
        content: JSON,
        reply_to: int | None,
        message_thread_id: int | None = None,
    ) -> JSON:
        self._register_user(user)
        if chat is not None:
            self._chats.setdefault(chat["id"], copy.deepcopy(chat))
        target = self._chats[chat["id"] if chat else user["id"]]
        message: JSON = {
            "message_id": self._next_message_id(target["id"]),
            "from": copy.deepcopy(user),
            "chat": copy.deepcopy(target),
            "date": _now(),
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            if target.get("is_forum"):
                message["is_topic_message"] = True
        if reply_to is not None:
            replied = self._messages.get(target["id"], {}).get(reply_to)
            if replied is None:
                raise KeyError(f"no message {reply_to} in chat {target['id']} to reply to")
            message["reply_to_message"] = self._reply_copy(replied)
        message.update(copy.deepcopy(content))
        self._messages.setdefault(target["id"], {})[message["message_id"]] = message
        if self._delivered_to_bot(message):
            self._enqueue("message", message)
        return _public(message)

    def _delivered_to_bot(self, message: JSON) -> bool:
        """Privacy mode: in groups the bot only sees commands, mentions and replies to it."""
        if not self.privacy_mode or message["chat"]["type"] == "private":
            return True
        replied = message.get("reply_to_message", {})
        if replied.get("from", {}).get("id") == self.bot_id:
            return True
        text = message.get("text") or message.get("caption") or ""
        mine = rf"/\w+(@{re.escape(self.bot_username)})?\b|@{re.escape(self.bot_username)}\b"
        return re.search(mine, text, re.IGNORECASE) is not None

    def _caption_content(self, caption: str | None) -> JSON:
        if not caption:
            return {}
        content: JSON = {"caption": caption}
        if entities := _auto_entities(caption):
            content["caption_entities"] = entities
        return content

    def _enqueue(self, kind: str, payload: JSON) -> None:
        """Create an update, unless the bot's allowed_updates exclude its type (as Telegram)."""
        if self._allowed_updates:
            if kind not in self._allowed_updates:
                return
        elif kind in _OPT_IN_UPDATES:
            return
        self._last_update_id += 1
        self._pending.append({"update_id": self._last_update_id, kind: copy.deepcopy(payload)})
        self._changed.notify()

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed (getUpdates) or delivered (webhook)."""
        return copy.deepcopy(self._pending)

    # ----------------------------------------------------------------- inspection

    def calls_to(self, method: str) -> list[Call]:
        name = self._canonical(method)
        return [call for call in self.calls if call.method == name]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
    ) -> Call:
        """The earliest answered call of ``method`` matching ``predicate``, waiting for it."""
        return (await self.wait_for_count(method, 1, predicate, timeout=timeout))[0]

    async def wait_for_count(
        self,
        method: str,
        count: int,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
    ) -> list[Call]:
        """The first ``count`` matching calls, waiting until that many have been answered."""
        name = self._canonical(method)

        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == name and (not predicate or predicate(c))]

        await self._wait_until(
            lambda: len(matching()) >= count,
            timeout,
            lambda: f"{count} matching {name} call(s), got {len(matching())}",
        )
        return matching()[:count]

    async def wait_for_webhook_delivery(
        self,
        predicate: Callable[[WebhookDelivery], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test deadline, not an I/O timeout
    ) -> WebhookDelivery:
        """The earliest webhook push attempt matching ``predicate`` (e.g. a 2xx status)."""

        def found() -> list[WebhookDelivery]:
            return [d for d in self.webhook_deliveries if not predicate or predicate(d)]

        await self._wait_until(lambda: bool(found()), timeout, lambda: "a webhook delivery")
        return found()[0]

    async def wait_until_polling(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until a getUpdates long poll is parked, i.e. the next update is answered at once."""
        await self._wait_until(lambda: self._polling > 0, timeout, lambda: "a parked getUpdates")

    async def _wait_until(
        self, condition: Callable[[], bool], seconds: float, what: Callable[[], str]
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {seconds}s waiting for {what()}; "
                    f"recorded calls: {self._call_summary()}"
                )
            await self._changed.wait(remaining)

    def _call_summary(self) -> str:
        """Recorded methods in order, runs collapsed: ``getMe, getUpdates x5, sendMessage[400]``."""
        runs: list[list[Any]] = []
        for call in self.calls:
            label = call.method if call.http_status == 200 else f"{call.method}[{call.http_status}]"
            if runs and runs[-1][0] == label:
                runs[-1][1] += 1
            else:
                runs.append([label, 1])
        return ", ".join(label if n == 1 else f"{label} x{n}" for label, n in runs) or "(none)"

    def messages(self, chat_id: int) -> list[JSON]:
        """Every message in the chat, users' and the bot's, in order, edits applied."""
        chat = self._messages.get(chat_id, {})
        return [copy.deepcopy(chat[mid]) for mid in sorted(chat)]

    def message(self, chat_id: int, message_id: int) -> JSON:
        return copy.deepcopy(self._messages[chat_id][message_id])

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set for exactly this scope and language."""
        return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def description(self, language_code: str = "", *, short: bool = False) -> str:
        """The (short) description set for exactly this language ("" for the default)."""
        field = "short_description" if short else "description"
        return self._descriptions.get((field, language_code), "")

    # ----------------------------------------------------------------- faults

    def stricter_chat_limit(self, chat_id: int, interval: float) -> None:
        """Let the chat take one message per ``interval`` seconds instead of one a second, when
        rate limits are enforced: Telegram only promises "about" one a second."""
        self._limiter.chat_intervals[chat_id] = interval

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with this error before anything else."""
        queue = self._faults.setdefault(self._canonical(method), deque())
        for _ in range(times):
            queue.append(ApiError(error_code, description, retry_after=retry_after))

    def _canonical(self, method: str) -> str:
        try:
            return _CANONICAL[method.lower()]
        except KeyError:
            raise ValueError(f"the fake does not implement Bot API method {method!r}") from None

    # ----------------------------------------------------------------- HTTP layer

    async def _api(self, request: Request) -> Response:
        at = time.monotonic()
        raw_method = request.path_params["method"]
        method = _CANONICAL.get(raw_method.lower(), raw_method)
        params: JSON = {}
        files: dict[str, UploadedFile] = {}
        try:
            raw, files = await _read_request(request)
            if (held := self._holds.get(method)) and held.holds(raw):
                held.arrived.set()
                await held.released.wait()
                if held.dropped:
                    raise ApiError(400, "Bad Request: the upload was cut off")
            params, decode_error = _decode_params(raw)
            if request.path_params["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method not in self._handlers:
                raise ApiError(404, "Not Found")
            if faults := self._faults.get(method):
                raise faults.popleft()
            if decode_error:
                raise decode_error
            body = _ok(await self._handlers[method](params, files))
            status = 200
        except ApiError as error:
            status, body = error.http_status, error.body()
        except Exception as exc:  # a bug in the fake: answer like Telegram's 500, keep the trace
            _log.exception("fake Telegram crashed in %s", method)
            self.internal_errors.append(exc)
            status, body = 500, ApiError(500, "Internal Server Error").body()
        self.calls.append(Call(method, params, files, at, status, body))
        self._changed.notify()
        return JSONResponse(body, status_code=status)

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _json_error(ApiError(401, "Unauthorized"))
        stored = self._files_by_path.get(request.path_params["file_path"])
        if stored is None:
            return _json_error(ApiError(404, "Not Found"))
        self.downloads.append(stored.file_path)
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")

    async def _not_found(self, request: Request) -> Response:
        return _json_error(ApiError(404, "Not Found"))

    # ----------------------------------------------------------------- shared checks

    def _chat(self, params: JSON, *, sending: bool = True) -> JSON:
        """The target chat; 403 when it is the private chat of a user who blocked the bot."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad_request("chat not found")
        if sending and chat["type"] == "private" and chat["id"] in self.blocked_users:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _throttle(self, chat_id: int) -> None:
        if not self.enforce_rate_limits:
            return
        try:
            self._limiter.acquire(chat_id)
        except ApiError:
            self.rate_limited_responses += 1
            raise

    def _format(self, text: Any, parse_mode: Any, entities: Any) -> tuple[str, list[JSON]]:
        """Apply parse_mode (or explicit entities), trim, and add auto-detected entities."""
        text = "" if text is None else str(text)
        if isinstance(entities, list):
            parsed = entities
        elif not parse_mode:
            parsed = []
        elif str(parse_mode).lower() == "html":
            text, parsed = parse_html(text, strict_ampersand=self.strict_html)
        elif str(parse_mode).lower() in {"markdown", "markdownv2"}:
            parsed = []  # not parsed: the fake keeps Markdown source text verbatim
        else:
            raise _bad_request("unsupported parse_mode")
        text, parsed = _trim(text, parsed)
        return text, _merge_entities(parsed, _auto_entities(text))

    def _text(self, params: JSON) -> tuple[str, list[JSON]]:
        text, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        if not text:
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text, entities

    def _caption(self, params: JSON) -> JSON:
        caption, entities = self._format(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        content: JSON = {"caption": caption} if caption else {}
        if caption and entities:
            content["caption_entities"] = entities
        return content

    def _reply_markup(self, params: JSON) -> JSON | None:
        """Validate reply_markup; only an inline keyboard becomes part of the Message."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        for button in (button for row in rows for button in row):
            self._check_button(button)
        return {"inline_keyboard": copy.deepcopy(rows)}

    def _check_button(self, button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        if not isinstance(button.get("text"), str):
            raise _bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        if "callback_data" in button:
            data = str(button["callback_data"]).encode()
            if not 1 <= len(data) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
            return
        if not _BUTTON_ACTIONS & button.keys():
            raise _bad_request(
                "can't parse inline keyboard button:"
                " Text buttons are unallowed in the inline keyboard"
            )
        if "url" in button and not button["url"]:
            raise _bad_request("BUTTON_URL_INVALID")

    def _reply_to(self, chat: JSON, params: JSON) -> JSON | None:
        """The replied-to message for reply_parameters or the legacy reply_to_message_id."""
        reply = params.get("reply_parameters")
        if reply is not None:
            if not isinstance(reply, dict):
                raise _bad_request("can't parse reply parameters JSON object")
            message_id = _to_int(reply.get("message_id", 0))
            allow_missing = _to_bool(reply.get("allow_sending_without_reply", False))
            chat_id = _decode_param("chat_id", reply.get("chat_id", chat["id"]))
        elif params.get("reply_to_message_id"):
            message_id = params["reply_to_message_id"]
            allow_missing = bool(params.get("allow_sending_without_reply"))
            chat_id = chat["id"]
        else:
            return None
        replied = self._messages.get(chat_id, {}).get(message_id)
        if replied is None:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        return self._reply_copy(replied)

    def _reply_copy(self, message: JSON) -> JSON:
        replied = _public(message)
        replied.pop("reply_to_message", None)
        return replied

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _post(self, chat: JSON, params: JSON, reply: JSON | None, content: JSON) -> JSON:
        """Store and return a new bot message (after the flood check)."""
        self._throttle(chat["id"])
        message: JSON = {
            "message_id": self._next_message_id(chat["id"]),
            "from": copy.deepcopy(self.bot_user),
            "chat": copy.deepcopy(chat),
            "date": _now(),
        }
        if thread := params.get("message_thread_id"):
            message["message_thread_id"] = thread
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        if reply is not None:
            message["reply_to_message"] = reply
        message.update(content)
        self._messages.setdefault(chat["id"], {})[message["message_id"]] = message
        return _public(message)

    # ----------------------------------------------------------------- files

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        width: int = 0,
        height: int = 0,
        duration: int = 0,
    ) -> StoredFile:
        self._file_counter += 1
        n = self._file_counter
        folder = {"photo": "photos", "document": "documents"}.get(kind, kind + "s")
        default_ext = {"photo": "jpg", "video": "mp4", "animation": "mp4", "sticker": "webp"}
        ext = _extension(mime_type, file_name, default_ext.get(kind, "bin"))
        stored = StoredFile(
            file_id=f"{kind.upper()}-{n:06d}-{hashlib.sha256(data).hexdigest()[:12]}",
            file_unique_id=f"U{n:06d}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{n}.{ext}",
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
            duration=duration,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _store_photo(self, data: bytes, width: int | None, height: int | None) -> list[JSON]:
        """Store a photo as Telegram does: downscaled copies (s/m/x/y boxes) plus the original."""
        variants = _photo_variants(data, width, height)
        sizes: list[JSON] = []
        members: list[StoredFile] = []
        for blob, w, h in variants:
            stored = self._store_file("photo", blob, mime_type="image/jpeg", width=w, height=h)
            members.append(stored)
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": w,
                    "height": h,
                    "file_size": len(blob),
                }
            )
        for stored in members:
            stored.photo_sizes = sizes
        return copy.deepcopy(sizes)

    def _media_object(self, stored: StoredFile) -> JSON:
        """The Video/Animation/Document object of a stored file."""
        media: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.kind in {"video", "animation"}:
            media.update(width=stored.width, height=stored.height, duration=stored.duration)
        if stored.file_name:
            media["file_name"] = stored.file_name
        if stored.mime_type:
            media["mime_type"] = stored.mime_type
        media["file_size"] = len(stored.data)
        return media

    async def _input_media(
        self, kind: str, params: JSON, files: dict[str, UploadedFile]
    ) -> StoredFile:
        """Resolve the media field: an upload, ``attach://name``, a known file_id or a URL."""
        value = params.get(kind)
        upload = files.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, BAD_FILE_ID)
        if upload is not None:
            return self._store_upload(kind, upload, params)
        if not value:
            raise _bad_request(f"there is no {kind} in the request")
        value = str(value)
        if re.match(r"https?://", value, re.IGNORECASE):
            return await self._fetch(kind, value, params)
        stored = self._files.get(value)
        if stored is None:
            raise ApiError(400, BAD_FILE_ID)
        if (kind == "photo") != (stored.kind == "photo") or stored.kind == "sticker":
            raise _bad_request("type of file mismatch")
        return stored

    def _store_upload(self, kind: str, upload: UploadedFile, params: JSON) -> StoredFile:
        if not upload.size:
            raise _bad_request("file must be non-empty")
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(upload.filename or "")[0] or mime
        return self._store_media(kind, upload.data, mime, upload.filename, params)

    def _store_media(
        self, kind: str, data: bytes, mime: str | None, file_name: str | None, params: JSON
    ) -> StoredFile:
        if kind == "photo":
            try:
                sizes = self._store_photo(data, None, None)
            except ValueError:
                raise _bad_request("IMAGE_PROCESS_FAILED") from None
            return self._files[sizes[-1]["file_id"]]
        if kind in {"video", "animation"} and (not mime or mime == "application/octet-stream"):
            mime = "video/mp4"
        return self._store_file(
            kind,
            data,
            mime_type=mime,
            file_name=file_name,
            width=params.get("width") or 0,
            height=params.get("height") or 0,
            duration=params.get("duration") or 0,
        )

    async def _fetch(self, kind: str, url: str, params: JSON) -> StoredFile:
        """Download media from a URL like Telegram's servers do, with their size limits."""
        if self.refuse_urls:
            raise ApiError(400, URL_FAILED)
        limit = MAX_URL_PHOTO_BYTES if kind == "photo" else MAX_URL_BYTES
        try:
            async with self._client().stream("GET", url, follow_redirects=True) as response:
                if not response.is_success:
                    raise ApiError(400, URL_FAILED)
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if mime.startswith("text/html") or (
                    kind == "photo" and not mime.startswith("image/")
                ):
                    raise ApiError(400, URL_WRONG_TYPE)
                if kind == "document" and mime not in {
                    "application/pdf",
                    "application/zip",
                    "image/gif",
                }:
                    raise ApiError(400, URL_WRONG_TYPE)  # documented: only GIF, PDF and ZIP
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > limit:
                        raise ApiError(400, URL_FAILED)
        except httpx.HTTPError:
            raise ApiError(400, URL_FAILED) from None
        if not data:
            raise ApiError(400, URL_FAILED)
        name = urlsplit(url).path.rsplit("/", 1)[-1] or None
        try:
            return self._store_media(kind, bytes(data), mime or None, name, params)
        except ApiError:
            raise ApiError(400, URL_WRONG_TYPE) from None

    # ----------------------------------------------------------------- methods: bot and updates

    async def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _log_out(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    async def _close(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        """Long polling: answer as soon as an update exists, or with [] after ``timeout``."""
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._changed.notify()  # an older parked poll is now terminated
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = list(params["allowed_updates"])
        self._confirm(params.get("offset", 0))
        limit = min(max(params.get("limit") or 100, 1), 100)
        deadline = asyncio.get_running_loop().time() + max(params.get("timeout", 0), 0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._webhook is not None:
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            remaining = deadline - asyncio.get_running_loop().time()
            if self._pending or remaining <= 0 or self._closing:
                return copy.deepcopy(self._pending[:limit])
            self._polling += 1
            self._changed.notify()
            try:
                await self._changed.wait(remaining)
            finally:
                self._polling -= 1

    def _confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last -offset."""
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    async def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> _Described:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params, files)
        if urlsplit(url).scheme.lower() not in {"http", "https"}:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        max_connections = params.get("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise _bad_request("bad webhook: max_connections must be between 1 and 100")
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = list(params["allowed_updates"])
        if params.get("drop_pending_updates"):
            self._pending.clear()
        config = {"url": url, "secret_token": secret, "max_connections": max_connections}
        unchanged = self._webhook == config
        self._webhook = config
        self._changed.notify()
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook_updates())
        return _Described(True, "Webhook is already set" if unchanged else "Webhook was set")

    async def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> _Described:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        was_set = self._webhook is not None
        self._webhook = None
        await self._stop_webhook_task()
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False}
        info["pending_update_count"] = len(self._pending)
        if self._webhook is not None:
            info.update(url=self._webhook["url"], max_connections=self._webhook["max_connections"])
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_webhook_updates(self) -> None:
        """Push pending updates one at a time, in order; retry failures with backoff."""
        delay = self.webhook_retry_delay
        while self._webhook is not None and not self._closing:
            if not self._pending:
                await self._changed.wait(None)
                continue
            update = self._pending[0]
            status, error = await self._push(self._webhook, update)
            self.webhook_deliveries.append(
                WebhookDelivery(update["update_id"], status, time.monotonic(), error)
            )
            self._changed.notify()
            if status is not None and 200 <= status < 300:
                if self._pending and self._pending[0] is update:
                    self._pending.pop(0)
                delay = self.webhook_retry_delay
                continue
            self._webhook_error = (_now(), error or "")
            await asyncio.sleep(delay)  # a deliberate backoff, not a wait for an event
            delay = min(delay * 2, 1.0)

    async def _push(self, webhook: JSON, body: JSON) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json"}
        if webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        try:
            response = await self._client().post(
                webhook["url"], content=json.dumps(body), headers=headers
            )
        except httpx.TimeoutException:
            return None, "Read timeout expired"
        except httpx.ConnectError:
            return None, "Connection refused"
        except httpx.HTTPError as exc:
            return None, f"Connection failed: {exc.__class__.__name__}"
        if response.is_success:
            return response.status_code, None
        phrase = response.reason_phrase or HTTPStatus(response.status_code).phrase
        return (
            response.status_code,
            f"Wrong response from the webhook: {response.status_code} {phrase}",
        )

    def hold(self, method: str, *, chat_id: int | None = None) -> Hold:
        """Keep requests to `method` (for `chat_id` only, if given) waiting, after their body
        arrived, until `release()`.

        Plays a slow upload on cue: the test knows the request is in flight without sleeping.
        """
        held = Hold(asyncio.Event(), asyncio.Event(), chat_id=chat_id)
        self._holds[method] = held
        return held

    def release(self, method: str) -> None:
        held = self._holds.pop(method, None)
        if held is not None:
            held.released.set()

    def drop(self, method: str) -> None:
        """Let go of a held request as if its connection died before the upload completed:
        Telegram never got the whole file, so nothing is posted (recorded as a 400)."""
        held = self._holds.pop(method, None)
        if held is not None:
            held.dropped = True
            held.released.set()

    async def push_raw(self, body: JSON, *, secret: str | None, url: str | None = None) -> int:
        """POST an arbitrary (possibly forged) update to the webhook; returns the HTTP status."""
        target = url or (self._webhook or {}).get("url")
        if not target:
            raise RuntimeError("no webhook is set and no url was given")
        status, error = await self._push({"url": target, "secret_token": secret}, body)
        if status is None:
            raise ConnectionError(error)
        return status

    async def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("command description must be non-empty")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = copy.deepcopy(commands)
        return True

    async def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    # setMyDescription: 0-512 characters; setMyShortDescription: 0-120. An empty string removes
    # the text for that language; getMy*Description falls back to the default language's.

    async def _set_my_description(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return self._set_description("description", 512, params)

    async def _set_my_short_description(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return self._set_description("short_description", 120, params)

    async def _get_my_description(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {"description": self._get_description("description", params)}

    async def _get_my_short_description(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {"short_description": self._get_description("short_description", params)}

    def _set_description(self, field: str, limit: int, params: JSON) -> bool:
        text = str(params.get(field) or "")
        if len(text) > limit:
            raise _bad_request(f"{field.upper()}_INVALID")
        key = (field, str(params.get("language_code") or ""))
        if text:
            self._descriptions[key] = text
        else:
            self._descriptions.pop(key, None)
        return True

    def _get_description(self, field: str, params: JSON) -> str:
        lang = str(params.get("language_code") or "")
        return self._descriptions.get((field, lang)) or self._descriptions.get((field, ""), "")

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # ----------------------------------------------------------------- methods: messages

    async def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params)
        text, entities = self._text(params)
        markup = self._reply_markup(params)
        reply = self._reply_to(chat, params)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        if markup:
            content["reply_markup"] = markup
        return self._post(chat, params, reply, content)

    async def _send_video(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("video", params, files)

    async def _send_animation(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("animation", params, files)

    async def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("document", params, files)

    async def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("photo", params, files)

    async def _send_media(self, kind: str, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params)
        caption = self._caption(params)
        markup = self._reply_markup(params)
        reply = self._reply_to(chat, params)
        stored = await self._input_media(kind, params, files)
        content: JSON = {}
        if kind == "photo":
            content["photo"] = copy.deepcopy(stored.photo_sizes or [])
        else:
            content[kind] = self._media_object(stored)
            if kind == "animation":  # Telegram also fills "document" for animations
                content["document"] = self._media_object(stored)
        content.update(caption)
        if params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        if params.get("show_caption_above_media"):
            content["show_caption_above_media"] = True
        if markup:
            content["reply_markup"] = markup
        if "supports_streaming" in params:
            content["supports_streaming"] = params["supports_streaming"]
        return self._post(chat, params, reply, content)

    async def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _editable(self, params: JSON) -> tuple[JSON, JSON]:
        """The chat and stored bot message an edit targets."""
        if params.get("inline_message_id"):
            raise _bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        if not params.get("message_id"):
            raise _bad_request("message identifier is not specified")
        message = self._messages.get(chat["id"], {}).get(params["message_id"])
        if message is None:
            raise _bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise _bad_request("message can't be edited")
        return chat, message

    def _apply_edit(self, chat: JSON, message: JSON, changes: JSON) -> JSON:
        """Apply changed fields (falsy removes the field); an identical edit is an error.

        Every edit method replaces the inline keyboard, so leaving reply_markup out removes it.
        """
        if all((message.get(key) or None) == (value or None) for key, value in changes.items()):
            raise ApiError(400, NOT_MODIFIED)
        self._throttle(chat["id"])
        for key, value in changes.items():
            if value:
                message[key] = copy.deepcopy(value)
            else:
                message.pop(key, None)
        message["edit_date"] = _now()
        return _public(message)

    async def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat, message = self._editable(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        text, entities = self._text(params)
        markup = self._reply_markup(params)
        return self._apply_edit(
            chat, message, {"text": text, "entities": entities, "reply_markup": markup}
        )

    async def _edit_message_caption(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat, message = self._editable(params)
        if not any(kind in message for kind in _MEDIA_KINDS):
            raise _bad_request("there is no caption in the message to edit")
        caption = self._caption(params)
        changes = {
            "caption": caption.get("caption"),
            "caption_entities": caption.get("caption_entities"),
            "reply_markup": self._reply_markup(params),
        }
        return self._apply_edit(chat, message, changes)

    async def _edit_message_reply_markup(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON:
        chat, message = self._editable(params)
        return self._apply_edit(chat, message, {"reply_markup": self._reply_markup(params)})

    async def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat(params, sending=False)
        message = self._messages.get(chat["id"], {}).get(params.get("message_id", 0))
        if message is None:
            raise _bad_request("message to delete not found")
        is_admin = (chat["id"], self.bot_id) in self._roles
        if chat["type"] != "private" and message["from"]["id"] != self.bot_id and not is_admin:
            raise _bad_request("message can't be deleted")
        del self._messages[chat["id"]][message["message_id"]]
        return True

    # ----------------------------------------------------------------- methods: files and chats

    async def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._queries or query_id in self.callback_answers:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = copy.deepcopy(params)
        return True

    async def _get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params, sending=False)
        gifts = dict.fromkeys(_GIFT_TYPES, False)
        return {
            **copy.deepcopy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    async def _get_chat_member(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params, sending=False)
        user_id = params.get("user_id", 0)
        user = self.bot_user if user_id == self.bot_id else self._users.get(user_id)
        if user is None:
            raise _bad_request("user not found")
        status = self._roles.get((chat["id"], user_id), "member")
        member: JSON = {"status": status, "user": copy.deepcopy(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(_ADMIN_RIGHTS)
        return member


_ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
    "can_manage_topics": True,
}


def _photo_variants(
    data: bytes, width: int | None, height: int | None
) -> list[tuple[bytes, int, int]]:
    """(bytes, width, height) per PhotoSize, smallest first; the original bytes come last.

    Raises ValueError when the bytes are no image and no dimensions were given.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            real_width, real_height = image.size
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        if not (width and height):
            raise ValueError("not an image; pass width and height") from exc
        thumb_scale = min(1.0, 90 / max(width, height))
        thumb = (max(1, round(width * thumb_scale)), max(1, round(height * thumb_scale)))
        return [(data, *thumb), (data, width, height)]
    variants: list[tuple[bytes, int, int]] = []
    for box in (90, 320, 800, 1280):
        if box < max(real_width, real_height) or not variants:
            copy_ = rgb.copy()
            copy_.thumbnail((box, box))
            buffer = io.BytesIO()
            copy_.save(buffer, "JPEG", quality=80)
            variants.append((buffer.getvalue(), *copy_.size))
    variants.append((data, width or real_width, height or real_height))
    return variants
