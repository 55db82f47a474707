"""`chatgate check` (run the catalogue, gate on it) and `chatgate snapshot` (catalogue to JSON)."""

from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from chatgate.cli.app import app, console, echo, run_async, settings
from chatgate.errors import SetupError
from chatgate.options import DESIGN, OUTPUTS, TARGET, Settings, click_options
from chatgate.reference import open_prepared_target
from chatgate.target import Target
from reports.result import RunResult

STYLE = {"pass": "green", "fail": "bold red", "skip": "yellow", "error": "bold magenta"}
CHECK_OPTIONS = (
    *TARGET,
    *DESIGN,
    "only",
    "read-only",
    "strict",
    "profile",
    "rls-role",
    "rls-setting",
    "seed",
    *OUTPUTS,
    "baseline",
    "debug",
)


@app.command()
@click_options(*CHECK_OPTIONS)
def check(**values: Any) -> None:
    """Check a schema against the catalogue; exit 0 pass, 1 fail, 2 could not start."""
    from conformance.cleanup import sigterm_as_interrupt
    from conformance.engine import check_target

    s = settings(**values)
    with sigterm_as_interrupt(), open_prepared_target(s) as target:
        result = run_async(check_target(target, s))
    print_result(result)
    write_outputs(result, s)
    raise click.exceptions.Exit(result.exit_code)


@app.command()
@click_options("dsn", "target", "pooled", "schema", "debug")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="write the snapshot JSON here",
)
def snapshot(output: Path, **values: Any) -> None:
    """Write the catalogue (tables, columns, constraints, indexes, RLS) as JSON, for --baseline."""
    from conformance.snapshot import take_snapshot

    s = settings(**values)

    async def take(target: Target) -> Any:
        conn = await target.connect()
        try:
            return await take_snapshot(conn, schemas=[s.schema] if s.schema else None)
        finally:
            await conn.close()

    with open_prepared_target(s) as target:
        snap = run_async(take(target))
    if s.schema and s.schema not in snap.schemas:
        raise SetupError(f"schema {s.schema!r} does not exist", fix="check --schema")
    path = snap.write(output)
    echo(escape(f"snapshot of {len(snap.tables)} tables in {', '.join(snap.schemas)} -> {path}"))


def print_result(result: RunResult) -> None:
    """The checks as a colored table, then a one-line verdict."""
    d = result.discovery
    tables = ", ".join(f"{k}={v}" for k, v in d.get("tables", {}).items())
    order = ", ".join(d.get("order_key", ()))
    echo(escape(f"target: {result.target.dsn} (PostgreSQL {result.target.server_version})"))
    echo(escape(f"design: {tables}; order key ({order}) by rule {d.get('order_rule', '?')}"))
    table = Table(show_header=True, header_style="bold", expand=False)
    for name in ("check", "sev", "status", "summary"):
        table.add_column(name, overflow="fold")
    for c in result.checks:
        style = STYLE.get(c.status, "")
        table.add_row(c.id, c.severity, f"[{style}]{c.status}[/]", escape(c.summary))
    console.print(table)
    counts = ", ".join(f"{n} {s}" for s, n in result.counts().items() if n)
    colour = "green" if result.verdict == "pass" else "bold red"
    strict = " (strict)" if result.strict else ""
    console.print(
        f"[{colour}]verdict: {result.verdict.upper()}[/]{strict}: {counts} "
        f"in {result.duration_s:.2f} s"
    )


def write_outputs(result: RunResult, s: Settings) -> None:
    """--json, and --md/--junit/--html through reports.write_reports."""
    from reports import write_reports

    if s.json is not None:
        echo(f"result JSON: {result.write(s.json)}")
    written = write_reports(result, html=s.html, md=s.md, junit=s.junit)
    for kind, path in written.items():
        echo(f"{kind}: {path}")
