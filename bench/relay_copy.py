"""Bench 4's baseline: a plain httpx stream copy of a video into a Telegram upload.

`python -m bench.relay_copy <video url> <chat id>` streams the video in the bot's chunk size
into a temporary file and uploads it with one multipart `sendVideo`, the two steps the bot
takes, without the bot around them. It reads `TELEGRAM_BOT_TOKEN` and `TELEGRAM_API_URL` like
the bot, and prints its own memory readings (kB, from /proc/self/status) as one JSON line:
RSS once the client is ready, and the peak during the copy.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import httpx

CHUNK = 256 * 1024  # bot.delivery reads downloads in chunks of this size


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> bool:
    """Start VmHWM afresh from the current RSS (as harness.reset_peak does for the bot)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def copy(url: str, chat_id: str) -> dict[str, int]:
    api = f"{os.environ['TELEGRAM_API_URL']}/bot{os.environ['TELEGRAM_BOT_TOKEN']}"
    async with httpx.AsyncClient(timeout=600.0, trust_env=False) as client:
        idle = status_kb("VmRSS")
        reset_peak()
        with tempfile.TemporaryFile() as handle:
            async with client.stream("GET", url) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes(CHUNK):
                    handle.write(chunk)
            handle.seek(0)
            answer = await client.post(
                f"{api}/sendVideo",
                data={"chat_id": chat_id, "supports_streaming": "true"},
                files={"video": ("video.mp4", handle, "video/mp4")},
            )
            answer.raise_for_status()
    return {"idle_kb": idle, "peak_kb": status_kb("VmHWM")}


def main() -> int:
    url, chat_id = sys.argv[1], sys.argv[2]
    print(json.dumps(asyncio.run(copy(url, chat_id))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
