"""A bare python-telegram-bot echo bot: the baseline of benches 1 and 6.

Long polling, one `reply_text` per text message, PTB's defaults and nothing else (no rate
limiter, no database). It reads the same `TELEGRAM_BOT_TOKEN` and `TELEGRAM_API_URL` as the bot,
so both talk to the same kind of fake in the same way.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def main() -> None:
    root = os.environ["TELEGRAM_API_URL"]
    application = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=[Update.MESSAGE])  # stops on SIGTERM


if __name__ == "__main__":
    main()
