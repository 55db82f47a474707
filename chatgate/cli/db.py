"""`chatgate db start|stop|status|url`: the embedded server, or with `--profile neon` a local
Neon-like stack (TLS-only PostgreSQL, a PgBouncer `-pooler` endpoint, injected RTT,
scale-to-zero)."""

from typing import Any

import click
from rich.markup import escape

from chatgate.cli.app import app, echo
from chatgate.dsn import parse_dsn
from chatgate.embedded import DEFAULT_DB, EmbeddedServer
from chatgate.neon import NeonStack, Status
from chatgate.neon.stack import DEFAULT_PORT_BASE, DEFAULT_RTT_MS, DEFAULT_SUSPEND_S

PROFILE = click.option(
    "--profile",
    type=click.Choice(["embedded", "neon"]),
    default="embedded",
    show_default=True,
    help="embedded server, or the local Neon-like stack",
)


@app.group()
def db() -> None:
    """Manage the local embedded PostgreSQL server (or, with --profile neon, a Neon-like stack)."""


@db.command()
@PROFILE
@click.option(
    "--rtt",
    type=click.FloatRange(0, 5000),
    default=None,
    help=f"neon: injected round-trip time in ms [default: {DEFAULT_RTT_MS:g}]",
)
@click.option(
    "--suspend-after",
    type=click.FloatRange(0),
    default=None,
    help=f"neon: idle seconds before postgres suspends, 0 never [default: {DEFAULT_SUSPEND_S:g}]",
)
@click.option(
    "--port-base",
    type=click.IntRange(1024, 65532),
    default=None,
    help=f"neon: first of four loopback ports [default: {DEFAULT_PORT_BASE}]",
)
def start(
    profile: str, rtt: float | None, suspend_after: float | None, port_base: int | None
) -> None:
    """Start the server (or stack) and keep it running after this command."""
    if profile == "embedded":
        _embedded_only(rtt=rtt, suspend_after=suspend_after, port_base=port_base)
        uri = EmbeddedServer().start(keep=True)
        echo(f"embedded PostgreSQL running: {uri}")
        return
    stack = NeonStack()
    stack.start(
        rtt_ms=DEFAULT_RTT_MS if rtt is None else rtt,
        suspend_after=DEFAULT_SUSPEND_S if suspend_after is None else suspend_after,
        port_base=port_base or DEFAULT_PORT_BASE,
    )
    _print_status(stack, stack.status())
    echo(
        "export the pooled URL with: export CHATGATE_DSN=$(chatgate db url --profile neon --pooled)"
    )


@db.command()
@PROFILE
def stop(profile: str) -> None:
    """Stop the server (or every process of the stack)."""
    if profile == "neon":
        stopped = NeonStack().stop()
        echo(f"stopped: {', '.join(stopped)}" if stopped else "not running")
        return
    was = EmbeddedServer().stop()
    echo("stopped" if was else "not running")


@db.command()
@PROFILE
def status(profile: str) -> None:
    """Say whether the server (or stack) runs; exit 3 when it does not."""
    if profile == "neon":
        stack = NeonStack()
        current = stack.status()
        _print_status(stack, current)
        if not current.running:
            raise click.exceptions.Exit(3)
        return
    server = EmbeddedServer()
    state = "running" if server.running() else "stopped"
    kept = " (kept by `chatgate db start`)" if server.kept() else ""
    echo(f"embedded: {state}{kept}; data: {server.pgdata}")
    if not server.running():
        raise click.exceptions.Exit(3)


@db.command()
@PROFILE
@click.option("--pooled", is_flag=True, help="neon: the pooled (-pooler) endpoint")
def url(profile: str, pooled: bool) -> None:
    """Print the URL, password included (meant for `export CHATGATE_DSN=$(...)`)."""
    if profile == "neon":
        click.echo(NeonStack().dsn(pooled=pooled))
        return
    _embedded_only(pooled=pooled or None)
    server = EmbeddedServer()
    click.echo(server.start(keep=True) if not server.running() else _url(server))


def _url(server: EmbeddedServer) -> str:
    return f"postgresql://postgres@/{DEFAULT_DB}?host={server.pgdata}"


def _embedded_only(**neon_options: Any) -> None:
    """Reject neon-only options given without --profile neon."""
    given = [k.replace("_", "-") for k, v in neon_options.items() if v is not None]
    if given:
        raise click.UsageError(f"--{given[0]} needs --profile neon")


def _print_status(stack: NeonStack, st: Status) -> None:
    """Processes, settings, masked endpoints and the scale-to-zero counters."""
    if st.config is None:
        echo(f"neon: never started (state: {stack.layout.base})")
        return
    run = st.runtime
    pg = "running" if st.postgres else "suspended" if st.daemon else "stopped"
    procs = f"postgres {pg}, pgbouncer {_pid(st.pgbouncer)}, proxies {_pid(st.daemon)}"
    cfg = st.config
    suspend = f"{cfg.suspend_after:g} s" if cfg.suspend_after > 0 else "never"
    echo(
        f"neon: {'running' if st.running else 'stopped'} ({procs}); rtt {cfg.rtt_ms:g} ms; "
        f"suspend after {suspend}; state: {stack.layout.base}"
    )
    for name, pooled in (("direct", False), ("pooled", True)):
        echo(escape(f"{name}: {parse_dsn(stack.dsn(pooled=pooled)).masked}"))
    if run:
        last = run.get("last_wake_ms")
        cold = f", last cold start {last:.0f} ms" if last is not None else ""
        echo(
            f"scale-to-zero: {run.get('suspends', 0)} suspends, {run.get('wakes', 0)} wakes"
            f"{cold}; clients now {run.get('clients', 0)}"
        )


def _pid(pid: int | None) -> str:
    return f"running (pid {pid})" if pid else "stopped"
