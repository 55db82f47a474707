"""`chatgate report` (HTML, Markdown, JUnit from a result JSON) and `chatgate compare`."""

from pathlib import Path
from typing import NoReturn

import click

from chatgate.cli.app import app, console, console_error, echo
from reports.compare import FailRule, parse_rule
from reports.console import run_compare
from reports.result import ResultFileError, RunResult
from reports.writer import default_paths, write_reports

PATH = click.Path(dir_okay=False, path_type=Path)


def _rules(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[FailRule]:
    """Parse every --fail-on value; a bad one is a usage error (exit 2)."""
    try:
        return [parse_rule(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _read(path: Path) -> RunResult:
    """Read a result file, or end the command with one line and exit 2."""
    try:
        return RunResult.read(path)
    except ResultFileError as exc:
        _unusable(exc)


def _unusable(exc: Exception) -> NoReturn:
    """One line about a result file that cannot be used, then exit 2 (no traceback)."""
    if isinstance(exc, ResultFileError):
        console_error(str(exc))
    else:
        console_error(f"malformed result document: {type(exc).__name__}: {exc}")
    raise click.exceptions.Exit(2)


@app.command()
@click.argument("result_json", type=PATH)
@click.option("--html", "html", type=PATH, help="Write the self-contained HTML report here.")
@click.option("--md", "md", type=PATH, help="Write the Markdown summary here.")
@click.option("--junit", "junit", type=PATH, help="Write JUnit XML here.")
@click.option("--baseline", type=PATH, help="An older result JSON to compare latencies with.")
def report(
    result_json: Path, html: Path | None, md: Path | None, junit: Path | None, baseline: Path | None
) -> None:
    """Render RESULT_JSON as HTML, Markdown and JUnit (all three, next to it, when no flag)."""
    result = _read(result_json)
    base = _read(baseline) if baseline else None
    if html is None and md is None and junit is None:
        html, md, junit = default_paths(result_json).values()
    try:
        written = write_reports(result, html=html, md=md, junit=junit, baseline=base)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        _unusable(exc)
    for kind, path in written.items():
        echo(f"{kind}: {path}")


@app.command(name="compare")
@click.argument("old", type=PATH)
@click.argument("new", type=PATH)
@click.option(
    "--fail-on",
    "rules",
    multiple=True,
    callback=_rules,
    metavar="[OP:]pNN:+X%",
    help="Exit 1 when pNN is significantly slower than +X% (repeatable), e.g. p95:+10%.",
)
def compare_cmd(old: Path, new: Path, rules: list[FailRule]) -> None:
    """Compare the latencies of two result files (OLD is the baseline), noise-aware."""
    try:
        code = run_compare(old, new, rules, console)
    except (ResultFileError, TypeError, ValueError, KeyError, IndexError) as exc:
        _unusable(exc)
    if code:
        raise click.exceptions.Exit(code)
