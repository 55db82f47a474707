"""perf.connect: what a new connection costs (TCP/unix socket, TLS, auth) and its first query.

Reported apart from steady state: an application with a pool pays this once per connection,
a serverless one per request. The first query on a fresh connection also pays catalogue
cache warm-up in the new backend, which steady-state numbers never show.
"""

import asyncio
import time
from dataclasses import dataclass, field

from chatgate.target import Target
from loadtests.histogram import Recorder

CONNECTIONS = 10
IDLE_S = 0.5
TLS_SQL = "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)"


@dataclass
class ConnectMeasurement:
    """Connect times, first-query times and first-query-after-idle times (us recorders)."""

    connect: Recorder = field(default_factory=Recorder)
    first_query: Recorder = field(default_factory=Recorder)
    after_idle: Recorder = field(default_factory=Recorder)
    steady: Recorder = field(default_factory=Recorder)
    tls: bool = False


async def measure_connect(
    target: Target, *, connections: int = CONNECTIONS, idle_s: float = IDLE_S
) -> ConnectMeasurement:
    """Open `connections` fresh connections one after another and time each step."""
    out = ConnectMeasurement()
    for i in range(connections):
        t0 = time.perf_counter()
        conn = await target.connect()
        t1 = time.perf_counter()
        try:
            await conn.fetchval("SELECT 1")
            t2 = time.perf_counter()
            out.connect.record_s(t1 - t0)
            out.first_query.record_s(t2 - t1)
            for _ in range(5):
                s0 = time.perf_counter()
                await conn.fetchval("SELECT 1")
                out.steady.record_s(time.perf_counter() - s0)
            if i < 3:  # a few idle gaps: enough to see a proxy or a cold path, kept short
                await asyncio.sleep(idle_s)
                s0 = time.perf_counter()
                await conn.fetchval("SELECT 1")
                out.after_idle.record_s(time.perf_counter() - s0)
            if i == 0:
                out.tls = bool(await conn.fetchval(TLS_SQL))
        finally:
            await conn.close()
    return out
