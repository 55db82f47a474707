"""Every variant schema gets exactly its expected structure (and plan) verdicts."""

import time
from pathlib import Path

import pytest

from tests.conformance.structure.helpers import apply_sql, run_checks, settings_for, statuses
from tests.variants import PLAN_CHECK, Variant, variants

VARIANTS = variants()


@pytest.mark.db
@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant_verdicts(variant: Variant, empty_db: str, tmp_path: Path) -> None:
    apply_sql(empty_db, variant.sql)
    settings = settings_for(tmp_path, only="structure,perf", **variant.options())
    t0 = time.perf_counter()
    result = run_checks(empty_db, settings)
    elapsed = time.perf_counter() - t0
    got = statuses(result)
    ids = sorted(got)
    assert PLAN_CHECK in ids and "structure.tables" in ids
    mismatched = {
        cid: (want, got[cid], result.check(cid).summary)  # type: ignore[union-attr]
        for cid, want in variant.expected(ids).items()
        if got[cid] != want
    }
    assert not mismatched, mismatched
    assert elapsed < 3.0


@pytest.mark.db
def test_fills_of_extra_columns(empty_db: str, tmp_path: Path) -> None:
    variant = next(v for v in VARIANTS if v.name == "extra_columns")
    apply_sql(empty_db, variant.sql)
    result = run_checks(empty_db, settings_for(tmp_path, only="structure.tables"))
    fills = {
        f"{f['table']}.{f['column']}": f["synthetic"] or "none" for f in result.discovery["fills"]
    }
    assert fills == variant.fills
    assert result.discovery["key_kinds"] == {
        "users": "uuid",
        "conversations": "uuid",
        "messages": "integer",
    }
    assert any(
        "model_id" in n and "--fill messages.model_id=SQL" in n for n in result.discovery["notes"]
    )


@pytest.mark.db
def test_camel_case_mapping_notes(empty_db: str, tmp_path: Path) -> None:
    variant = next(v for v in VARIANTS if v.name == "camel_case")
    apply_sql(empty_db, variant.sql)
    result = run_checks(
        empty_db, settings_for(tmp_path, only="structure.tables", **variant.options())
    )
    d = result.discovery
    assert d["tables"] == {
        "users": "public.AppUser",
        "conversations": "public.Chat",
        "messages": "public.Message_v2",
    }
    assert d["columns"]["messages"]["conversation_id"] == "chatId"
    assert d["columns"]["conversations"]["created_at"] == "createdAt"
    assert d["columns"]["conversations"]["user_id"] == "userId"
    assert list(d["order_key"]) == ["turnIndex"] and d["order_rule"] == "unique_index"
    assert any("equivalent name 'createdAt'" in n for n in d["notes"])


@pytest.mark.db
def test_rls_flags_and_policies_are_discovered(empty_db: str, tmp_path: Path) -> None:
    variant = next(v for v in VARIANTS if v.name == "rls_policies")
    apply_sql(empty_db, variant.sql)
    rls = run_checks(empty_db, settings_for(tmp_path, only="structure.tables")).discovery["rls"]
    assert (rls["conversations"]["enabled"], rls["conversations"]["forced"]) == (True, True)
    assert (rls["messages"]["enabled"], rls["messages"]["forced"]) == (True, False)
    assert rls["users"]["enabled"] is False
    [policy] = rls["messages"]["policies"]
    assert policy["name"] == "messages_owner" and policy["command"] == "ALL"
    assert "app.user_id" in policy["with_check"]
