"""Start-up faults: a bad token or an unreachable Bot API ends the process with one log line
saying which, a distinct exit status, and no traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from tests.fakes.telegram import FakeTelegram


async def run_bot(env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env={"PATH": os.environ["PATH"], **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_bot_api_exits_1_with_one_line(tmp_path):
    token = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"
    code, output = await run_bot(
        {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}",
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }
    )
    assert code == 1
    assert "cannot reach the Telegram Bot API at http://127.0.0.1:" in output
    assert "Traceback" not in output and token not in output


async def test_rejected_token_exits_2_and_says_so(tmp_path):
    async with FakeTelegram() as telegram:
        code, output = await run_bot(
            {
                "TELEGRAM_BOT_TOKEN": "999999:WrongTokenForTheFake_abcdefghijklmn",
                "TELEGRAM_API_URL": telegram.url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
            }
        )
    assert code == 2
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in output
    assert "Traceback" not in output and "WrongTokenForTheFake" not in output
