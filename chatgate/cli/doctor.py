"""`chatgate doctor`: server version, TLS, pooled or direct, and what connecting costs."""

from typing import Any

import click
from rich.markup import escape

from chatgate.cli.app import app, echo, run_async, settings
from chatgate.doctor import SAMPLES, diagnose
from chatgate.options import TARGET, click_options
from chatgate.target import open_target


@app.command()
@click_options(*TARGET, "debug")
@click.option(
    "--samples",
    type=click.IntRange(1, 10000),
    default=SAMPLES,
    show_default=True,
    help="SELECT 1 round trips to time",
)
def doctor(samples: int, **values: Any) -> None:
    """Diagnose a target: version, TLS, pooler, connect time, round trips, cold start."""
    s = settings(**values)
    with open_target(s.dsn, target=s.target, pooled=s.pooled or None, probe=False) as target:
        report = run_async(diagnose(target, samples=samples))
    for line in report.lines():
        echo(escape(line))
