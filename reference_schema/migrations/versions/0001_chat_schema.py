"""The chat schema: users, tasks, conversations, messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from reference_schema.migrations import target_schema

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("schema",)
depends_on: str | Sequence[str] | None = None

TSTZ = sa.DateTime(timezone=True)


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, TSTZ, server_default=sa.text("now()"), nullable=False)


def _uuid_pk() -> sa.Column[object]:
    return sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _owner_fk(table: str, schema: str) -> None:
    op.create_foreign_key(
        f"{table}_user_id_fkey", table, "users", ["user_id"], ["id"],
        ondelete="CASCADE", source_schema=schema, referent_schema=schema,
    )  # fmt: skip


def _users_and_tasks(schema: str) -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Text(), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
        schema=schema,
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="tasks_pkey"),
        schema=schema,
    )
    _owner_fk("tasks", schema)
    op.create_index("ix_tasks_user_id", "tasks", ["user_id"], schema=schema)


def _conversations(schema: str) -> None:
    op.create_table(
        "conversations",
        _uuid_pk(),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column(
            "metadata", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("deleted_at", TSTZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="conversations_pkey"),
        sa.UniqueConstraint("id", "user_id", name="conversations_id_user_id_key"),
        schema=schema,
    )
    _owner_fk("conversations", schema)
    op.create_index(
        "ix_conversations_user_id_updated_at",
        "conversations",
        ["user_id", sa.text("updated_at DESC"), sa.text("id DESC")],
        schema=schema,
    )


def _messages(schema: str) -> None:
    op.create_table(
        "messages",
        _uuid_pk(),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tool_calls", postgresql.JSONB(), nullable=True),
        sa.Column("tokens_used", sa.Integer(), nullable=True),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name="messages_pkey"),
        sa.UniqueConstraint("conversation_id", "seq", name="messages_conversation_id_seq_key"),
        sa.CheckConstraint(
            "role IN ('system', 'user', 'assistant', 'tool')", name="messages_role_check"
        ),
        sa.CheckConstraint("tokens_used >= 0", name="messages_tokens_used_check"),
        schema=schema,
    )
    op.create_foreign_key(
        "messages_conversation_id_user_id_fkey", "messages", "conversations",
        ["conversation_id", "user_id"], ["id", "user_id"],
        ondelete="CASCADE", source_schema=schema, referent_schema=schema,
    )  # fmt: skip
    # Serves `WHERE conversation_id = $1 AND user_id = $2 ORDER BY seq DESC` as a generic plan.
    op.create_index(
        "ix_messages_conversation_id_user_id_seq",
        "messages",
        ["conversation_id", "user_id", "seq"],
        schema=schema,
    )
    op.create_index(
        "ix_messages_user_id_created_at", "messages", ["user_id", "created_at"], schema=schema
    )


def upgrade() -> None:
    """Create the four tables with their keys, checks and indexes."""
    schema = target_schema()
    _users_and_tasks(schema)
    _conversations(schema)
    _messages(schema)


def downgrade() -> None:
    """Drop the four tables (and with them every row in them)."""
    schema = target_schema()
    for table in ("messages", "conversations", "tasks", "users"):
        op.drop_table(table, schema=schema)
