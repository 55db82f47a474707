"""Shared fixtures: a real PostgreSQL server and fresh databases on it."""

import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.pg import create_database, drop_database, server_dsn

settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    print_blob=True,
)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def admin_dsn() -> Iterator[str]:
    """DSN of the test server's maintenance database (CHATGATE_TEST_DSN or embedded)."""
    dsn, server = server_dsn()
    yield dsn
    if server is not None:
        server.release()


@pytest.fixture(scope="session")
def make_db(admin_dsn: str) -> Iterator[Callable[[], str]]:
    """Factory of empty databases, all dropped at the end of the session."""
    made: list[str] = []

    def make() -> str:
        dsn = create_database(admin_dsn)
        made.append(dsn)
        return dsn

    yield make
    for dsn in made:
        drop_database(admin_dsn, dsn)


@pytest.fixture
def empty_db(make_db: Callable[[], str]) -> str:
    """DSN of a fresh empty database."""
    return make_db()
