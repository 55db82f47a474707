"""A reference PostgreSQL chat schema that passes every chatgate check.

It adds `conversations` and `messages` next to a host application's `users` and `tasks`
tables: SQLModel models (`reference_schema.models`), Alembic migrations that ship inside the
package and work in any schema (`reference_schema.migrations.apply_schema`), an optional
row-level-security revision, an async engine factory that is safe behind a transaction
pooler (`reference_schema.db.make_engine`) and a user-scoped async query layer
(`reference_schema.queries`). It imports nothing from the chatgate harness.
"""

from reference_schema.models import (
    ROLES,
    ChatModel,
    Conversation,
    Message,
    MessageCreate,
    Role,
    Task,
    User,
)

__all__ = ["ROLES", "ChatModel", "Conversation", "Message", "MessageCreate", "Role", "Task", "User"]
