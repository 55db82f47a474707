"""The RTT proxy: adds the round trip, keeps order, passes bytes through, wakes upstream first."""

import asyncio
import time

import pytest

from chatgate.neon.proxy import DelayProxy
from tests.neon.conftest import free_port_base

pytestmark = pytest.mark.neon


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _with_proxy(rtt_ms: float, body, woken: list[int] | None = None) -> None:  # type: ignore[no-untyped-def]
    base = free_port_base()
    echo = await asyncio.start_server(_echo, "127.0.0.1", base)

    async def wake() -> None:
        if woken is not None:
            woken.append(1)

    proxy = DelayProxy(base + 1, base, rtt_ms, before_connect=wake)
    await proxy.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", base + 1)
        await body(reader, writer)
        writer.close()
    finally:
        await proxy.close()
        echo.close()


def test_round_trip_is_delayed_by_the_rtt() -> None:
    times: list[float] = []

    async def body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(5):
            t0 = time.perf_counter()
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"ping"
            times.append((time.perf_counter() - t0) * 1000)

    asyncio.run(_with_proxy(40, body))
    assert all(38 <= t <= 80 for t in times), times


def test_order_and_bytes_are_preserved_and_wake_runs_first() -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB in many chunks
    woken: list[int] = []

    async def body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        got = await asyncio.wait_for(reader.readexactly(len(payload)), 10)
        assert got == payload

    asyncio.run(_with_proxy(10, body, woken))
    assert woken == [1]


def test_closing_the_client_closes_the_session() -> None:
    async def run() -> None:
        base = free_port_base()
        echo = await asyncio.start_server(_echo, "127.0.0.1", base)
        proxy = DelayProxy(base + 1, base, 10)
        await proxy.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", base + 1)
        writer.write(b"x")
        await reader.readexactly(1)
        assert proxy.active == 1
        writer.close()
        for _ in range(100):
            if proxy.active == 0:
                break
            await asyncio.sleep(0.01)
        assert proxy.active == 0
        await proxy.close()
        echo.close()

    asyncio.run(run())
