"""Test databases on a real PostgreSQL: CHATGATE_TEST_DSN when set, else an embedded cluster."""

import os
import uuid
from pathlib import Path

import psycopg

from chatgate.dsn import parse_dsn
from chatgate.embedded import EmbeddedServer

TEST_HOME = Path(os.environ.get("CHATGATE_TEST_HOME", "/tmp/chatgate-test"))


def server_dsn() -> tuple[str, EmbeddedServer | None]:
    """An admin DSN for the test server, and the embedded server if we started one."""
    env = os.environ.get("CHATGATE_TEST_DSN")
    if env:
        return env, None
    server = EmbeddedServer(TEST_HOME / "embedded")
    return server.start(), server


def create_database(admin_dsn: str, prefix: str = "t") -> str:
    """Create an empty database and return its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(parse_dsn(admin_dsn).psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return parse_dsn(admin_dsn).with_params(dbname=name).url()


def drop_database(admin_dsn: str, dsn: str) -> None:
    """Drop a database made by create_database, disconnecting its sessions."""
    name = parse_dsn(dsn).params["dbname"]
    with psycopg.connect(parse_dsn(admin_dsn).psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
