"""The `chatgate` command line: one group, one module of commands per area."""

import importlib
import sys
from typing import Any

import click

from chatgate.cli.app import app, console_error
from chatgate.dsn import mask_text
from chatgate.errors import ChatgateError

# Each module adds its commands to `app` when imported.
COMMAND_MODULES = ("db", "commands", "doctor", "reporting")
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
        if debug:
            raise
        console_error(mask_text(exc.one_line()))
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        console_error(mask_text(exc.format_message()))
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        console_error("interrupted")
        sys.exit(130)
    except Exception as exc:  # the last net: never a traceback without --debug
        if debug:
            raise
        text = mask_text(" ".join(str(exc).split()))
        console_error(f"{type(exc).__name__}: {text} (rerun with --debug for the traceback)")
        sys.exit(2)
