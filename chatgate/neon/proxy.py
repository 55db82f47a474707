"""A TCP proxy that adds a round-trip time: every chunk waits RTT/2 per direction, in order."""

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable

LOOPBACK = "127.0.0.1"
CHUNK = 65536
Hook = Callable[[], Awaitable[None]]


class DelayProxy:
    """Forwards 127.0.0.1:listen_port to 127.0.0.1:upstream_port; TLS passes through untouched."""

    def __init__(
        self,
        listen_port: int,
        upstream_port: int,
        rtt_ms: float,
        *,
        before_connect: Hook | None = None,
    ) -> None:
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.delay = max(rtt_ms, 0.0) / 2000.0
        self.before_connect = before_connect
        self.active = 0
        self.idle_since = time.monotonic()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on the loopback address."""
        self._server = await asyncio.start_server(self._handle, LOOPBACK, self.listen_port)

    async def close(self) -> None:
        """Stop listening (open sessions end when their peers close)."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        """One client session: wake the upstream if needed, then relay both directions."""
        self.active += 1
        try:
            if self.before_connect is not None:
                await self.before_connect()
            up_r, up_w = await asyncio.open_connection(LOOPBACK, self.upstream_port)
        except asyncio.CancelledError:
            self._left(client_w)
            return
        except Exception as exc:  # the client sees its connection close; the log says why
            print(
                f"proxy :{self.listen_port}: {type(exc).__name__}: {exc}",
                file=sys.stderr,
                flush=True,
            )
            self._left(client_w)
            return
        try:
            await self._relay(client_r, client_w, up_r, up_w)
        except asyncio.CancelledError:
            pass  # shutting down
        finally:
            up_w.close()
            self._left(client_w)

    def _left(self, client_w: asyncio.StreamWriter) -> None:
        client_w.close()
        self.active -= 1
        if self.active == 0:
            self.idle_since = time.monotonic()

    async def _relay(
        self,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        up_r: asyncio.StreamReader,
        up_w: asyncio.StreamWriter,
    ) -> None:
        """Run both directions; when one ends, let the other flush what it already read."""
        tasks = [
            asyncio.create_task(self._pipe(client_r, up_w)),
            asyncio.create_task(self._pipe(up_r, client_w)),
        ]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=2 * self.delay + 1.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        """Copy src to dst, each chunk delivered `delay` seconds after it was read."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.create_task(self._send(queue, dst))
        try:
            while data := await src.read(CHUNK):
                queue.put_nowait((loop.time() + self.delay, data))
        except OSError:
            pass
        finally:
            queue.put_nowait((loop.time() + self.delay, b""))
            with contextlib.suppress(Exception):
                await sender
            dst.close()

    async def _send(
        self, queue: asyncio.Queue[tuple[float, bytes]], dst: asyncio.StreamWriter
    ) -> None:
        """Write queued chunks when due; an empty chunk ends the direction."""
        loop = asyncio.get_running_loop()
        while True:
            due, data = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                return
            dst.write(data)
            await dst.drain()
