"""Console rendering of a comparison (rich) and the `chatgate compare` flow."""

from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from reports.compare import Comparison, FailRule, OperationDelta, PercentileDelta, compare
from reports.fmt import PERCENTILES, ms, pct_change, short_count
from reports.result import RunResult

STYLES = {"slower": "bold red", "faster": "bold green", "no change": "dim", "n/a": "yellow"}


def _label(op: OperationDelta) -> str:
    length = op.params.get("conversation_length")
    return f"{op.operation} @ {length:,}" if isinstance(length, int) else op.key


def _interval(d: PercentileDelta) -> str:
    if d.verdict == "n/a":
        return "no histogram"
    return f"{pct_change(d.low)[:-1]}…{pct_change(d.high)}"


def _length(op: OperationDelta) -> str:
    n = op.params.get("conversation_length")
    return short_count(n) if isinstance(n, int) else ""


def comparison_table(cmp: Comparison) -> Table:
    """One row per operation and percentile: old, new, change, interval, verdict."""
    conf = f"{cmp.confidence * 100:g}% CI"
    title = f"latency, new vs old (noise threshold ±{cmp.threshold * 100:g}%)"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("operation", "length", "pct", "old ms", "new ms", "change", conf, "verdict"):
        table.add_column(
            name, justify="left" if name in ("operation", "pct", "verdict") else "right"
        )
    table.add_column("P(new>old)", justify="right")
    for op in cmp.operations:
        for i, pct in enumerate(PERCENTILES):
            d = op.deltas[pct]
            sup = f"{op.superiority:.2f}" if i == 0 and op.superiority is not None else ""
            table.add_row(
                op.operation if i == 0 else "",
                _length(op) if i == 0 else "",
                pct,
                ms(d.old),
                ms(d.new),
                pct_change(d.ratio),
                _interval(d),
                Text(d.verdict, style=STYLES[d.verdict]),
                sup,
                end_section=i == len(PERCENTILES) - 1,
            )
    return table


def print_comparison(cmp: Comparison, rules: list[FailRule], console: Console) -> int:
    """Print the table and any violated rules; the exit code (1 when a rule is violated)."""
    wide = console
    if not console.is_terminal and console.width < 120:  # CI logs: never squeeze the table
        wide = Console(file=console.file, width=120, highlight=False, no_color=console.no_color)
    wide.print(comparison_table(cmp))
    for key in cmp.only_old:
        console.print(f"[yellow]only in old:[/] {escape(key)}")
    for key in cmp.only_new:
        console.print(f"[yellow]only in new:[/] {escape(key)}")
    violations = cmp.violations(rules)
    for rule, op in violations:
        d = op.deltas[rule.percentile]
        line = (
            f"[bold red]FAIL[/] {rule}: {_label(op)} {rule.percentile} {ms(d.old)} -> "
            f"{ms(d.new)} ms ({pct_change(d.ratio)}, 95% CI {_interval(d)})"
        )
        console.print(line, soft_wrap=True)
    if rules and not violations:
        console.print(f"[green]ok[/]: no rule violated ({', '.join(map(str, rules))})")
    return 1 if violations else 0


def run_compare(
    old_path: str | Path, new_path: str | Path, rules: list[FailRule], console: Console
) -> int:
    """Read two result files and compare them; ResultFileError when one is unreadable."""
    old, new = RunResult.read(old_path), RunResult.read(new_path)
    return print_comparison(compare(old, new), rules, console)
