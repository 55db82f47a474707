"""The stack's daemon: RTT proxies for both endpoints, scale-to-zero and wake-on-connect.

Run as `python -m chatgate.neon.daemon STATE_DIR` (started by `chatgate db start --profile neon`).
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from chatgate.neon.config import Layout, StackConfig
from chatgate.neon.proxy import DelayProxy
from chatgate.neon.server import pg_running, pg_start, pg_stop
from chatgate.neon.tools import Tools, find_tools

TICK_S = 0.25


class Compute:
    """Suspends postgres after idle time and wakes it when a client connects (like Neon)."""

    def __init__(self, layout: Layout, cfg: StackConfig, tools: Tools) -> None:
        self.layout, self.cfg, self.tools = layout, cfg, tools
        self.lock = asyncio.Lock()
        self.proxies: list[DelayProxy] = []
        self.wakes = 0
        self.suspends = 0
        self.last_wake_ms: float | None = None
        self.awake_since = time.monotonic()

    async def wake(self) -> None:
        """Start postgres if it is suspended; the caller's connection waits (a cold start)."""
        async with self.lock:
            if pg_running(self.layout):
                return
            t0 = time.perf_counter()
            await asyncio.to_thread(pg_start, self.layout, self.tools)
            self.last_wake_ms = (time.perf_counter() - t0) * 1000
            self.wakes += 1
            self.awake_since = time.monotonic()
            self.save()

    async def maybe_suspend(self) -> None:
        """Stop postgres when no client has been connected for `suspend_after` seconds."""
        if self.cfg.suspend_after <= 0 or self._idle_for() < self.cfg.suspend_after:
            return
        async with self.lock:
            if self._idle_for() < self.cfg.suspend_after or not pg_running(self.layout):
                return
            await asyncio.to_thread(pg_stop, self.layout, self.tools)
            self.suspends += 1
            self.save()

    def _idle_for(self) -> float:
        """Seconds since the last client left (0 while any client is connected)."""
        if any(p.active for p in self.proxies):
            return 0.0
        last = max([self.awake_since, *(p.idle_since for p in self.proxies)])
        return time.monotonic() - last

    def state(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "postgres": "running" if pg_running(self.layout) else "suspended",
            "clients": sum(p.active for p in self.proxies),
            "wakes": self.wakes,
            "suspends": self.suspends,
            "last_wake_ms": self.last_wake_ms,
        }

    def save(self) -> None:
        """Write the runtime state atomically for `db status`."""
        tmp = self.layout.daemon_state.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state()))
        tmp.replace(self.layout.daemon_state)


async def serve(layout: Layout) -> None:
    """Run the proxies and the suspend loop until SIGTERM/SIGINT."""
    cfg = layout.load()
    if cfg is None:
        raise SystemExit(f"no stack config in {layout.base}")
    compute = Compute(layout, cfg, find_tools())
    compute.proxies = [
        DelayProxy(cfg.direct_port, cfg.pg_port, cfg.rtt_ms, before_connect=compute.wake),
        DelayProxy(cfg.pooled_port, cfg.bouncer_port, cfg.rtt_ms, before_connect=compute.wake),
    ]
    for proxy in compute.proxies:
        await proxy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    layout.daemon_pid.write_text(f"{os.getpid()}\n")
    compute.save()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_S)
        await compute.maybe_suspend()
        compute.save()
    for proxy in compute.proxies:
        await proxy.close()


def main(argv: list[str]) -> None:
    """Entry point: one argument, the stack's state directory."""
    if len(argv) != 1:
        raise SystemExit("usage: python -m chatgate.neon.daemon STATE_DIR")
    asyncio.run(serve(Layout(Path(argv[0]))))


if __name__ == "__main__":
    main(sys.argv[1:])
