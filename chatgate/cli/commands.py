"""`chatgate init` (apply the reference schema) and `chatgate run` (the main job)."""

from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from chatgate.cli.app import app, echo, err_console, settings
from chatgate.cli.checking import print_result
from chatgate.dsn import mask_text
from chatgate.options import BUDGETS, DESIGN, TARGET, click_options
from chatgate.reference import ensure_reference_schema
from chatgate.target import open_target


@app.command()
@click_options(*TARGET, "schema", "debug")
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


@app.command()
@click_options(
    *TARGET,
    *DESIGN,
    "strict",
    "profile",
    "rls-role",
    "rls-setting",
    *BUDGETS,
    "seed",
    "baseline",
    "debug",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("chatgate-report"),
    show_default=True,
    help="directory for result.json, report.html, summary.md, junit.xml",
)
@click.option("--scale", default="small", show_default=True, help="seeded data: small|medium|large")
@click.option(
    "--load-seconds",
    type=click.FloatRange(0),
    default=15.0,
    show_default=True,
    help="length of the load run (0 skips it)",
)
@click.option("--load-users", type=click.IntRange(1), default=10, show_default=True)
@click.option("--keep-data", is_flag=True, help="keep the seeded rows on your database")
def run(
    out: Path, scale: str, load_seconds: float, load_users: int, keep_data: bool, **values: Any
) -> None:
    """The main job: checks, seeding, benchmarks, a short load run and every report."""
    from chatgate.job import JobPlan, run_job
    from reports import write_reports
    from reports.result import RunResult

    s = settings(**values)
    baseline = RunResult.read(s.baseline) if s.baseline else None
    plan = JobPlan(
        out=out,
        scale=scale,
        load_users=load_users,
        load_seconds=load_seconds,
        load=load_seconds > 0,
        keep_data=keep_data,
    )

    def say(message: str) -> None:
        err_console.print(f"[bold cyan]>[/] {escape(mask_text(message))}", soft_wrap=True)

    result = run_job(s, plan, say=say)
    say(f"4/4 reports in {out}")
    json_path = result.write(out / "result.json")
    paths = write_reports(
        result,
        html=out / "report.html",
        md=out / "summary.md",
        junit=out / "junit.xml",
        baseline=baseline,
    )
    print_result(result)
    echo(f"report: {paths.get('html', json_path)}  (result: {json_path})")
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)
