"""Database-free units: name matching, role CHECK parsing, plan conditions, snapshot JSON, docs."""

import pytest

from chatgate.errors import SetupError
from chatgate.options import Settings
from conformance.catalogue_doc import DOC_PATH, render
from conformance.changes import diff
from conformance.checks.plan import _compares, judge
from conformance.discovery import check_labels, discover, normalize, split_qualified
from conformance.snapshot import Column, Constraint, Index, Snapshot, Table


def test_docs_checks_md_is_generated_from_the_registry() -> None:
    assert DOC_PATH.read_text() == render(), "run: python -m conformance.catalogue_doc"


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("createdAt", "created_at"),
        ("CreatedAt", "created_at"),
        ("created_at", "created_at"),
        ("Conversations", "conversations"),
        ("chatId", "chat_id"),
        ("userID", "user_id"),
    ],
)
def test_normalize(name: str, want: str) -> None:
    assert normalize(name) == want


def test_chat_id_is_not_conversation_id() -> None:
    assert normalize("chatId") != "conversation_id"


def test_split_qualified() -> None:
    assert split_qualified("auth.users") == ("auth", "users")
    assert split_qualified('"My.Schema"."Chat"') == ("My.Schema", "Chat")
    assert split_qualified("Chat") == (None, "Chat")


@pytest.mark.parametrize(
    "definition",
    [
        "CHECK (role = ANY (ARRAY['user'::text, 'assistant'::text]))",
        "CHECK (role::text = ANY (ARRAY['user'::character varying, 'assistant'::character "
        "varying]::text[]))",
        "CHECK (((role)::text = ANY ((ARRAY['user'::character varying, "
        "'assistant'::character varying])::text[])))",
        "CHECK (role = 'user'::text OR role = 'assistant'::text)",
    ],
)
def test_role_check_forms(definition: str) -> None:
    assert check_labels(definition, "role") == ("user", "assistant")


@pytest.mark.parametrize(
    "definition",
    ["CHECK (length(role) < 20)", "CHECK (role <> 'bot'::text)", "CHECK (role ~ '^[a-z]+$')"],
)
def test_role_checks_that_do_not_restrict_to_a_list(definition: str) -> None:
    assert check_labels(definition, "role") is None


def test_index_condition_matching() -> None:
    assert _compares("(conversation_id = $1)", "conversation_id")
    assert _compares("((conversation_id)::text = ($1)::text)", "conversation_id")
    assert _compares('("chatId" = $1)', "chatId")
    assert not _compares("(chatId = $1)", "chatId")  # PostgreSQL always quotes it
    assert not _compares("(user_id = $1)", "conversation_id")


def _table(name: str, *cols: str, **kw: object) -> Table:
    columns = tuple(Column(c, "uuid", "uuid", False, None) for c in cols)
    return Table("public", name, "table", columns, **kw)  # type: ignore[arg-type]


def _snapshot(*tables: Table) -> Snapshot:
    return Snapshot("15", "public", "public", ("public",), tables)


def test_missing_tables_name_the_schemas_that_have_them() -> None:
    snap = Snapshot(
        "15",
        "public",
        "public",
        ("public", "app"),
        (Table("app", "conversations", "table", ()), Table("app", "messages", "table", ())),
    )
    with pytest.raises(
        SetupError,
        match=r"no conversations/messages tables in schema public "
        r"\(found in: app\)",
    ):
        discover(snap, Settings())


def test_snapshot_json_round_trip_and_diff() -> None:
    idx = Index(
        "m_hist",
        ("conversation_id", "seq"),
        (False, True),
        True,
        False,
        True,
        "btree",
        "CREATE UNIQUE INDEX m_hist ON messages USING btree (conversation_id, seq DESC)",
    )
    fk = Constraint(
        "m_fk",
        "foreign key",
        ("conversation_id",),
        "FOREIGN KEY ...",
        "public.conversations",
        ("id",),
        "cascade",
    )
    snap = _snapshot(
        _table("messages", "id", "conversation_id", indexes=(idx,), constraints=(fk,)),
        _table("audit", "id"),
    )
    again = Snapshot.from_dict(snap.to_dict())
    assert again == snap
    changed = _snapshot(
        _table("messages", "id", "conversation_id", "extra", constraints=(fk,)),
        _table("audit2", "id"),
    )
    text = {str(c) for c in diff(snap, changed)}
    assert text == {
        "table public.audit removed",
        "table public.audit2 added",
        "column public.messages.extra added",
        "index public.messages.m_hist removed",
    }


def test_plan_judgement_rejects_filter_and_sort() -> None:
    class D:
        order_key = ("seq",)

        def col(self, t: str, c: str) -> Column:
            return Column("conversation_id", "uuid", "uuid", False)

    plan = {
        "Node Type": "Limit",
        "Plans": [
            {
                "Node Type": "Sort",
                "Sort Key": ["seq DESC"],
                "Plans": [
                    {
                        "Node Type": "Index Scan",
                        "Relation Name": "messages",
                        "Index Name": "m_user",
                        "Index Cond": "(user_id = $2)",
                        "Filter": "(conversation_id = $1)",
                    }
                ],
            }
        ],
    }
    verdict = judge("x", plan, D(), {"messages"})  # type: ignore[arg-type]
    assert len(verdict.problems) == 2
    assert "full Sort" in verdict.problems[0] and "Filter" in verdict.problems[1]
