"""SQLModel tables of the reference chat schema: users, tasks, conversations and messages."""

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    MetaData,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[Role, ...] = ("system", "user", "assistant", "tool")

NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
}

chat_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class ChatModel(SQLModel, registry=chat_registry):
    """Base of the reference tables: their own MetaData, apart from SQLModel's global one."""


def _server_now() -> Any:
    """A timestamptz column set by the server (now()); None until the row is read back."""
    return Field(
        default=None,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
        nullable=False,
    )


def _uuid_pk() -> Any:
    """A uuid primary key: uuid4 from Python, gen_random_uuid() for plain SQL inserts."""
    return Field(
        default_factory=uuid.uuid4,
        primary_key=True,
        sa_column_kwargs={"server_default": text("gen_random_uuid()")},
    )


class User(ChatModel, table=True):
    """An account; `id` is the auth subject (e.g. a JWT `sub`)."""

    __tablename__ = "users"

    id: str = Field(primary_key=True, sa_type=Text)
    created_at: datetime | None = _server_now()


class Task(ChatModel, table=True):
    """The host application's own table; chat operations never touch it."""

    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True, sa_type=Text)
    title: str = Field(sa_type=Text)
    description: str | None = Field(default=None, sa_type=Text)
    completed: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    created_at: datetime | None = _server_now()
    updated_at: datetime | None = _server_now()


class Conversation(ChatModel, table=True):
    """A chat thread owned by one user; soft-deleted when `deleted_at` is set."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),
        Index(
            "ix_conversations_user_id_updated_at",
            "user_id",
            text("updated_at DESC"),
            text("id DESC"),
        ),
    )

    id: uuid.UUID = _uuid_pk()
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", sa_type=Text)
    title: str | None = Field(default=None, sa_type=Text)
    meta: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    created_at: datetime | None = _server_now()
    updated_at: datetime | None = _server_now()
    deleted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class MessageCreate(SQLModel):
    """One message of a turn, as the application hands it to `append_turn`."""

    role: Role
    content: str
    tool_calls: list[dict[str, Any]] | None = None
    tokens_used: int | None = Field(default=None, ge=0)


class Message(ChatModel, table=True):
    """One message; `seq` orders a conversation's history (1, 2, 3, ... per conversation)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        ForeignKeyConstraint(
            ["conversation_id", "user_id"],
            ["conversations.id", "conversations.user_id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(
            "role IN ('system', 'user', 'assistant', 'tool')", name="messages_role_check"
        ),
        CheckConstraint("tokens_used >= 0", name="messages_tokens_used_check"),
        Index("ix_messages_conversation_id_user_id_seq", "conversation_id", "user_id", "seq"),
        Index("ix_messages_user_id_created_at", "user_id", "created_at"),
    )

    id: uuid.UUID = _uuid_pk()
    conversation_id: uuid.UUID
    user_id: str = Field(sa_type=Text)
    seq: int = Field(sa_type=BigInteger)
    role: str = Field(sa_type=Text)
    content: str = Field(sa_type=Text)
    tool_calls: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONB)
    tokens_used: int | None = None
    created_at: datetime | None = _server_now()
