"""`chatgate seed` (realistic harness data by COPY) and `chatgate bench` (latency verdicts)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chatgate.cli.app import app, console, echo, err_console, run_async, settings
from chatgate.options import DESIGN, TARGET, Settings, click_options
from chatgate.reference import open_prepared_target
from chatgate.target import Target
from loadtests.shape import SCALES
from reports.result import RunResult

T = TypeVar("T")
SCALE_CHOICE = click.Choice(list(SCALES))  # "tiny" works too; help shows the public three
COMMON = (*TARGET, *DESIGN, "seed", "debug")


@contextmanager
def progress_bar(label: str) -> Iterator[Any]:
    """A rich progress bar on stderr; yields a factory total -> advance(n) callback."""
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )

    def factory(total: int) -> Any:
        task = bar.add_task(label, total=total)
        return lambda n: bar.advance(task, n)

    with bar:
        yield factory


@app.command()
@click_options(*COMMON)
@click.option(
    "--scale",
    type=SCALE_CHOICE,
    default="small",
    show_default=True,
    help="small ~200k messages, medium ~1M, large ~10M",
)
@click.option("--compare", is_flag=True, help="also time INSERT ... SELECT of a sample")
def seed(scale: str, compare: bool, **values: Any) -> None:
    """Seed realistic harness-tagged chat data (removed by `chatgate clean`)."""
    from conformance.engine import prepare
    from loadtests import shape
    from loadtests.baseline import compare_rates
    from loadtests.perfrun import seed_target

    s = settings(**values)
    sc = shape.get_scale(scale)

    async def go(target: Target) -> None:
        ctx = await prepare(target, s)
        assert ctx.design is not None
        with progress_bar(f"seeding {scale}") as bars:
            r = await seed_target(
                target, ctx.design, scale=sc, seed=s.seed or 0, progress=bars(sc.approx_messages)
            )
        echo(
            f"seeded {r.messages:,} messages in {r.conversations:,} conversations of "
            f"{r.users:,} users in {r.seconds:.1f} s: {r.rate:,.0f} messages/s (COPY), "
            f"run {r.run_id}"
        )
        if compare:
            conns = [await target.connect() for _ in range(2)]
            try:
                rc = await compare_rates(conns, ctx.design, sc, seed=s.seed or 0)
            finally:
                for c in conns:
                    await c.close()
            echo(
                f"same {rc.rows:,} rows: COPY {rc.copy_rate:,.0f}/s vs INSERT ... SELECT "
                f"{rc.insert_select_rate:,.0f}/s = {rc.ratio:.2f}x (goal >= 1.2x)"
            )

    with open_prepared_target(s) as target:
        run_async(go(target))


@app.command()
@click_options(
    *COMMON,
    "strict",
    "history-target-ms",
    "append-target-ms",
    "baseline",
    "json",
    "md",
    "html",
    "junit",
)
@click.option(
    "--scale",
    type=SCALE_CHOICE,
    default="small",
    show_default=True,
    help="data to seed when missing: small, medium, large",
)
@click.option(
    "--client",
    type=click.Choice(["asyncpg", "orm"]),
    default="asyncpg",
    show_default=True,
    help="asyncpg (lean) or orm (reference_schema through SQLModel)",
)
@click.option(
    "--engine",
    type=click.Choice(["python", "pgbench"]),
    default="python",
    show_default=True,
    help="python client, or pgbench (the physical limit)",
)
@click.option("--calibrate", is_flag=True, help="also compare with pgbench and INSERT ... SELECT")
@click.option("--samples", type=int, default=1_000, show_default=True, help="samples per read")
@click.option(
    "--clean-after",
    is_flag=True,
    help="remove the harness rows at the end (default: keep the seeded data for the next bench)",
)
def bench(
    scale: str,
    client: str,
    engine: str,
    calibrate: bool,
    samples: int,
    clean_after: bool,
    **values: Any,
) -> None:
    """Measure latencies on seeded data and judge perf.* (exit 1 when a must fails)."""
    from loadtests.perfrun import BenchOptions, bench_target

    s = settings(**values)
    baseline = RunResult.read(s.baseline) if s.baseline else None  # a bad file fails first
    with open_prepared_target(s) as target, progress_bar(f"seeding {scale}") as bars:
        opts = BenchOptions(
            scale,
            "orm" if client == "orm" else "asyncpg",
            "pgbench" if engine == "pgbench" else "python",
            calibrate,
            read_samples=samples,
            write_samples=max(samples // 3, 50),
            progress=bars,
            clean_after=clean_after,
            count_kept=target.kind == "dsn",  # embedded/docker data is the harness's own
        )
        result = run_async(bench_target(target, s, opts))
    print_bench(result)
    write_bench_outputs(result, s, baseline)
    print_harness_rows(result)
    raise click.exceptions.Exit(result.exit_code)


def print_harness_rows(result: RunResult) -> None:
    """What --clean-after removed (stdout), or the rows kept for the next bench (stderr)."""
    rows = result.harness.get("harness_rows", {})
    if "removed" in rows:
        echo(f"removed {sum(rows['removed'].values())} harness rows (--clean-after)")
    if kept := sum(rows.get("kept", {}).values()):
        err_console.print(
            f"kept {kept} seeded harness rows for the next bench; "
            "remove them with `chatgate clean`",
            soft_wrap=True,
            highlight=False,
        )


def print_bench(result: RunResult) -> None:
    """Latency table, scaling, calibration and verdicts on the console."""
    table = Table(
        title=f"chatgate bench ({result.harness.get('client')}, "
        f"{result.harness.get('engine')}, scale {result.harness.get('scale')})"
    )
    for col in ("operation", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"):
        table.add_column(col, justify="left" if col == "operation" else "right")
    for key, st in result.latency.items():
        table.add_row(
            key,
            str(st.count),
            *(f"{v:.3f}" for v in (st.p50, st.p95, st.p99, st.max)),
            str(st.errors),
        )
    console.print(table)
    cal = result.series.get("calibration")
    if cal:
        ct = Table(title="calibration: client p50 / pgbench p50 (same statements, same run)")
        for col in ("operation", "client p50", "pgbench p50", "ratio", "goal"):
            ct.add_column(col)
        for r in cal:
            mark = "[green]ok[/]" if r["met"] else "[red]over[/]"
            ct.add_row(
                r["operation"],
                f"{r['client_p50']:.3f}",
                f"{r['pgbench_p50']:.3f}",
                f"{r['ratio']:.2f}x {mark}",
                f"<= {r['goal']}x",
            )
        console.print(ct)
        sd = result.harness.get("calibration", {}).get("seeding", {})
        if sd:
            echo(
                f"seeding: COPY {sd['copy_rows_per_s']:,}/s vs INSERT ... SELECT "
                f"{sd['insert_select_rows_per_s']:,}/s = {sd['ratio']:.2f}x (goal >= 1.2x)"
            )
    for name, data in result.harness.get("calibration", {}).get("hooks", {}).items():
        echo(f"calibration {name}: {data}")
    style = {"pass": "green", "fail": "bold red", "skip": "yellow", "error": "bold magenta"}
    for c in result.checks:
        console.print(
            f"[{style[c.status]}]{c.status.upper():5}[/] {c.id} ({c.severity}): {c.summary}",
            soft_wrap=True,
            highlight=False,
        )
    console.print(f"verdict: {result.verdict} in {result.duration_s:.1f} s")


def write_bench_outputs(result: RunResult, s: Settings, baseline: RunResult | None) -> None:
    """--json, the reports (--md/--html/--junit) and the comparison with a result baseline."""
    if baseline is not None:
        from reports.compare import compare
        from reports.console import print_comparison

        print_comparison(compare(baseline, result), [], console)
    if s.json is not None:
        echo(f"result JSON: {result.write(s.json)}")
    try:
        from reports.writer import write_reports
    except ImportError:  # reports helper absent: JSON only
        return
    for kind, path in write_reports(
        result, html=s.html, md=s.md, junit=s.junit, baseline=baseline
    ).items():
        echo(f"{kind}: {path}")
