"""`chatgate load`: chat users under Locust, exact merged latencies, p95 verdicts."""

from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chatgate.cli.app import app, console, echo, err_console, settings
from chatgate.cli.checking import print_result, write_outputs
from chatgate.options import BUDGETS, DESIGN, OUTPUTS, TARGET, click_options
from chatgate.reference import open_prepared_target
from reports.result import RunResult

LOAD_OPTIONS = (*TARGET, *DESIGN, "strict", "rls-setting", *BUDGETS, *OUTPUTS, "debug")


@app.command()
@click_options(*LOAD_OPTIONS)
@click.option(
    "--users", type=click.IntRange(1), default=20, show_default=True, help="concurrent chat users"
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="open loop: total operations per second (latency from intended start)",
)
@click.option("--duration", default="30s", show_default=True, help="run time, e.g. 30s, 2m")
@click.option(
    "--workers",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Locust worker processes (0: one process)",
)
@click.option(
    "--spawn-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="users started per second (default: all within a second)",
)
@click.option(
    "--think",
    type=click.FloatRange(0),
    default=1.0,
    show_default=True,
    help="think-time scale in seconds (closed loop)",
)
@click.option("--web", is_flag=True, help="show Locust's web UI on 127.0.0.1 while running")
@click.option("--keep-data", is_flag=True, help="keep the rows this run wrote")
def load(
    users: int,
    rate: float | None,
    duration: str,
    workers: int,
    spawn_rate: float | None,
    think: float,
    web: bool,
    keep_data: bool,
    **values: Any,
) -> None:
    """Run chat users against the target with Locust; gate on p95 history/append latency."""
    from loadtests.load import LoadConfig, free_port, parse_duration

    s = settings(**values)
    cfg = LoadConfig(
        users=users,
        duration_s=parse_duration(duration),
        spawn_rate=spawn_rate,
        rate=rate,
        workers=workers,
        web=web,
        think_s=think,
        keep_data=keep_data,
        rls_setting=s.rls_setting,
        web_port=free_port() if web else 0,
    )
    if web:
        echo(f"Locust web UI: http://127.0.0.1:{cfg.web_port}/ (stops after the run time)")
    with open_prepared_target(s) as target:
        mode = f"open loop at {rate:g} ops/s" if rate else "closed loop"
        echo(
            f"load: {users} users, {mode}, {cfg.duration_s:g} s, "
            f"{workers or 1} Locust process{'es' if workers > 1 else ''} on {target.masked}"
        )
        result = _run_with_progress(target, s, cfg)
    print_latency(result)
    print_result(result)
    write_outputs(result, s)
    raise click.exceptions.Exit(result.exit_code)


def _run_with_progress(target: Any, s: Any, cfg: Any) -> RunResult:
    """run_load with a progress bar on stderr (elapsed of the run time, requests so far)."""
    from loadtests.load import run_load

    columns = (
        TextColumn("[bold]load[/]"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("starting", total=cfg.duration_s)

        def update(p: dict[str, Any]) -> None:
            if p:
                text = f"{p.get('requests', 0)} requests, {p.get('failures', 0)} failed"
                bar.update(
                    task, completed=min(p.get("elapsed", 0.0), cfg.duration_s), description=text
                )

        result: RunResult = run_load(target, s, cfg, progress=update)
    return result


def print_latency(result: RunResult) -> None:
    """Exact merged latencies (ms, microsecond resolution) per operation."""
    table = Table(show_header=True, header_style="bold", title="latency (exact, merged)")
    for name in ("operation", "count", "failed", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(name, justify="left" if name == "operation" else "right")
    for op, st in result.latency.items():
        failed = f"[bold red]{st.errors}[/]" if st.errors else "0"
        table.add_row(
            op, str(st.count), failed, *(f"{v:.3f}" for v in (st.p50, st.p95, st.p99, st.max))
        )
    console.print(table)
    load = result.harness.get("load", {})
    echo(
        f"throughput: {load.get('ops_per_s', 0)} ops/s; requests {load.get('requests', 0)}, "
        f"failed {load.get('failures', 0)}"
    )
