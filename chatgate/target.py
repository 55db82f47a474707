"""Where checks and runs go: one `Target` interface over embedded, DSN and docker servers."""

import asyncio
import os
import socket
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from chatgate.dsn import Dsn, mask_text, parse_dsn
from chatgate.embedded import EmbeddedServer
from chatgate.errors import SetupError

DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass
class Target:
    """A reachable PostgreSQL server; `dsn` holds the secret, `masked` is safe to print."""

    kind: str  # "embedded" | "dsn" | "docker"
    dsn: Dsn
    _cleanup: list[Any] = field(default_factory=list, repr=False)
    server_version: str = ""
    tls: bool = False

    @property
    def masked(self) -> str:
        return self.dsn.masked

    @property
    def pooled(self) -> bool:
        return self.dsn.pooled

    async def connect(self, **overrides: Any) -> asyncpg.Connection:
        """An asyncpg connection with timeouts and pooler-safe settings; one-line errors."""
        kwargs = {**self.dsn.asyncpg_kwargs(), **overrides}
        try:
            return await asyncpg.connect(self.dsn.asyncpg_url(), **kwargs)
        except Exception as exc:
            raise connect_error(exc, self.dsn) from None

    async def probe(self) -> None:
        """Connect once: fail fast with a one-line error, learn version and TLS."""
        conn = await self.connect()
        try:
            self.server_version = str(await conn.fetchval("SHOW server_version"))
            ssl = conn._transport.get_extra_info("ssl_object") if conn._transport else None
            self.tls = ssl is not None
        finally:
            await conn.close()

    def close(self) -> None:
        """Release what opening the target started (embedded holder, container)."""
        while self._cleanup:
            self._cleanup.pop()()

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_target(
    dsn: str | None = None,
    *,
    target: str | None = None,
    pooled: bool | None = None,
    probe: bool = True,
) -> Target:
    """Resolve --dsn / CHATGATE_DSN / --target into a started, reachable `Target`."""
    opened = _resolve(dsn, target=target, pooled=pooled)
    if probe:
        try:
            asyncio.run(opened.probe())
        except BaseException:
            opened.close()
            raise
    return opened


def _resolve(dsn: str | None, *, target: str | None, pooled: bool | None) -> Target:
    dsn = dsn or os.environ.get("CHATGATE_DSN") or None
    kind = (target or "").split(":", 1)[0]
    if kind == "docker":
        return _docker_target(target or "docker", pooled)
    if kind not in ("", "embedded", "dsn"):
        raise SetupError(f"unknown target {target!r}", fix="use embedded, dsn or docker[:IMAGE]")
    if dsn and kind != "embedded":
        return Target("dsn", parse_dsn(dsn, pooled=pooled))
    if kind == "dsn":
        raise SetupError("--target dsn needs a DSN", fix="pass --dsn or set CHATGATE_DSN")
    server = EmbeddedServer()
    uri = server.start()
    return Target("embedded", parse_dsn(uri, pooled=False), [server.release])


def docker_engine_available(sock: str | None = None) -> bool:
    """Ask the Docker engine's /_ping over its unix socket (0.1 ms when it exists)."""
    host = os.environ.get("DOCKER_HOST", "")
    path = sock or (host[len("unix://") :] if host.startswith("unix://") else DOCKER_SOCKET)
    if host and not host.startswith("unix://"):
        return True  # a TCP engine: let testcontainers try
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in s.recv(64)
    except OSError:
        return False


def _docker_target(spec: str, pooled: bool | None) -> Target:
    image = spec.split(":", 1)[1] if ":" in spec else "postgres:17"
    if not docker_engine_available():
        raise SetupError(
            "no Docker engine answers (docker target)",
            fix="start Docker, or use the embedded default (no --target) or --dsn",
        )
    from testcontainers.postgres import PostgresContainer

    container = PostgresContainer(image, driver=None)
    container.start()
    url = container.get_connection_url()
    return Target("docker", parse_dsn(url, pooled=pooled), [container.stop])


def connect_error(exc: BaseException, dsn: Dsn) -> SetupError:
    """Turn a driver exception into a one-line SetupError naming the problem and the fix."""
    text = mask_text(" ".join(str(exc).split()) or type(exc).__name__, dsn.password)
    where = f"{dsn.params.get('host', 'localhost')}:{dsn.params.get('port', '5432')}"
    name = type(exc).__name__
    if "no encryption" in text or "SSL required" in text or "SSL off" in text:
        return SetupError(f"{where} requires TLS", fix="add sslmode=require to the DSN")
    if "rejected SSL upgrade" in text or "during SSL exchange" in text:
        return _handshake_error(dsn, where)
    if "connection_lost" in text or isinstance(exc, (ConnectionResetError, EOFError)):
        return SetupError(
            f"{where} closed the connection during the PostgreSQL handshake",
            fix="check the DSN's host and port: is PostgreSQL (or a pooler that reaches it) there?",
        )
    if "pgbouncer cannot connect to server" in text:
        return SetupError(
            f"the pooler at {where} cannot reach its PostgreSQL server",
            fix="check the server behind the pooler",
        )
    if (
        isinstance(exc, asyncpg.InvalidPasswordError)
        or "password authentication" in text
        or "SASL authentication failed" in text
    ):
        return SetupError(
            f"authentication failed for user {dsn.params.get('user')!r}",
            fix="check the user and password in the DSN",
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError) or "no such database" in text:
        return SetupError(
            f"database {dsn.params.get('dbname')!r} does not exist on {where}",
            fix="create it or correct the database name in the DSN",
        )
    if isinstance(exc, ConnectionRefusedError):
        return SetupError(f"connection refused by {where}", fix="is PostgreSQL running there?")
    if isinstance(exc, socket.gaierror):
        return SetupError(f"unknown host {dsn.params.get('host')!r}", fix="check the DSN's host")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return SetupError(
            f"timed out connecting to {where}",
            fix="check host, port and firewall; raise connect_timeout",
        )
    if "SSL" in text or "ssl" in text:
        return SetupError(f"TLS problem with {where}: {text}", fix="check sslmode in the DSN")
    return SetupError(f"cannot connect to {where}: {name}: {text}")


def _handshake_error(dsn: Dsn, where: str) -> SetupError:
    """The server did not accept the TLS request: no TLS at all, or not PostgreSQL."""
    answer = ssl_request_answer(dsn.params.get("hostaddr") or dsn.host, dsn.params.get("port"))
    if answer == b"N":
        return SetupError(
            f"{where} does not offer TLS but the DSN asks for sslmode={dsn.sslmode}",
            fix="enable ssl on that server, or use sslmode=prefer if the network is trusted",
        )
    if answer == b"E":
        return SetupError(
            f"{where} refused the TLS request with an error",
            fix="check the server's log; is this the right port for PostgreSQL?",
        )
    seen = f" (it answered {answer[:16]!r})" if answer else ""
    return SetupError(
        f"{where} does not speak the PostgreSQL protocol{seen}",
        fix="check the DSN's host and port",
    )


def ssl_request_answer(host: str, port: str | None, timeout: float = 2.0) -> bytes:
    """Send PostgreSQL's SSLRequest; the first bytes of the answer (b'' if none)."""
    if not host or host.startswith("/") or "," in host:
        return b""
    try:
        with socket.create_connection((host, int(port or 5432)), timeout=timeout) as sock:
            sock.sendall((8).to_bytes(4, "big") + (80877103).to_bytes(4, "big"))
            return sock.recv(64)
    except (OSError, ValueError):
        return b""
