"""The stack behaves like Neon: TLS-only, SCRAM, a transaction pooler, RTT, scale-to-zero."""

import asyncio
import statistics
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
import psycopg
import pytest

from chatgate.doctor import diagnose, use_hostaddr
from chatgate.dsn import parse_dsn
from chatgate.neon import NeonStack
from chatgate.neon.server import admin_sql
from chatgate.neon.tools import find_tools
from chatgate.target import open_target
from tests.neon.conftest import RTT_MS, wait_suspended

pytestmark = pytest.mark.neon


def _plain(dsn: str) -> str:
    return dsn.replace("sslmode=require", "sslmode=disable")


@pytest.mark.parametrize("pooled", [False, True], ids=["direct", "pooled"])
def test_plain_connections_are_refused(stack: NeonStack, pooled: bool) -> None:
    with pytest.raises(psycopg.OperationalError, match=r"no encryption|SSL required"):
        psycopg.connect(_plain(stack.dsn(pooled=pooled)), connect_timeout=10)


@pytest.mark.parametrize("pooled", [False, True], ids=["direct", "pooled"])
def test_tls_is_in_use_for_a_non_superuser(stack: NeonStack, pooled: bool) -> None:
    dsn = stack.dsn(pooled=pooled)
    with psycopg.connect(dsn, prepare_threshold=None, connect_timeout=10) as conn:
        assert conn.pgconn.ssl_in_use
        row = conn.execute(
            "SELECT s.ssl, r.rolsuper FROM pg_stat_ssl s, pg_roles r "
            "WHERE s.pid = pg_backend_pid() AND r.rolname = current_user"
        ).fetchone()
    assert row == (True, False)  # behind the pooler: its server connection uses TLS too


def test_scram_secret_and_wrong_password(stack: NeonStack, direct_dsn: str) -> None:
    cfg = stack.layout.load()
    assert cfg is not None
    sql = "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'neon_app';"
    assert admin_sql(stack.layout, cfg, find_tools(), sql).strip() == "t"
    bad = direct_dsn.replace("neon_app:", "neon_app:wrong")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bad, connect_timeout=10)
    assert oct(stack.layout.password_file.stat().st_mode & 0o777) == "0o600"


def test_pooled_dsn_is_recognised_as_pooled(pooled_dsn: str, direct_dsn: str) -> None:
    assert parse_dsn(pooled_dsn).pooled and not parse_dsn(direct_dsn).pooled
    assert parse_dsn(pooled_dsn).psycopg_kwargs() == {"prepare_threshold": None}
    assert parse_dsn(pooled_dsn).asyncpg_kwargs()["statement_cache_size"] == 0


def test_psycopg_through_the_pooler_has_no_prepared_statement_errors(pooled_dsn: str) -> None:
    dsn = parse_dsn(pooled_dsn)
    conns = [psycopg.connect(dsn.psycopg_conninfo(), **dsn.psycopg_kwargs()) for _ in range(3)]
    try:
        for i in range(10):  # past psycopg's prepare threshold of 5, interleaved
            for n, conn in enumerate(conns):
                with conn.transaction():
                    got = conn.execute("SELECT %s::int + %s::int", (i, n)).fetchone()
                assert got == (i + n,)
    finally:
        for conn in conns:
            conn.close()


def test_asyncpg_through_the_pooler_has_no_prepared_statement_errors(pooled_dsn: str) -> None:
    async def worker(target: Any, n: int) -> int:
        conn = await target.connect()
        try:
            total = 0
            for i in range(12):
                total += await conn.fetchval("SELECT $1::int + $2::int", i, n)
                async with conn.transaction():
                    await conn.fetchval("SELECT $1::text", str(i))
            return int(total)
        finally:
            await conn.close()

    async def run() -> list[int]:
        target = open_target(pooled_dsn, probe=False)
        use_hostaddr(target)  # no-op once chatgate.dsn maps hostaddr for asyncpg
        return await asyncio.gather(*(worker(target, n) for n in range(8)))

    assert asyncio.run(run()) == [66 + 12 * n for n in range(8)]


def test_default_asyncpg_fails_through_the_pooler(pooled_dsn: str) -> None:
    """The failure the pooled settings prevent: asyncpg's statement cache, concurrent clients."""
    params = parse_dsn(pooled_dsn).params
    kw = {
        "host": params["hostaddr"],
        "port": int(params["port"]),
        "user": params["user"],
        "password": params["password"],
        "database": params["dbname"],
        "ssl": "require",
    }

    async def worker(n: int) -> None:
        conn = await asyncpg.connect(**kw)  # default: named prepared statements, cached
        try:
            for i in range(20):
                await conn.fetchval(f"SELECT $1::int + {n}", i)
        finally:
            await conn.close()

    async def run() -> list[BaseException | None]:
        return await asyncio.gather(*(worker(n) for n in range(8)), return_exceptions=True)

    errors = [e for e in asyncio.run(run()) if isinstance(e, BaseException)]
    assert errors and all("prepared statement" in str(e) for e in errors), errors


def test_session_set_leaks_between_clients_but_set_config_local_does_not(pooled_dsn: str) -> None:
    kw: dict[str, Any] = {"prepare_threshold": None, "autocommit": True}
    with psycopg.connect(pooled_dsn, **kw) as a, psycopg.connect(pooled_dsn, **kw) as b:
        probe = "SELECT pg_backend_pid(), current_setting('app.user_id', true)"
        try:
            a.execute("SET app.user_id = 'alice'")  # session-level: stays on the server conn
            pid_a = a.execute("SELECT pg_backend_pid()").fetchone()
            pid_b, seen = b.execute(probe).fetchone()  # type: ignore[misc]
            assert (pid_b,) == pid_a, "the pooler should hand b the connection a released"
            assert seen == "alice"  # leaked into another client's session
            a.execute("RESET app.user_id")
            with a.transaction():
                a.execute("SELECT set_config('app.user_id', 'bob', true)")
            pid_b, seen = b.execute(probe).fetchone()  # type: ignore[misc]
            assert (pid_b,) == pid_a and seen in ("", None)  # transaction-local: no leak
        finally:
            a.execute("RESET ALL")


def _select1_median(dsn: str, n: int = 20) -> float:
    with psycopg.connect(dsn, prepare_threshold=None, autocommit=True) as conn:
        conn.execute("SELECT 1")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def test_select1_through_the_proxy_costs_about_one_rtt(stack: NeonStack, direct_dsn: str) -> None:
    cfg = stack.layout.load()
    assert cfg is not None
    server = direct_dsn.replace(f":{cfg.direct_port}/", f":{cfg.pg_port}/")  # no proxy
    gap = _select1_median(direct_dsn) - _select1_median(server)
    assert 0.5 * RTT_MS <= gap <= 3 * RTT_MS, f"gap {gap:.1f} ms at rtt {RTT_MS} ms"


@pytest.mark.slow
def test_cold_start_is_measured_apart_from_steady_state(stack: NeonStack, pooled_dsn: str) -> None:
    wait_suspended(stack)
    target = open_target(pooled_dsn, probe=False)
    report = asyncio.run(diagnose(target, samples=5))
    runtime = stack.status().runtime
    assert runtime["wakes"] >= 1 and runtime["last_wake_ms"] > 0
    assert report.first_connect_ms > report.connect_ms + 0.5 * runtime["last_wake_ms"]
    assert any(line.startswith("cold start: ") for line in report.lines())
    assert report.pooled and report.pooled_detected and report.tls_client
    assert report.extended_ms > 1.5 * report.simple_ms  # statement cache off: 2 round trips


def test_doctor_detects_an_unmarked_pooler(stack: NeonStack, pooled_dsn: str) -> None:
    unmarked = parse_dsn(pooled_dsn).with_params(host="127.0.0.1", hostaddr=None).url()
    target = open_target(unmarked, probe=False)
    report = asyncio.run(diagnose(target, samples=3))
    assert not report.pooled_dsn and report.pooled_detected
    assert any("pass --pooled" in w for w in report.warnings)
