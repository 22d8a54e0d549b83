"""The fake's HTTP surface: how a Bot API request's parameters arrive (query string, JSON,
form or multipart body) and are read as Telegram's server reads them."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from tests.fakes.telegram.api import (
    JSON,
    MAX_UPLOAD_BYTES,
    ApiError,
    UploadedFile,
    bad_request,
)

_BODY_SLACK = 64 * 1024  # multipart framing and text fields on top of a maximal file

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
        "is_personal",
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
    "results": "inline query results",
    "button": "inline query results button",
    "prices": "prices",
    "suggested_tip_amounts": "suggested tip amounts",
}


def to_int(value: Any) -> int:
    """Integers as the Bot API server reads them: leading digits, anything else is 0."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return int(value)
    match = re.match(r"\s*[-+]?\d+", str(value))
    return int(match.group()) if match else 0


def to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1"}
    return bool(value)


def decode_param(name: str, value: Any) -> Any:
    """Turn one transported value (form string or JSON value) into its Bot API type."""
    if name in _CHAT_ID_PARAMS:
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        return value
    if name in _INT_PARAMS:
        return to_int(value)
    if name in _BOOL_PARAMS:
        return to_bool(value)
    if name in _JSON_PARAMS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {_JSON_PARAMS[name]} JSON object") from None
    return value


def decode_params(raw: JSON) -> tuple[JSON, ApiError | None]:
    """Decode every parameter; keep the raw value of the first undecodable one and report it."""
    params: JSON = {}
    error: ApiError | None = None
    for name, value in raw.items():
        try:
            params[name] = decode_param(name, value)
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
        raise bad_request("can't parse multipart/form-data: no boundary")
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


async def read_request(request: Request) -> tuple[JSON, dict[str, UploadedFile]]:
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
            raise bad_request("can't parse JSON object") from None
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
