"""A realistic RunResult for report tests: every catalogue check, latencies, a load timeline."""

import math
import random
from typing import Any

from reports.result import CheckResult, LatencyStats, RunResult, TargetInfo

LENGTHS = (100, 10_000, 100_000)
# operation -> (median ms at length 100, growth exponent per decade of conversation length)
OPERATIONS = {
    "history.latest_50": (1.6, 0.04),
    "history.full": (2.5, 0.85),
    "history.page_deep": (2.0, 0.35),
    "append.single": (3.1, 0.02),
    "append.turn": (5.2, 0.03),
    "conversations.recent": (1.2, 0.0),
}
FAILS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "structure.recent_index": (
        "fail",
        "no index on conversations leads with (user_id, updated_at)",
        {
            "found": ["conversations_pkey (id)", "conversations_user_id_idx (user_id)"],
            "wanted": "(user_id, updated_at)",
        },
    ),
    "isolation.scoped_reads": (
        "fail",
        "history read as user B returned 1 row owned by user A",
        {
            "read_path": "history",
            "asked_as": "user 7f3c0b1e",
            "counterexample": {
                "users": 2,
                "turns": [{"user": 0, "role": "user", "content": "<script>alert(1)</script>\x00"}],
                "leaked_rows": 1,
            },
            "replay": {"seed": 184467, "database": ".hypothesis/examples"},
        },
    ),
    "ordering.visible_prefix": (
        "fail",
        "a reader saw message 4 before message 3 (timestamp order key)",
        {
            "schedule": "a transaction that began first appends last",
            "seen_before": [1, 2, 4],
            "seen_after": [1, 2, 3, 4],
            "order_key": "created_at, id",
        },
    ),
    "isolation.cross_tenant_write": (
        "error",
        "setup: messages.tenant_id is NOT NULL without a default",
        {
            "column": "messages.tenant_id",
            "type": "inet",
            "fix": "--fill messages.tenant_id=SQL_EXPRESSION",
        },
    ),
    "perf.history_plan": (
        "fail",
        "history query sorts all of a conversation's messages (Seq Scan + Sort)",
        {
            "plan": "Limit\n  ->  Sort  (cost=… rows=…)\n        Sort Key: created_at DESC\n"
            "        ->  Seq Scan on messages\n              Filter: (conversation_id = $1)",
            "query": "SELECT … FROM messages WHERE conversation_id = $1 ORDER BY … LIMIT 50",
        },
    ),
}
SKIPS = {
    "structure.protected_tables": "no --baseline snapshot given",
    "isolation.rls": "row-level security is not enabled on a chat table",
}


def check_ids() -> list[tuple[str, str]]:
    """Every (id, severity) of the catalogue, in catalogue order."""
    text = """structure.tables must|structure.columns must|structure.primary_keys must
    structure.conversation_fk must|structure.cascade_rule must|structure.user_fk should
    structure.role_check must|structure.history_index must|structure.order_key should
    structure.owner_index must|structure.recent_index should|structure.timestamptz should
    structure.owner_fk should|structure.id_enumeration should|structure.protected_tables must
    isolation.scoped_reads must|isolation.cross_tenant_write must|isolation.owner_consistency should
    isolation.rls must|cascade.conversation_delete must|cascade.user_delete must
    cascade.no_orphans must|ordering.history_order must|ordering.concurrent_appends must
    ordering.visible_prefix should|time.session_timezone must|perf.history_plan must
    perf.history_scaling must|perf.history_p95 must|perf.append_p95 must|perf.connect info"""
    pairs = [p.split() for p in text.replace("\n", "|").split("|")]
    return [(p[0], p[1]) for p in pairs]


def checks() -> list[CheckResult]:
    """One result per catalogue id: mostly passes, a few failures, an error, two skips."""
    out = []
    for i, (cid, sev) in enumerate(check_ids()):
        ok = f"{cid.split('.', 1)[1].replace('_', ' ')}: ok"
        default: tuple[str, str, dict[str, Any]] = ("pass", ok, {})
        status, summary, details = FAILS.get(cid, default)
        if cid in SKIPS:
            status, summary = "skip", SKIPS[cid]
        out.append(CheckResult(cid, sev, status, summary, details, 20.0 + 37 * i % 900))  # type: ignore[arg-type]
    return out


def histogram(samples: list[float]) -> list[list[float]]:
    """HDR-like buckets: values rounded to three significant digits."""
    buckets: dict[float, int] = {}
    for s in samples:
        v = float(f"{s:.3g}")
        buckets[v] = buckets.get(v, 0) + 1
    return [[v, c] for v, c in sorted(buckets.items())]


def stats_from(operation: str, samples: list[float], **params: Any) -> LatencyStats:
    """LatencyStats with exact percentiles and a histogram from raw samples."""
    s = sorted(samples)

    def q(p: float) -> float:
        return s[max(math.ceil(p * len(s)) - 1, 0)]

    return LatencyStats(
        operation,
        len(s),
        q(0.5),
        q(0.95),
        q(0.99),
        s[-1],
        s[0],
        sum(s) / len(s),
        histogram=histogram(s),
        params=dict(params),
    )


def lognormal(rng: random.Random, median: float, n: int, sigma: float = 0.35) -> list[float]:
    """n latencies (ms) with the given median and a realistic right tail."""
    return [median * math.exp(rng.gauss(0, sigma)) for _ in range(n)]


def latency(seed: int = 1, slowdown: float = 1.0, n: int = 1500) -> dict[str, LatencyStats]:
    """Latencies for every operation at every conversation length."""
    rng = random.Random(seed)
    out = {}
    for op, (base, growth) in OPERATIONS.items():
        for length in LENGTHS:
            median = base * (length / 100) ** (growth / 3) * slowdown
            key = f"{op}@{length}"
            out[key] = stats_from(
                op,
                lognormal(rng, median, n),
                conversation_length=length,
                client="asyncpg",
                concurrency=8,
            )
    return out


def timeline(seed: int = 1, slowdown: float = 1.0) -> list[dict[str, Any]]:
    """A 90 s load run: ramp-up, plateau, a burst of failures."""
    rng = random.Random(seed)
    points = []
    for t in range(0, 90, 2):
        ops = min(t * 40, 900) * rng.uniform(0.93, 1.05) / slowdown
        failures = rng.randint(4, 12) if 50 <= t <= 56 else 0
        p50 = 2.0 * slowdown * (1 + t / 300) * rng.uniform(0.95, 1.05)
        points.append(
            {
                "t": t,
                "ops": round(ops, 1),
                "failures": failures,
                "p50": round(p50, 2),
                "p95": round(p50 * rng.uniform(2.3, 2.9), 2),
            }
        )
    return points


def sample_result(seed: int = 1, slowdown: float = 1.0, n: int = 1500) -> RunResult:
    """The sample run: `chatgate run` against a pooled TLS target."""
    target = TargetInfo(
        dsn="postgresql://app:***@db.example.com:6432/chat?sslmode=require",
        server_version="PostgreSQL 16.4",
        pooled=True,
        tls=True,
        statement_mode="unprepared",
        rtt_ms=0.84,
    )
    harness = {
        "version": "0.1.0",
        "git_commit": "f2c841d",
        "python": "3.11.9",
        "command_line": 'chatgate run --dsn "$DATABASE_URL" --profile ci --json out/result.json',
    }
    discovery = {
        "tables": {"conversations": "public.conversations", "messages": "public.messages"},
        "order_key": ["created_at", "id"],
        "roles": ["user", "assistant", "system"],
        "rls": {"enabled": False},
    }
    return RunResult(
        target=target,
        command="run",
        run_id=f"sample-{seed}",
        started_at="2026-11-22T11:00:00Z",
        duration_s=412.5,
        profile="ci",
        harness=harness,
        discovery=discovery,
        checks=checks(),
        latency=latency(seed, slowdown, n),
        series={"load_timeline": timeline(seed, slowdown)},
    )
