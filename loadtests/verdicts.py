"""The performance verdicts (spec ids kept exactly) from one run's measurements."""

from typing import Any

from chatgate.options import Settings
from loadtests.connect import ConnectMeasurement
from loadtests.histogram import Recorder
from reports.result import CheckResult, LatencyStats

SCALING_LIMIT = 1.5
# p95 differences below this are timer/scheduler noise on a sub-millisecond read, not growth.
NOISE_FLOOR_MS = 0.05
HISTORY = "history."
FAILURE_LIMIT = 0.01  # a load run fails when more of a group's requests than this failed


def history_p95(latency: dict[str, LatencyStats], settings: Settings) -> CheckResult:
    """perf.history_p95: the worst history read's p95 against the target."""
    reads = {k: v for k, v in latency.items() if k.startswith(HISTORY) and v.count}
    target = settings.history_target_ms
    if not reads:
        return CheckResult("perf.history_p95", "must", "skip", "no history reads measured")
    key, worst = max(reads.items(), key=lambda kv: kv[1].p95)
    details = {"target_ms": target, "worst": key, "p95_ms": {k: v.p95 for k, v in reads.items()}}
    ok = worst.p95 <= target
    verb = "within" if ok else "over"
    return CheckResult(
        "perf.history_p95",
        "must",
        "pass" if ok else "fail",
        f"worst history p95 {worst.p95:.3f} ms ({key}) {verb} {target:g} ms",
        details,
    )


def append_p95(latency: dict[str, LatencyStats], settings: Settings) -> CheckResult:
    """perf.append_p95: p95 of appending one message (the turn shown alongside)."""
    one = latency.get("append.message")
    target = settings.append_target_ms
    if one is None or not one.count:
        return CheckResult("perf.append_p95", "must", "skip", "no appends measured")
    turn = latency.get("append.turn")
    details: dict[str, Any] = {
        "target_ms": target,
        "p95_ms": one.p95,
        "turn_p95_ms": turn.p95 if turn else None,
        "errors": one.errors,
    }
    ok = one.p95 <= target and not one.errors
    verb = "within" if one.p95 <= target else "over"
    extra = f", {one.errors} errors" if one.errors else ""
    return CheckResult(
        "perf.append_p95",
        "must",
        "pass" if ok else "fail",
        f"append p95 {one.p95:.3f} ms {verb} {target:g} ms{extra}",
        details,
    )


# Operations that are neither history reads nor appends count with the group they resemble:
# failed reads gate the history verdict, failed writes the append verdict.
READS = ("conversation.open", "conversations.recent")
WRITES = ("setup", "new_conversation", "conversation.new")


def failed_requests(
    check: CheckResult,
    latency: dict[str, LatencyStats],
    prefix: str,
    errors: dict[str, str],
) -> CheckResult:
    """Gate a load p95 verdict on the failed requests of its group (`prefix`* and kin)."""
    kin = READS if prefix.startswith("history") else WRITES
    group = {k: v for k, v in latency.items() if k.startswith(prefix)}
    failed_kin = sum(v.errors for k, v in latency.items() if k in kin)
    label = prefix.rstrip(".")
    done, failed = sum(v.count for v in group.values()), sum(v.errors for v in group.values())
    failed += failed_kin
    total = done + failed
    check.details.update(requests=total, failed_requests=failed)
    if done == 0:
        blocked = {k: v.errors for k, v in latency.items() if v.errors and k not in group}
        if failed:
            text = f"all {failed} {label} requests failed"
        elif blocked:  # e.g. no conversation could be created, so none was read
            parts = ", ".join(f"{k} {n}" for k, n in sorted(blocked.items()))
            text = f"no {label} requests ran: earlier operations failed ({parts})"
        else:
            return check
        op, message = first_error(errors, list(group) or sorted(blocked))
        check.status, check.summary = "error", f"{text}; first error ({op}): {message}"
        check.details["first_error"] = {"operation": op, "message": message}
        return check
    if failed / total > FAILURE_LIMIT:
        check.status = "fail"
        check.summary += (
            f"; {failed} of {total} {label} requests failed "
            f"({100 * failed / total:.1f}% > {100 * FAILURE_LIMIT:g}%)"
        )
    return check


def first_error(errors: dict[str, str], ops: list[str]) -> tuple[str, str]:
    """The first recorded error message among `ops` (any operation's when none of theirs)."""
    for op, message in errors.items():  # in the order they first occurred
        if op in ops:
            return op, message
    return next(iter(errors.items()), (ops[0] if ops else "?", "no error message recorded"))


def history_scaling(series: list[dict[str, Any]]) -> CheckResult:
    """perf.history_scaling: latest-50 p95, longest vs shortest conversation, same run."""
    rows = sorted(series, key=lambda r: r["conversation_length"])
    if len(rows) < 2:
        return CheckResult(
            "perf.history_scaling",
            "must",
            "skip",
            "need conversations of at least two lengths (seed first)",
        )
    short, long = rows[0], rows[-1]
    ratio = long["p95"] / short["p95"] if short["p95"] else float("inf")
    growth = long["p95"] - short["p95"]
    ok = ratio <= SCALING_LIMIT or growth < NOISE_FLOOR_MS
    details = {
        "ratio": round(ratio, 2),
        "limit": SCALING_LIMIT,
        "noise_floor_ms": NOISE_FLOOR_MS,
        "shortest": short,
        "longest": long,
        "series": rows,
    }
    text = (
        f"latest-50 p95 {short['p95']:.3f} ms at {short['conversation_length']} messages -> "
        f"{long['p95']:.3f} ms at {long['conversation_length']} ({ratio:.2f}x, limit "
        f"{SCALING_LIMIT}x)"
    )
    if not ok:
        text += ": reads slow down with conversation length (generic plan? missing index?)"
    return CheckResult("perf.history_scaling", "must", "pass" if ok else "fail", text, details)


def connect_check(m: ConnectMeasurement) -> CheckResult:
    """perf.connect (info): connection setup and first query, apart from steady state."""

    def s(r: Recorder) -> dict[str, Any]:
        return r.summary()

    details = {
        "connect": s(m.connect),
        "first_query": s(m.first_query),
        "first_query_after_idle": s(m.after_idle),
        "steady_query": s(m.steady),
        "tls": m.tls,
    }
    text = (
        f"connect p50 {m.connect.percentile_ms(50):.2f} ms, first query "
        f"{m.first_query.percentile_ms(50):.2f} ms, after idle "
        f"{m.after_idle.percentile_ms(50):.2f} ms (steady {m.steady.percentile_ms(50):.3f} ms"
        f"{', TLS' if m.tls else ''})"
    )
    return CheckResult("perf.connect", "info", "pass", text, details)


def verdicts(
    latency: dict[str, LatencyStats],
    series: list[dict[str, Any]],
    settings: Settings,
    connect: ConnectMeasurement | None = None,
) -> list[CheckResult]:
    """All performance verdicts for a bench run, in catalogue order."""
    out = [history_scaling(series), history_p95(latency, settings), append_p95(latency, settings)]
    if connect is not None:
        out.append(connect_check(connect))
    return out
