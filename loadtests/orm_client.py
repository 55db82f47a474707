"""`--client orm`: the reference schema's query layer (SQLModel/SQLAlchemy), as an app sees it."""

from typing import Any

from chatgate.errors import SetupError
from chatgate.target import Target
from conformance.design import Design
from loadtests.operations import LATEST, RECENT, Operation, Subject


def check_reference(design: Design) -> None:
    """SetupError unless the design is the reference schema (the ORM knows only that one)."""
    names = {k: t.name for k, t in design.tables.items()}
    if (
        names.get("messages") != "messages"
        or design.seq_column != "seq"
        or (names.get("conversations") != "conversations")
    ):
        raise SetupError(
            "--client orm works only on the reference schema",
            fix="use --client asyncpg (the default) for other designs",
        )


class OrmClient:
    """Runs the benchmark operations through reference_schema.queries on one AsyncEngine."""

    def __init__(self, target: Target, design: Design) -> None:
        from reference_schema.db import make_engine

        check_reference(design)
        self.engine = make_engine(
            target.dsn.asyncpg_url(),
            schema=design.schema,
            pooled=target.pooled,
            connect_kwargs=target.dsn.asyncpg_kwargs(),
        )

    async def __call__(self, op: Operation, s: Subject) -> Any:
        from reference_schema import queries as q
        from reference_schema.models import MessageCreate

        who = {"user_id": str(s.user_id), "conversation_id": s.conversation_id}
        if op.name == "history.latest50":
            return await q.fetch_history(self.engine, **who, limit=LATEST)
        if op.name == "history.full_short":
            return await q.fetch_history(self.engine, **who, limit=None)
        if op.name == "history.page_deep":
            return await q.fetch_history(self.engine, **who, limit=LATEST, before_seq=s.cursor[0])
        if op.name == "conversations.recent":
            return await q.list_recent_conversations(
                self.engine, user_id=str(s.user_id), limit=RECENT
            )
        turn = [MessageCreate.model_validate({"role": s.user_role, "content": s.user_text})]
        if op.name == "append.turn":
            turn.append(
                MessageCreate.model_validate(
                    {"role": s.assistant_role, "content": s.assistant_text}
                )
            )
        return await q.append_turn(self.engine, **who, messages=turn)

    async def close(self) -> None:
        """Dispose of the engine's pool."""
        await self.engine.dispose()
