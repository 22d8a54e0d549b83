"""The cuttable TCP relay (`tests/fakes/tcp_proxy.py`): relays bytes both ways; a cut drops
open connections and refuses new ones; a restore relays again on the same port."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.tcp_proxy import TcpProxy


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def roundtrip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    answer = await reader.readexactly(len(payload))
    writer.close()
    return answer


async def test_relays_cuts_and_restores():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    proxy = TcpProxy("127.0.0.1", server.sockets[0].getsockname()[1])
    port = await proxy.start()
    try:
        assert await roundtrip(port, b"hello") == b"hello"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x")
        assert await reader.readexactly(1) == b"x"

        await proxy.cut()
        assert await reader.read(10) == b"", "an open connection is dropped"
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)

        await proxy.restore()
        assert proxy.port == port
        assert await roundtrip(port, b"again") == b"again"
    finally:
        await proxy.stop()
        server.close()
