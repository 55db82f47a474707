"""The `chatgate` command line: one group, one module of commands per area."""

import importlib
import sys
import traceback
from typing import Any

import click

from chatgate.cli.app import app, console_error
from chatgate.dsn import command_timeout, mask_text
from chatgate.errors import ChatgateError, describe
from reports.result import ResultFileError

# Each module adds its commands to `app` when imported.
COMMAND_MODULES = (
    "db",
    "commands",
    "checking",
    "cleaning",
    "perf",
    "load",
    "doctor",
    "reporting",
)
for _name in COMMAND_MODULES:
    importlib.import_module(f"chatgate.cli.{_name}")

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> Any:
    """Entry point: one-line errors and spec exit codes, tracebacks only with --debug."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        rv = app.main(args=args, prog_name="chatgate", standalone_mode=False)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        return rv
    except ChatgateError as exc:
        _traceback(debug)
        console_error(mask_text(exc.one_line()))
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ResultFileError as exc:  # a result/baseline file that cannot be used
        _traceback(debug)
        console_error(mask_text(" ".join(str(exc).split())))
        sys.exit(2)
    except click.ClickException as exc:
        console_error(mask_text(_usage_line(exc)))
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _traceback(debug)
        console_error("interrupted")
        sys.exit(130)
    except Exception as exc:  # the last net: never a traceback without --debug
        _traceback(debug)
        known = _describe(exc)
        if known is not None:
            console_error(mask_text(known.one_line()))
            sys.exit(known.exit_code)
        text = mask_text(" ".join(str(exc).split()))
        console_error(f"{type(exc).__name__}: {text} (rerun with --debug for the traceback)")
        sys.exit(2)


def _traceback(debug: bool) -> None:
    """With --debug: the current traceback on stderr, masked. The exit code stays the spec's
    (a bare re-raise would exit 1, which means "a must check failed")."""
    if debug:
        sys.stderr.write(mask_text(traceback.format_exc()))
        sys.stderr.flush()


def _usage_line(exc: click.ClickException) -> str:
    """click's message on one line, with where to read the command's usage."""
    text = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and "fix:" not in text:
        where = ctx.command_path if ctx is not None else "chatgate"
        text += f" (fix: see `{where} --help`)"
    return text


def _describe(exc: BaseException) -> ChatgateError | None:
    """A driver failure met mid-run as a one-line error (the exception or its cause)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        try:
            known = describe(seen, timeout_s=command_timeout())
        except ChatgateError:
            known = describe(seen)
        if known is not None:
            return known
        seen = seen.__cause__ or seen.__context__
    return None
