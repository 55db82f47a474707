"""The check engine: prepare a context (snapshot + discovery), run selected checks, build a result.

A check that raises is an `error` with a one-line reason, never a crash; `--read-only` turns
writing checks into `skip`; a required column the harness cannot fill makes them `error`.
After a check errors the server is probed: if it does not answer, the remaining checks are
`error` without running (circuit breaker). A final pass removes what the run's checks left.
"""

import asyncio
import datetime as dt
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from chatgate import __version__
from chatgate.dsn import command_timeout, mask_text
from chatgate.errors import ChatgateError, SetupError, describe
from chatgate.options import Settings
from chatgate.target import Target
from conformance.cleanup import clean_target, connection_error, count_rows
from conformance.context import CheckContext
from conformance.design import Design
from conformance.discovery import discover
from conformance.fills import fill_problems
from conformance.introspect import uses_tls
from conformance.registry import REGISTRY, Check, Outcome, errored, skipped
from conformance.snapshot import Snapshot, take_snapshot
from conformance.tagging import RunTag, new_run_id
from reports.result import CheckResult, RunResult, TargetInfo

READ_ONLY_REASON = "--read-only: this check writes"
# Performance checks belong to `chatgate bench`/`run`; these run in `chatgate check` too.
CHECK_COMMAND_PERF = ("perf.history_plan",)
AREAS = ("structure", "isolation", "cascade", "ordering", "time", "perf")
TIMEOUT_S = {"quick": 120.0, "ci": 600.0, "thorough": 3600.0}


def import_checks() -> None:
    """Import every area module so its checks register."""
    import conformance.checks  # noqa: F401


def select(settings: Settings, *, command: str = "check") -> list[Check]:
    """The registered checks this command runs, filtered by --only prefixes, catalogue order."""
    import_checks()
    only = settings.only
    out = []
    for c in catalogue():
        if command == "check" and c.area == "perf" and c.id not in CHECK_COMMAND_PERF:
            continue
        if only and not any(c.id.startswith(p) for p in only):
            continue
        out.append(c)
    return out


def catalogue() -> list[Check]:
    """Every registered check, in the spec's area order, then registration order."""
    import_checks()
    rank = {a: i for i, a in enumerate(AREAS)}
    return sorted(REGISTRY.values(), key=lambda c: (rank.get(c.area, len(AREAS)), c.order))


async def prepare(
    target: Target,
    settings: Settings,
    *,
    run_id: str | None = None,
    snapshot: Snapshot | None = None,
) -> CheckContext:
    """Snapshot the catalogue, read --baseline, discover the design (SetupError: exit 2)."""
    baseline = Snapshot.read(settings.baseline) if settings.baseline is not None else None
    if snapshot is None:
        conn = await target.connect()
        try:
            snapshot = await take_snapshot(conn)
            tls = await uses_tls(conn)
        finally:
            await conn.close()
    else:
        tls = False
    design = discover(snapshot, settings)
    ctx = CheckContext(target, settings, run_id or new_run_id(), snapshot=snapshot, design=design)
    ctx.extras.update(tls=tls, baseline=baseline)
    return ctx


async def run_check(ctx: CheckContext, check: Check) -> CheckResult:
    """Run one check; exceptions and timeouts become `error` with a one-line reason."""
    return (await _run_one(ctx, check))[0]


async def _run_one(ctx: CheckContext, check: Check) -> tuple[CheckResult, bool]:
    """The check's result, and whether it ran and ended in `error` (then the server is probed)."""
    t0 = time.perf_counter()
    outcome = _precondition(ctx, check)
    ran = outcome is None
    if outcome is None:
        limit = TIMEOUT_S.get(ctx.settings.profile, 600.0)
        cm = asyncio.timeout(limit)
        try:
            async with cm:
                outcome = await check.fn(ctx)
        except TimeoutError as exc:
            outcome = errored(f"timed out after {limit:.0f} s" if cm.expired() else reason(exc))
        except Exception as exc:
            outcome = errored(reason(exc))
        if not isinstance(outcome, Outcome):
            outcome = errored(f"check returned {type(outcome).__name__}, not an Outcome")
    result = CheckResult(
        id=check.id,
        severity=check.severity,
        status=outcome.status,
        summary=mask_text(outcome.summary),
        details=outcome.details,
        duration_ms=round((time.perf_counter() - t0) * 1000, 3),
    )
    return result, ran and outcome.status == "error"


def reason(exc: BaseException) -> str:
    """One line for an exception: chatgate's own, a recognised driver failure, or Type: text."""
    known = _known(exc)
    return mask_text(known.one_line()) if known else one_line(exc)


def _known(exc: BaseException) -> ChatgateError | None:
    """`exc` if it is chatgate's own, else describe()'s reading of a driver failure."""
    return exc if isinstance(exc, ChatgateError) else describe(exc, timeout_s=command_timeout())


def _precondition(ctx: CheckContext, check: Check) -> Outcome | None:
    """Skip or error a check before running it (read-only, discovery, unfillable columns)."""
    if check.writes and ctx.settings.read_only:
        return skipped(READ_ONLY_REASON)
    if ctx.design is None:
        return errored(f"discovery failed: {ctx.discovery_error or 'unknown reason'}")
    if check.writes:
        problems = fill_problems(ctx.design)
        if problems:
            return errored(problems[0], unfillable=list(problems))
    return None


async def run(ctx: CheckContext, checks: Sequence[Check], *, command: str = "check") -> RunResult:
    """Run `checks` in order and return the whole result (target, discovery, harness filled)."""
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    results: list[CheckResult] = []
    for i, c in enumerate(checks):
        result, errored_out = await _run_one(ctx, c)
        results.append(result)
        if errored_out and (down := await unreachable(ctx.target)) is not None:
            ctx.extras["unreachable"] = down
            results += [_not_run(rest, c.id) for rest in checks[i + 1 :]]
            break
    return RunResult(
        target=target_info(ctx),
        command=command,
        run_id=ctx.run_id,
        started_at=started.isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - t0, 3),
        strict=ctx.settings.strict,
        profile=ctx.settings.profile,
        harness=harness_info(),
        discovery=discovery_info(ctx),
        checks=results,
    )


async def check_target(target: Target, settings: Settings, *, command: str = "check") -> RunResult:
    """prepare + select + run: what `chatgate check` does once the target is open."""
    checks = select(settings, command=command)
    unmatched = [p for p in settings.only if not any(c.id.startswith(p) for c in checks)]
    if unmatched or not checks:
        areas = ", ".join(dict.fromkeys(c.area for c in select(Settings(), command=command)))
        raise SetupError(
            f"--only {','.join(unmatched or settings.only)} selects no check of `{command}`",
            fix=f"use id prefixes such as {areas}",
        )
    ctx = await prepare(target, settings)
    try:
        return await run(ctx, checks, command=command)
    finally:
        if ctx.design is not None and not settings.read_only and any(c.writes for c in checks):
            await final_cleanup(ctx)


async def unreachable(target: Target) -> Exception | None:
    """Why the server does not answer `SELECT 1` on a new connection within min(5, timeout) s."""
    limit = min(5.0, command_timeout())
    conn = None
    try:
        async with asyncio.timeout(limit):
            conn = await target.connect(timeout=limit, command_timeout=limit)
            await conn.fetchval("SELECT 1")
        return None
    except Exception as exc:
        return exc
    finally:
        if conn is not None:
            conn.terminate()


def _not_run(check: Check, after: str) -> CheckResult:
    """The result of a check the circuit breaker did not run."""
    return CheckResult(
        id=check.id,
        severity=check.severity,
        status="error",
        summary=f"not run: server unreachable after {after}",
        details={},
        duration_ms=0.0,
    )


async def final_cleanup(ctx: CheckContext) -> None:
    """Remove the run's rows per-check cleanups missed (retrying a restarting server); if that
    fails, or the circuit breaker found the server hung, say on stderr what may be left."""
    assert ctx.design is not None
    tag, down = RunTag(ctx.run_id), ctx.extras.get("unreachable")
    # A hung server (not a refused or lost connection): another try would only wait it out.
    if isinstance(down, Exception) and not connection_error(down):
        failure, left = down, None
    else:
        try:
            await clean_target(ctx.target, ctx.design, tag)
            return
        except Exception as exc:
            failure, left = exc, await _rows_left(ctx.target, ctx.design, tag)
    if left == 0:  # e.g. a read-only role: nothing was written, nothing to remove
        return
    known = _known(failure)
    problem = mask_text(" ".join(known.message.split())) if known else one_line(failure)
    rows = f"{left} rows of this run may be left: " if left else ""
    print(f"could not clean up: {problem}: {rows}run `chatgate clean`", file=sys.stderr)


async def _rows_left(target: Target, design: Design, tag: RunTag) -> int | None:
    """How many rows of the run are left (None: the server did not tell within 5 s)."""
    try:
        async with asyncio.timeout(min(5.0, command_timeout())):
            conn = await target.connect()
            try:
                return (await count_rows(conn, design=design, tag=tag)).total
            finally:
                conn.terminate()
    except Exception:
        return None


def target_info(ctx: CheckContext) -> TargetInfo:
    """The target as it may be shown: masked DSN, server version, pooler, TLS."""
    version = ctx.snapshot.server_version if isinstance(ctx.snapshot, Snapshot) else ""
    return TargetInfo(
        dsn=ctx.target.masked,
        kind=ctx.target.kind,
        server_version=version,
        pooled=ctx.target.pooled,
        tls=bool(ctx.extras.get("tls", False)),
        statement_mode="unprepared" if ctx.target.pooled else "prepared",
    )


def discovery_info(ctx: CheckContext) -> dict[str, object]:
    """Design.to_dict() plus the snapshot summary, for the result's `discovery` section."""
    data: dict[str, object] = ctx.design.to_dict() if ctx.design else {}
    if ctx.discovery_error:
        data["error"] = ctx.discovery_error
    if isinstance(ctx.snapshot, Snapshot):
        data["snapshot"] = ctx.snapshot.summary()
    return data


def harness_info(argv: Sequence[str] | None = None) -> dict[str, object]:
    """chatgate version, git commit when known, Python version and the masked command line."""
    args = list(sys.argv if argv is None else argv)
    return {
        "chatgate": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "command_line": mask_text(" ".join([Path(args[0]).name, *args[1:]]) if args else ""),
    }


def git_commit() -> str | None:
    """The commit of the chatgate checkout, if it is one."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def one_line(exc: BaseException) -> str:
    """`Type: message` on one line, secrets masked."""
    text = " ".join(str(exc).split())
    return mask_text(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
