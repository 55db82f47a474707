"""`chatgate doctor`: what a target really is (version, TLS, pooling) and what connecting costs."""

import asyncio
import ssl
import statistics
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from chatgate.dsn import Dsn, mask_text, parse_dsn
from chatgate.errors import SetupError, describe
from chatgate.target import Target

SAMPLES = 20
WARM_CONNECTS = 3
POOL_PROBES = 3
SAFE = {"statement_cache_size": 0}  # the doctor's own probes must work on any endpoint
SSL_REQUEST = struct.pack("!ii", 8, 80877103)
IDENTIFY = (
    "SELECT pg_backend_pid() AS pid, current_setting('server_version') AS version,"
    " s.ssl, s.version AS tls_version, s.cipher"
    " FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()"
)


@dataclass
class DoctorReport:
    """Everything `chatgate doctor` measured; `lines()` is what it prints."""

    target: str
    pooled_dsn: bool
    pooled_why: str
    server_version: str = ""
    backend_pid: int = 0
    tls_client: str | None = None
    tls_server: str | None = None
    pooled_detected: bool = False
    detection: str = ""
    client: list[str] = field(default_factory=list)
    first_connect_ms: float = 0.0
    connect_ms: float = 0.0
    tcp_ms: float | None = None
    tls_ms: float | None = None
    first_query_ms: float = 0.0
    simple_ms: float = 0.0
    extended_ms: float = 0.0
    samples: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def pooled(self) -> bool:
        return self.pooled_dsn or self.pooled_detected

    @property
    def cold_start_ms(self) -> float:
        """How much longer the first connection took than a warm one (resume, first auth)."""
        return max(self.first_connect_ms - self.connect_ms, 0.0)

    def lines(self) -> list[str]:
        """The report as `key: value` lines (masked by the caller's console)."""
        how = f"DSN: {self.pooled_why}; detected: {self.detection}"
        return [
            f"target: {self.target}",
            f"server: PostgreSQL {self.server_version}",
            f"tls (client): {self.tls_client or 'off (not negotiated by this client)'}",
            f"tls (server): {self.tls_server}",
            f"endpoint: {'pooled' if self.pooled else 'direct'} ({how})",
            f"client settings: {'; '.join(self.client)}",
            f"connect: {self._connect_text()}",
            f"first query after connect: median {self.first_query_ms:.1f} ms"
            f" (SELECT 1 on {WARM_CONNECTS} fresh connections)",
            f"SELECT 1 round trip: median {self.simple_ms:.2f} ms simple protocol,"
            f" {self.extended_ms:.2f} ms extended protocol (asyncpg fetchval,"
            f" {self._cache_text()}), {self.samples} samples each",
            f"cold start: first connect {self.first_connect_ms:.1f} ms vs warm"
            f" {self.connect_ms:.1f} ms: +{self.cold_start_ms:.1f} ms (reported apart from"
            " steady state)",
            *(f"warning: {w}" for w in self.warnings),
        ]

    def _connect_text(self) -> str:
        text = f"median {self.connect_ms:.1f} ms over {WARM_CONNECTS} warm connections"
        if self.tcp_ms is None:
            return text + " (unix socket: no TCP/TLS phases)"
        tls = self.tls_ms or 0.0
        auth = max(self.connect_ms - self.tcp_ms - tls, 0.0)
        tls_text = f"tls {self.tls_ms:.1f}" if self.tls_ms is not None else "no tls"
        return (
            f"{text} = tcp {self.tcp_ms:.1f} + {tls_text} + startup/auth {auth:.1f} ms"
            " (phases measured apart; tcp is to the first hop)"
        )

    def _cache_text(self) -> str:
        if any("statement_cache_size=0" in c for c in self.client):
            return "statement cache off: parse + execute, 2 round trips"
        return "statement cache on: 1 round trip once prepared"


async def diagnose(target: Target, *, samples: int = SAMPLES) -> DoctorReport:
    """Connect, identify the server and endpoint, and time connect and round trips."""
    report = DoctorReport(target.masked, target.pooled, _pooled_why(target.dsn))
    use_hostaddr(target)
    try:
        await _inspect(target, report)
        kwargs = {**target.dsn.asyncpg_kwargs()}
        if report.pooled_detected and not report.pooled_dsn:
            kwargs.update(SAFE)
            report.warnings.append(
                "this endpoint pools transactions but the DSN is not "
                "marked pooled: pass --pooled (else prepared statements fail)"
            )
        report.client = client_settings(target.dsn, kwargs)
        await _measure(target, kwargs, report, samples)
    except SetupError:
        raise
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        known = describe(exc)
        if known is not None:
            raise SetupError(mask_text(known.message), fix=known.fix) from None
        text = mask_text(" ".join(str(exc).split()), target.dsn.password)
        raise SetupError(
            f"query failed on {target.masked}: {type(exc).__name__}: {text}",
            fix="run `chatgate doctor --debug` for the traceback",
        ) from None
    report.tcp_ms, report.tls_ms = await handshake_times(target.dsn)
    return report


async def _inspect(target: Target, report: DoctorReport) -> None:
    """First (maybe cold) connect, identity, TLS on both ends, and pooler detection."""
    t0 = time.perf_counter()
    first = await target.connect(**SAFE)
    report.first_connect_ms = _ms(t0)
    try:
        row = await first.fetchrow(IDENTIFY)
        if row is None:
            raise SetupError("pg_stat_ssl has no row for this backend")
        report.backend_pid, report.server_version = row["pid"], row["version"]
        report.tls_client = _client_tls(first)
        report.pooled_detected, report.detection = await detect_pooling(target, first)
        report.tls_server = _server_tls(row, report.pooled)
    finally:
        await first.close()


async def detect_pooling(target: Target, first: asyncpg.Connection) -> tuple[bool, str]:
    """Two open client connections served by one backend pid can only be a transaction pooler."""
    second = await target.connect(**SAFE)
    try:
        for _ in range(POOL_PROBES):
            pid_a = await first.fetchval("SELECT pg_backend_pid()")
            pid_b = await second.fetchval("SELECT pg_backend_pid()")
            if pid_a == pid_b:
                return True, f"two open client connections shared backend pid {pid_a}"
    finally:
        await second.close()
    return False, "no sign of pooling (two open client connections had their own backends)"


async def _measure(target: Target, kwargs: dict[str, Any], report: DoctorReport, n: int) -> None:
    """Warm connects with chatgate's own settings, their first query, then steady SELECT 1."""
    connects, firsts = [], []
    for _ in range(WARM_CONNECTS):
        t0 = time.perf_counter()
        conn = await target.connect(**kwargs)
        connects.append(_ms(t0))
        t0 = time.perf_counter()
        await conn.fetchval("SELECT 1")
        firsts.append(_ms(t0))
        if len(connects) < WARM_CONNECTS:
            await conn.close()
    try:
        report.simple_ms = statistics.median(
            [await _timed(conn.execute("SELECT 1")) for _ in range(n)]
        )
        report.extended_ms = statistics.median(
            [await _timed(conn.fetchval("SELECT 1")) for _ in range(n)]
        )
    finally:
        await conn.close()
    report.connect_ms = statistics.median(connects)
    report.first_query_ms = statistics.median(firsts)
    report.samples = n


async def handshake_times(dsn: Dsn, tries: int = 3) -> tuple[float | None, float | None]:
    """Median TCP connect and TLS handshake (SSLRequest + handshake) times in ms; None if n/a."""
    host = (dsn.params.get("hostaddr") or dsn.host).split(",")[0]
    if not host or host.startswith("/"):
        return None, None
    port = int(dsn.params.get("port", "5432").split(",")[0])
    runs = [await _handshake(host, port, dsn.sslmode != "disable") for _ in range(tries)]
    tcp = [t for t, _ in runs if t is not None]
    tls = [t for _, t in runs if t is not None]
    return (statistics.median(tcp) if tcp else None, statistics.median(tls) if tls else None)


async def _handshake(host: str, port: int, want_tls: bool) -> tuple[float | None, float | None]:
    """One raw connection: TCP connect time, then SSLRequest + TLS handshake time."""
    try:
        t0 = time.perf_counter()
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    except (OSError, TimeoutError):
        return None, None
    tcp = _ms(t0)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA store: loading one costs ~80 ms
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        if not want_tls:
            return tcp, None
        t0 = time.perf_counter()
        writer.write(SSL_REQUEST)
        if await asyncio.wait_for(reader.readexactly(1), 10) != b"S":
            return tcp, None
        await asyncio.wait_for(writer.start_tls(ctx), 10)
        return tcp, _ms(t0)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
        return tcp, None
    finally:
        writer.close()


def client_settings(dsn: Dsn, kwargs: dict[str, Any]) -> list[str]:
    """What chatgate sets on its connections to this endpoint, in words."""
    cache = (
        "asyncpg statement_cache_size=0 (pooler-safe; doubles round trips)"
        if kwargs.get("statement_cache_size") == 0
        else "asyncpg statement cache on"
    )
    psy = dsn.psycopg_kwargs()
    prepare = (
        "psycopg prepare_threshold=None"
        if "prepare_threshold" in psy
        else "psycopg prepares after 5 executions"
    )
    out = [
        cache,
        prepare,
        f"sslmode={dsn.sslmode}",
        f"connect timeout {kwargs.get('timeout')} s, command timeout "
        f"{kwargs.get('command_timeout')} s",
    ]
    dropped = sorted(set(dsn.params) - set(parse_dsn(dsn.asyncpg_url()).params))
    if dropped:
        out.append(f"not sent by asyncpg: {', '.join(dropped)}")
    return out


def _pooled_why(dsn: Dsn) -> str:
    if dsn.pooled_override:
        return "--pooled"
    return "host contains -pooler" if dsn.pooled else "not marked pooled"


def use_hostaddr(target: Target) -> None:
    """asyncpg ignores libpq's hostaddr: connect to it, keeping host-based pooled detection."""
    dsn = target.dsn
    if "hostaddr" in dsn.params and "hostaddr=" in dsn.asyncpg_url():
        params = {**dsn.params, "host": dsn.params["hostaddr"]}
        del params["hostaddr"]
        target.dsn = Dsn(params, dsn.pooled)


def _client_tls(conn: asyncpg.Connection) -> str | None:
    transport = getattr(conn, "_transport", None)
    obj = transport.get_extra_info("ssl_object") if transport is not None else None
    if obj is None:
        return None
    cipher = obj.cipher()
    return f"{obj.version()}, {cipher[0] if cipher else '?'}"


def _server_tls(row: Any, pooled: bool) -> str:
    hop = "; behind a pooler this is the pooler->server hop" if pooled else ""
    state = f"on, {row['tls_version']}, {row['cipher']}" if row["ssl"] else "off"
    return f"{state} (pg_stat_ssl for backend {row['pid']}{hop})"


async def _timed(awaitable: Any) -> float:
    t0 = time.perf_counter()
    await awaitable
    return _ms(t0)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
