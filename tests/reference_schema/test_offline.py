"""Offline mode: the migrations as SQL text for a DBA (no database needed)."""

import pytest
from alembic import command

from reference_schema.migrations import alembic_config
from tests.reference_schema.helpers import CHAT_SCHEMA


def test_offline_mode_writes_the_sql_for_a_dba(capsys: pytest.CaptureFixture[str]) -> None:
    command.upgrade(alembic_config(CHAT_SCHEMA), "heads", sql=True)
    out = capsys.readouterr().out
    assert 'CREATE TABLE "Chat App".messages' in out
    assert 'ALTER TABLE "Chat App".messages FORCE ROW LEVEL SECURITY' in out
    assert out.count("CREATE POLICY") == 2
