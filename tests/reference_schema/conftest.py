"""Fixtures for the reference schema: migrated databases, an event loop, engines."""

import asyncio
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_schema.db import make_engine
from reference_schema.migrations import apply_schema
from tests.reference_schema.helpers import CHAT_SCHEMA, Run, temp_role


@pytest.fixture(scope="module")
def chat_db(make_db: Callable[[], str]) -> str:
    """A database with the reference schema in CHAT_SCHEMA (shared by a module's tests)."""
    dsn = make_db()
    apply_schema(dsn, schema=CHAT_SCHEMA)
    return dsn


@pytest.fixture
def run() -> Iterator[Run]:
    """Run a coroutine to completion on one event loop kept for the whole test."""
    with asyncio.Runner() as runner:
        yield runner.run


@pytest.fixture
def engine(chat_db: str, run: Run) -> Iterator[AsyncEngine]:
    """An engine on chat_db."""
    eng = make_engine(chat_db, schema=CHAT_SCHEMA)
    yield eng
    run(eng.dispose())


@pytest.fixture
def app_role(empty_db: str) -> Iterator[str]:
    """A role that neither owns the tables nor bypasses RLS, dropped afterwards."""
    with temp_role(empty_db) as role:
        yield role
