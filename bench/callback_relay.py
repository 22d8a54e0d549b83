"""Bench 5's baseline: the least a webhook bot can do between a callback and `sendVideo`.

A bare Starlette app on uvicorn with one route, `POST /callbacks/<chat id>`: it answers the
provider at once and then, for a "finished" APIFRAME result, calls python-telegram-bot's
`Bot.send_video` with the video's link. No database, no state machine, no status message, no
pacing. It reads `TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL` and `PORT` like the bot.
"""

from __future__ import annotations

import asyncio
import os

import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot


async def serve() -> None:
    root = os.environ["TELEGRAM_API_URL"]
    bot = Bot(
        os.environ["TELEGRAM_BOT_TOKEN"],
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
    )

    async def callback(request: Request) -> Response:
        result = await request.json()
        if result.get("status") != "finished":
            return JSONResponse({"ok": True})
        chat_id = int(request.path_params["chat_id"])
        send = BackgroundTask(bot.send_video, chat_id=chat_id, video=result["video_url"])
        return JSONResponse({"ok": True}, background=send)

    app = Starlette(routes=[Route("/callbacks/{chat_id}", callback, methods=["POST"])])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    async with bot:  # getMe once, as the bot does at start
        await uvicorn.Server(config).serve()  # stops on SIGTERM


if __name__ == "__main__":
    asyncio.run(serve())
