"""What the fake Bot API shares across its parts: its records, Telegram's limits and error
texts, the methods it implements, and the error every part raises to answer a call."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

JSON = dict[str, Any]

MB = 1024 * 1024
MAX_UPLOAD_BYTES = 50 * MB  # multipart uploads (sendVideo, sendDocument, ...)
MAX_URL_BYTES = 20 * MB  # media Telegram fetches itself from an http(s) URL
MAX_URL_PHOTO_BYTES = 5 * MB
MAX_DOWNLOAD_BYTES = 20 * MB  # getFile refuses bigger files
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

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
    "answerInlineQuery",
    "getChat",
    "getChatMember",
    "sendInvoice",
    "answerPreCheckoutQuery",
    "refundStarPayment",
    "getStarTransactions",
)
CANONICAL = {name.lower(): name for name in METHODS}


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

    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.http_status = error_code  # Telegram answers with the error code as HTTP status
        self.description = description
        self.retry_after = retry_after

    @classmethod
    def from_body(cls, body: JSON) -> ApiError:
        """The error whose envelope `body` is (a fault queued in that form)."""
        retry_after = body.get("parameters", {}).get("retry_after")
        return cls(body["error_code"], body["description"], retry_after=retry_after)

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass
class Described:
    """A successful result that carries Telegram's optional ``description`` (setWebhook)."""

    result: Any
    description: str


def now() -> int:
    return int(time.time())


def ok(outcome: Any) -> JSON:
    if isinstance(outcome, Described):
        return {"ok": True, "result": outcome.result, "description": outcome.description}
    return {"ok": True, "result": outcome}


def json_error(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.http_status)


_FAKE_ONLY_KEYS = ("supports_streaming",)  # kept in the store, not part of a Message


def public(message: JSON) -> JSON:
    """A copy of a stored message as the API returns it."""
    public = copy.deepcopy(message)
    for key in _FAKE_ONLY_KEYS:
        public.pop(key, None)
    return public
