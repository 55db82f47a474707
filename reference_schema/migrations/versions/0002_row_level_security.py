"""Row-level security on conversations and messages, keyed on the app.user_id setting.

The application sets the acting user per transaction with
`SELECT set_config('app.user_id', :user_id, true)`, which is safe behind a transaction
pooler. Unset, the setting reads as '' or NULL and no row is visible (fail closed).

Revision ID: 0002
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

from reference_schema.migrations import quote_ident, target_schema

revision: str = "0002"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("rls",)
depends_on: str | Sequence[str] | None = "0001"

SETTING = "app.user_id"
TABLES = ("conversations", "messages")
# The sub-select makes the setting an InitPlan, read once per query instead of once per row.
OWNER = f"user_id = (SELECT current_setting('{SETTING}', true))"


def _qualified(table: str) -> str:
    conn = op.get_bind()
    return f"{quote_ident(conn, target_schema())}.{quote_ident(conn, table)}"


def upgrade() -> None:
    """Enable and force RLS, with one owner policy per table for every command."""
    for table in TABLES:
        name = _qualified(table)
        op.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_owner ON {name} USING ({OWNER}) WITH CHECK ({OWNER})")


def downgrade() -> None:
    """Drop the policies and turn RLS off again."""
    for table in TABLES:
        name = _qualified(table)
        op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {name}")
        op.execute(f"ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY")
