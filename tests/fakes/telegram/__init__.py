"""A fake Telegram Bot API server for end-to-end tests: `FakeTelegram` (see its module,
`tests.fakes.telegram.fake`), the records tests read of it, and the error texts and limits
they check against."""

from tests.fakes.telegram.api import (
    MAX_UPLOAD_BYTES,
    MAX_URL_BYTES,
    NOT_MODIFIED,
    URL_FAILED,
    URL_WRONG_TYPE,
    WEBHOOK_CONFLICT,
    Call,
    UploadedFile,
    WebhookDelivery,
)
from tests.fakes.telegram.fake import FakeTelegram
from tests.fakes.telegram.state import Hold

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_URL_BYTES",
    "NOT_MODIFIED",
    "URL_FAILED",
    "URL_WRONG_TYPE",
    "WEBHOOK_CONFLICT",
    "Call",
    "FakeTelegram",
    "Hold",
    "UploadedFile",
    "WebhookDelivery",
]
