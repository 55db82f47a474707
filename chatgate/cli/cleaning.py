"""`chatgate clean`: remove every harness run's rows (after a crash or kill -9), nothing else."""

from typing import Any

import click

from chatgate.cli.app import app, echo, run_async, settings
from chatgate.options import TARGET, Settings, click_options
from chatgate.target import Target, open_target


async def _clean(target: Target, s: Settings, *, dry_run: bool) -> dict[str, int]:
    from conformance.cleanup import count_rows, remove_rows
    from conformance.engine import prepare

    ctx = await prepare(target, s)
    if ctx.design is None:
        return {}
    conn = await target.connect()
    try:
        if dry_run:
            return (await count_rows(conn, design=ctx.design, tag=None)).as_dict()
        return (await remove_rows(conn, design=ctx.design, tag=None)).as_dict()
    finally:
        await conn.close()


@app.command()
@click_options(*TARGET, "schema", "map", "debug")
@click.option("--dry-run", is_flag=True, help="only count the harness rows")
def clean(dry_run: bool, **values: Any) -> None:
    """Remove the rows of every chatgate run (users, conversations, messages it marked)."""
    s = settings(**values)
    with open_target(s.dsn, target=s.target, pooled=s.pooled or None) as target:
        counts = run_async(_clean(target, s, dry_run=dry_run))
    verb = "would remove" if dry_run else "removed"
    summary = ", ".join(f"{n} {table}" for table, n in counts.items()) or "nothing"
    echo(f"{verb} harness rows: {summary} ({target.masked})")
