"""A failing check reports a minimal counterexample, the seed, and a replay that reproduces it."""

from collections.abc import Callable

import pytest

from tests.conformance.behaviour.support import run_checks

SEED = 424242


@pytest.mark.db
def test_random_tie_break_counterexample_is_minimal_and_replays(
    variant_db: Callable[[str], str],
) -> None:
    dsn = variant_db("timestamp_order")  # (created_at, random uuid): one turn of 2 breaks it
    first = run_checks(dsn, ("ordering.history_order",), profile="quick", seed=SEED)
    result = first["ordering.history_order"]
    assert result.status == "fail", result.summary
    details = result.details
    example = "\n".join(details["counterexample"])
    assert example.count("NewMessage(") == 2, example  # shrunk: one turn, two messages
    assert "size=1" in example
    assert details["seed"] == SEED
    assert details["replay"].startswith(
        f"chatgate check --only ordering.history_order --seed {SEED}"
    )
    assert "history by ('created_at', 'id') returned ids" in details["database_did"]
    again = run_checks(dsn, ("ordering.history_order",), profile="quick", seed=SEED)
    replayed = again["ordering.history_order"]
    assert replayed.status == "fail"
    assert replayed.details["counterexample"] == details["counterexample"]


@pytest.mark.db
def test_state_machine_counterexample_replays(variant_db: Callable[[str], str]) -> None:
    dsn = variant_db("b_owner_trigger")
    runs = [
        run_checks(dsn, ("isolation.scoped_reads",), profile="quick", seed=SEED)[
            "isolation.scoped_reads"
        ]
        for _ in range(2)
    ]
    assert [r.status for r in runs] == ["fail", "fail"]
    steps = runs[0].details["counterexample"]
    assert any("create_conversation" in s for s in steps), steps
    assert runs[1].details["counterexample"] == steps
    assert len([s for s in steps if s.startswith("state.") and "reads_match" not in s]) <= 5


@pytest.mark.db
def test_deterministic_failure_shrinks_to_smallest_data(variant_db: Callable[[str], str]) -> None:
    dsn = variant_db("b_no_fk")
    result = run_checks(dsn, ("cascade.conversation_delete",), profile="quick", seed=SEED)[
        "cascade.conversation_delete"
    ]
    assert result.status == "fail"
    example = "\n".join(result.details["counterexample"])
    assert example.count("NewMessage(") == 2, example  # one message per conversation
    assert "content=''" in example or "''" in example
