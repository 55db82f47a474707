"""`chatgate db start|stop|status|url`: the embedded server (and, with profiles, local stacks)."""

import click

from chatgate.cli.app import app, echo
from chatgate.embedded import DEFAULT_DB, EmbeddedServer


@app.group()
def db() -> None:
    """Manage the local embedded PostgreSQL server."""


@db.command()
def start() -> None:
    """Start the embedded server and keep it running after this command."""
    server = EmbeddedServer()
    uri = server.start(keep=True)
    echo(f"embedded PostgreSQL running: {uri}")


@db.command()
def stop() -> None:
    """Stop the embedded server."""
    was = EmbeddedServer().stop()
    echo("stopped" if was else "not running")


@db.command()
def status() -> None:
    """Say whether the embedded server runs, and where its data lives."""
    server = EmbeddedServer()
    state = "running" if server.running() else "stopped"
    kept = " (kept by `chatgate db start`)" if server.kept() else ""
    echo(f"embedded: {state}{kept}; data: {server.pgdata}")
    if not server.running():
        raise click.exceptions.Exit(3)


@db.command()
def url() -> None:
    """Print the embedded server's URL (starts it and keeps it running)."""
    server = EmbeddedServer()
    click.echo(server.start(keep=True) if not server.running() else _url(server))


def _url(server: EmbeddedServer) -> str:
    return f"postgresql://postgres@/{DEFAULT_DB}?host={server.pgdata}"
