"""`chatgate init`: apply the reference schema to a target."""

from typing import Any

import click

from chatgate.cli.app import app, echo, settings
from chatgate.options import click_options
from chatgate.reference import ensure_reference_schema
from chatgate.target import open_target


@app.command()
@click_options("dsn", "target", "pooled", "schema", "debug")
@click.option("--rls", is_flag=True, help="also enable row-level security (app.user_id policies)")
def init(rls: bool, **values: Any) -> None:
    """Apply the reference schema (idempotent: running it twice is harmless)."""
    s = settings(**values)
    with open_target(s.dsn, target=s.target, pooled=s.pooled or None) as target:
        ensure_reference_schema(target, schema=s.schema, rls=rls)
        schema = s.schema or "public"
        echo(
            f"reference schema applied to {target.masked} (schema {schema}{', RLS' if rls else ''})"
        )
