"""Fixtures for behavioural tests: databases holding the reference schema or a variant."""

from collections.abc import Callable

import pytest

from chatgate.dsn import parse_dsn
from tests.conformance.behaviour.support import load_variant


@pytest.fixture
def variant_db(make_db: Callable[[], str]) -> Callable[[str], str]:
    """Factory: a fresh database holding tests/variants/<name>.sql."""
    return lambda name: load_variant(make_db(), name)


@pytest.fixture
def reference_db(make_db: Callable[[], str]) -> Callable[..., str]:
    """Factory: a fresh database migrated to the reference schema (optionally with RLS)."""

    def make(*, rls: bool = False) -> str:
        from reference_schema.migrations import apply_schema

        dsn = make_db()
        apply_schema(parse_dsn(dsn).asyncpg_url(), rls=rls)
        return dsn

    return make
