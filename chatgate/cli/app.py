"""The click group, the shared console, and helpers every command module uses."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from chatgate import __version__
from chatgate.dsn import mask_text
from chatgate.options import Settings, build_settings

T = TypeVar("T")
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chatgate")
def app() -> None:
    """chatgate: conformance and latency gate for chat schemas in PostgreSQL."""


def console_error(message: str) -> None:
    """Print one masked error line to stderr (the message is text, never markup: an error
    naming `[tool.chatgate.map]` or an IPv6 host keeps its brackets)."""
    line = escape(" ".join(mask_text(message).split()))
    err_console.print(f"[bold red]chatgate: error:[/] {line}", soft_wrap=True)


def settings(**values: Any) -> Settings:
    """Settings from a command's keyword arguments plus config files."""
    return build_settings(values)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a click command, on uvloop when installed (less per-call overhead)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def echo(message: str = "") -> None:
    """Print a masked line to stdout."""
    console.print(escape(mask_text(message)), soft_wrap=True)
