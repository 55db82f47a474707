"""Bad input, table-driven, for every registered command that takes --dsn.

Each row: the right exit code (2: the run could not start), exactly ONE stderr line naming the
problem and the fix, no traceback, within 10 s, and never the DSN's password.

The runs of one table start together on a small thread pool (module-scoped fixtures) and each
parametrized test reads its own result, so the whole matrix stays within the time budget.
"""

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from chatgate.dsn import parse_dsn
from tests.hardening.conftest import (
    CORE,
    NO_TABLES_NEEDED,
    PASSWORD,
    WRITERS,
    FakeServer,
    Run,
    assert_one_line_error,
    base_env,
    command_params,
    dsn_commands,
    has_option,
    minimal_args,
    registered,
    run_cli,
    selected,
)

COMMANDS = dsn_commands()
PARAMS = command_params()
PW = quote(PASSWORD, safe="")
Futures = dict[tuple[str, str], Future[Run]]
# Rows every default run covers (one per code path); the rest run in the slow selection.
FAST_NO_DB = {"malformed-port", "unknown-host", "refused-port", "http-server", "silent-server"}
FAST_OPTIONS = {"bad-profile", "map-without-equals"}
FAST_CONFIG = {"corrupt-pyproject", "config-bad-profile"}
FAST_FILES = {"missing", "truncated", "wrong-format"}


# Rows that only exercise parsing shared by every command (DSN, options, config files):
# the commands outside CORE skip them, even in the slow selection.
CORE_ONLY = {
    "malformed-bracket",
    "malformed-keyword",
    "unsupported-scheme",
    "map-empty-value",
    "fill-without-equals",
    "unknown-option",
    "corrupt-chatgate-toml",
    "map-not-a-table",
    "binary-pyproject",
}


def matrix(table: list[Any], fast: set[str]) -> list[Any]:
    """(command, *row) params: slow unless both the row and the command are in the fast sets."""
    out = []
    for r in table:
        for c in COMMANDS:
            if c not in CORE and r[0] in CORE_ONLY:
                continue
            quick = r[0] in fast and c in CORE
            out.append(
                pytest.param(c, *r, id=f"{r[0]}-{c}", marks=() if quick else pytest.mark.slow)
            )
    return out


def no_secret(run: Run) -> None:
    for form in (PASSWORD, PW):
        assert form not in run.out + run.err, f"password leaked\n{run}"


def cli(command: str, dsn: str, tmp: Path, *extra: str, **env: str) -> Run:
    tmp.mkdir(parents=True, exist_ok=True)
    args = [command, "--dsn", dsn, *minimal_args(command, tmp), *extra]
    return run_cli(args, cwd=tmp, env=base_env(**env), timeout=90)


# --- no server needed --------------------------------------------------------------------

# (id, DSN template, words the one stderr line must contain)
NO_DB_ROWS: list[tuple[str, str, list[str]]] = [
    ("malformed-port", "postgresql://u:{pw}@127.0.0.1:notaport/db", ["malformed DSN", "port"]),
    ("malformed-bracket", "postgresql://u:{pw}@[::1/db", ["malformed DSN"]),
    ("malformed-keyword", "host=127.0.0.1 password='{pw} dbname=x", ["malformed DSN"]),
    ("unsupported-scheme", "mysql://u:{pw}@127.0.0.1/db", ["unsupported DSN scheme"]),
    ("unknown-host", "postgresql://u:{pw}@no-such-host.invalid/db", ["unknown host"]),
    ("refused-port", "postgresql://u:{pw}@127.0.0.1:{refused}/db", ["connection refused"]),
    ("http-server", "postgresql://u:{pw}@127.0.0.1:{http}/db", ["not speak the PostgreSQL"]),
    ("garbage-server", "postgresql://u:{pw}@127.0.0.1:{garbage}/db", ["not speak the PostgreSQL"]),
    (
        "silent-server",
        "postgresql://u:{pw}@127.0.0.1:{silent}/db?connect_timeout=2",
        ["timed out connecting"],
    ),
    ("closing-server", "postgresql://u:{pw}@127.0.0.1:{close}/db", ["closed the connection"]),
]


@pytest.fixture(scope="module")
def no_db_runs(
    request: pytest.FixtureRequest,
    pool: ThreadPoolExecutor,
    fake_servers: dict[str, FakeServer],
    refused_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Futures:
    ports = {k: s.port for k, s in fake_servers.items()}
    base = tmp_path_factory.mktemp("no-db")
    out: Futures = {}
    templates = {row: template for row, template, _ in NO_DB_ROWS}
    for p in selected(request, "test_unusable_dsn"):
        row, c = p["row"], p["command"]
        dsn = templates[row].format(pw=PW, refused=refused_port, **ports)
        out[(row, c)] = pool.submit(cli, c, dsn, base / f"{row}-{c}")
    for p in selected(request, "test_bad_timeout_setting"):
        c = p["command"]
        dsn = f"postgresql://u@127.0.0.1:{refused_port}/db"
        out[("bad-timeout-env", c)] = pool.submit(
            cli, c, dsn, base / f"timeout-{c}", CHATGATE_TIMEOUT="soon"
        )
    return out


@pytest.mark.parametrize(("command", "row", "template", "words"), matrix(NO_DB_ROWS, FAST_NO_DB))
def test_unusable_dsn(
    command: str, row: str, template: str, words: list[str], no_db_runs: Futures
) -> None:
    run = no_db_runs[(row, command)].result()
    assert_one_line_error(run, *words)
    no_secret(run)


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(CORE & set(COMMANDS)))
def test_bad_timeout_setting(command: str, no_db_runs: Futures) -> None:
    run = no_db_runs[("bad-timeout-env", command)].result()
    assert_one_line_error(run, "CHATGATE_TIMEOUT", "soon")


# --- options and config files (checked before any connection) ----------------------------

OPTION_ROWS: list[tuple[str, str, list[str], list[str]]] = [
    # (id, option the command must have, extra args, words)
    ("bad-profile", "profile", ["--profile", "bogus"], ["--profile", "bogus"]),
    ("map-without-equals", "map", ["--map", "conversations"], ["--map", "KEY=VALUE"]),
    ("map-empty-value", "map", ["--map", "conversations="], ["--map", "KEY=VALUE"]),
    ("fill-without-equals", "fill", ["--fill", "messages.x"], ["--fill", "KEY=VALUE"]),
    ("bad-timeout", "timeout", ["--timeout", "-1"], ["timeout"]),
    ("unknown-option", "dsn", ["--no-such-option"], ["--no-such-option"]),
]
CONFIG_ROWS: list[tuple[str, str, str, list[str]]] = [
    # (id, file, content, words)
    ("corrupt-pyproject", "pyproject.toml", "[tool.chatgate\nmap = {", ["pyproject.toml"]),
    ("corrupt-chatgate-toml", "chatgate.toml", "map = = 1\n", ["chatgate.toml"]),
    ("map-not-a-table", "pyproject.toml", '[tool.chatgate]\nmap = "x"\n', ["tool.chatgate.map"]),
    ("config-bad-profile", "pyproject.toml", '[tool.chatgate]\nprofile = "x"\n', ["profile"]),
    ("binary-pyproject", "pyproject.toml", "\udcff\udcfe\x00\x01", ["pyproject.toml"]),
]


CONFIG_TESTS = ("test_bad_option", "test_bad_config_file")


@pytest.fixture(scope="module")
def config_runs(
    request: pytest.FixtureRequest,
    pool: ThreadPoolExecutor,
    refused_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Futures:
    base = tmp_path_factory.mktemp("config")
    dsn = f"postgresql://u@127.0.0.1:{refused_port}/db"
    out: Futures = {}
    wanted = {(p["row"], p["command"]) for p in selected(request, *CONFIG_TESTS)}
    for c in COMMANDS:
        for row, option, extra, _ in OPTION_ROWS:
            if (row, c) in wanted and has_option(c, option):
                tmp = base / f"{row}-{c}"
                tmp.mkdir()
                args = [a for a in minimal_args(c, tmp) if a not in ("--profile", "quick")]
                out[(row, c)] = pool.submit(
                    run_cli, [c, "--dsn", dsn, *args, *extra], cwd=tmp, timeout=60
                )
        for row, name, content, _ in CONFIG_ROWS:
            if (row, c) not in wanted:
                continue
            tmp = base / f"{row}-{c}"
            tmp.mkdir()
            (tmp / name).write_bytes(content.encode("utf-8", "surrogateescape"))
            args = [a for a in minimal_args(c, tmp) if a not in ("--profile", "quick")]
            out[(row, c)] = pool.submit(run_cli, [c, "--dsn", dsn, *args], cwd=tmp, timeout=60)
    return out


@pytest.mark.parametrize(
    ("command", "row", "option", "extra", "words"), matrix(OPTION_ROWS, FAST_OPTIONS)
)
def test_bad_option(
    command: str, row: str, option: str, extra: list[str], words: list[str], config_runs: Futures
) -> None:
    if (row, command) not in config_runs:
        pytest.skip(f"{command} has no --{option}")
    assert_one_line_error(config_runs[(row, command)].result(), *words)


@pytest.mark.parametrize(
    ("command", "row", "name", "content", "words"), matrix(CONFIG_ROWS, FAST_CONFIG)
)
def test_bad_config_file(
    command: str, row: str, name: str, content: str, words: list[str], config_runs: Futures
) -> None:
    # The TOML parser's position is the fix here; the line must name the file and the spot.
    assert_one_line_error(config_runs[(row, command)].result(), *words, need_fix=False)


# --- result and baseline files -----------------------------------------------------------


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


BAD_FILES: dict[str, Callable[[Path], Path]] = {
    "missing": lambda d: d / "nope.json",
    "directory": lambda d: d,
    "empty": lambda d: _write(d / "empty.json", b""),
    "truncated": lambda d: _write(d / "cut.json", b'{"format": "chatgate-result", "ver'),
    "binary": lambda d: _write(d / "bin.json", bytes(range(256))),
    "wrong-format": lambda d: _write(d / "other.json", b'{"format": "something-else"}'),
    "not-an-object": lambda d: _write(d / "list.json", b"[1, 2, 3]"),
    "wrong-types": lambda d: _write(
        d / "types.json",
        json.dumps(
            {"format": "chatgate-result", "version": 1, "target": 5, "checks": "x"}
        ).encode(),
    ),
}
FILE_NAMES = {
    "missing": "nope.json",
    "directory": "in",
    "empty": "empty.json",
    "truncated": "cut.json",
    "binary": "bin.json",
    "wrong-format": "other.json",
    "not-an-object": "list.json",
    "wrong-types": "types.json",
}
FILE_USES = ["report", "report-baseline", "compare-old", "compare-new"]
FAST_USES = {"report", "compare-old"}


@pytest.fixture(scope="module")
def file_runs(
    request: pytest.FixtureRequest,
    pool: ThreadPoolExecutor,
    tmp_path_factory: pytest.TempPathFactory,
) -> Futures:
    from tests.reports.sample import sample_result

    base = tmp_path_factory.mktemp("files")
    good = str(sample_result().write(base / "good.json"))
    out: Futures = {}
    for p in selected(request, "test_bad_result_file"):
        kind, use = p["kind"], p["use"]
        make = BAD_FILES[kind]
        tmp = base / f"{kind}-{use}"
        (tmp / "in").mkdir(parents=True)
        bad = str(make(tmp / "in"))
        md = ["--md", str(tmp / "r.md")]
        args = {
            "report": ["report", bad, *md],
            "report-baseline": ["report", good, "--baseline", bad, *md],
            "compare-old": ["compare", bad, good],
            "compare-new": ["compare", good, bad],
        }[use]
        if args[0] in registered():
            out[(kind, use)] = pool.submit(run_cli, args, cwd=tmp)
    return out


@pytest.mark.parametrize(
    "use", [pytest.param(u, marks=() if u in FAST_USES else pytest.mark.slow) for u in FILE_USES]
)
@pytest.mark.parametrize(
    "kind", [pytest.param(k, marks=() if k in FAST_FILES else pytest.mark.slow) for k in BAD_FILES]
)
def test_bad_result_file(kind: str, use: str, file_runs: Futures) -> None:
    if (kind, use) not in file_runs:
        pytest.skip(f"no {use.split('-')[0]} command")
    name = FILE_NAMES[kind]
    # the path is named; the reason (missing, not JSON, not a result) is the fix here
    assert_one_line_error(file_runs[(kind, use)].result(), name, need_fix=False)


# --- a real server: 127.0.0.1:5432 (trust auth, no TLS) ----------------------------------

DB_ROWS: list[tuple[str, Callable[[str], bool]]] = [
    ("missing-database", lambda c: True),
    ("tls-required", lambda c: True),
    ("no-chat-tables", lambda c: c not in NO_TABLES_NEEDED),
    ("missing-schema", lambda c: has_option(c, "schema") and c != "init"),
    ("no-privileges", lambda c: c not in ("doctor", "snapshot")),
    ("read-only-role", lambda c: c in WRITERS | {"init", "clean"}),
    ("read-only-transactions", lambda c: c in WRITERS | {"init", "clean"}),
    ("read-only-role-with-flag", lambda c: has_option(c, "read_only")),
    ("statement-timeout-options", lambda c: True),
    ("statement-timeout-role", lambda c: True),
]
BASELINE_KINDS = ["truncated", "wrong-format", "binary", "directory", "missing"]
# test name -> the DB_ROWS row (or baseline case) its params select
DB_TESTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "test_missing_database": lambda p: "missing-database",
    "test_tls_required_but_server_has_none": lambda p: "tls-required",
    "test_schema_without_chat_tables": lambda p: "no-chat-tables",
    "test_missing_schema": lambda p: "missing-schema",
    "test_role_without_privileges": lambda p: "no-privileges",
    "test_read_only_role_asked_to_write": lambda p: str(p["row"]),
    "test_read_only_role_with_read_only_flag": lambda p: "read-only-role-with-flag",
    "test_statement_timeout_hit": lambda p: f"statement-timeout-{p['how']}",
    "test_corrupt_baseline": lambda p: f"baseline-{p['kind']}",
}


@pytest.fixture(scope="module")
def db_runs(
    request: pytest.FixtureRequest,
    pool: ThreadPoolExecutor,
    pg_admin: str,
    pg_dbs: Callable[[], str],
    chat_db: str,
    roles: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Futures:
    base = tmp_path_factory.mktemp("db")
    empty = pg_dbs()
    admin = parse_dsn(pg_admin)
    chat = parse_dsn(chat_db)
    jobs: dict[str, tuple[str, list[str]]] = {
        "missing-database": (
            admin.with_params(dbname="hx_no_such_db", password=PASSWORD).url(),
            [],
        ),
        "tls-required": (admin.with_params(sslmode="require").url(), []),
        "no-chat-tables": (empty, []),
        "missing-schema": (chat_db, ["--schema", "hx_nosuch"]),
        "no-privileges": (roles["nopriv"], []),
        "read-only-role": (roles["readonly"], ["--json", "{tmp}/r.json"]),
        "read-only-transactions": (roles["rotx"], ["--json", "{tmp}/r.json"]),
        "read-only-role-with-flag": (roles["readonly"], ["--read-only"]),
        "statement-timeout-options": (
            chat.with_params(options="-c statement_timeout=1").url(),
            [],
        ),
        "statement-timeout-role": (roles["stmt"], []),
    }
    out: Futures = {}
    wanted = {(DB_TESTS[p["test"]](p), p["command"]) for p in selected(request, *DB_TESTS)}
    for row, applies in DB_ROWS:
        dsn, extra = jobs[row]
        for c in COMMANDS:
            if not applies(c) or (row, c) not in wanted:
                continue
            tmp = base / f"{row}-{c}"
            tmp.mkdir()
            args = [a.replace("{tmp}", str(tmp)) for a in extra]
            if "--json" in args and not has_option(c, "json"):
                args = []
            out[(row, c)] = pool.submit(cli, c, dsn, tmp, *args)
    for c in COMMANDS:
        if not has_option(c, "baseline"):
            continue
        for kind in BASELINE_KINDS:
            if (f"baseline-{kind}", c) not in wanted:
                continue
            tmp = base / f"baseline-{kind}-{c}"
            (tmp / "in").mkdir(parents=True)
            bad = str(BAD_FILES[kind](tmp / "in"))
            out[(f"baseline-{kind}", c)] = pool.submit(cli, c, chat_db, tmp, "--baseline", bad)
    return out


def db_run(db_runs: Futures, row: str, command: str) -> Run:
    if (row, command) not in db_runs:
        pytest.skip(f"{row} does not apply to {command}")
    return db_runs[(row, command)].result()


@pytest.mark.db
@pytest.mark.parametrize("command", PARAMS)
def test_missing_database(command: str, db_runs: Futures) -> None:
    run = db_run(db_runs, "missing-database", command)
    assert_one_line_error(run, "hx_no_such_db", "does not exist")
    no_secret(run)


@pytest.mark.db
@pytest.mark.parametrize("command", PARAMS)
def test_tls_required_but_server_has_none(command: str, db_runs: Futures) -> None:
    run = db_run(db_runs, "tls-required", command)
    assert_one_line_error(run, "does not offer TLS", "sslmode=require")


@pytest.mark.db
@pytest.mark.parametrize("command", PARAMS)
def test_schema_without_chat_tables(command: str, db_runs: Futures) -> None:
    run = db_run(db_runs, "no-chat-tables", command)
    assert_one_line_error(run, "no conversations/messages tables in schema public")


@pytest.mark.db
@pytest.mark.parametrize("command", PARAMS)
def test_missing_schema(command: str, db_runs: Futures) -> None:
    run = db_run(db_runs, "missing-schema", command)
    assert_one_line_error(run, "hx_nosuch")


@pytest.mark.db
@pytest.mark.parametrize("command", PARAMS)
def test_role_without_privileges(command: str, db_runs: Futures) -> None:
    """No USAGE on the schema: one line naming the missing right, before any check runs."""
    run = db_run(db_runs, "no-privileges", command)
    assert_one_line_error(run, "permission denied", within=30)


@pytest.mark.db
@pytest.mark.parametrize("row", ["read-only-role", "read-only-transactions"])
@pytest.mark.parametrize("command", PARAMS)
def test_read_only_role_asked_to_write(command: str, row: str, db_runs: Futures) -> None:
    """Writing with a role that may only read: a clear error (2) or a failed verdict (1)
    whose reasons say so; never a traceback or a hang."""
    run = db_run(db_runs, row, command)
    words = ("permission denied", "read-only")
    if command in ("init", "clean") or run.rc == 2:
        text = assert_one_line_error(run, within=60)
        assert any(w in text for w in words), str(run)
        return
    assert run.rc == 1, str(run)
    assert "Traceback" not in run.err + run.out, str(run)
    report = Path(run.args[run.args.index("--json") + 1])
    reasons = json.dumps(json.loads(report.read_text())["checks"])
    assert any(w in reasons for w in words), str(run)


@pytest.mark.db
@pytest.mark.parametrize("command", PARAMS)
def test_read_only_role_with_read_only_flag(command: str, db_runs: Futures) -> None:
    run = db_run(db_runs, "read-only-role-with-flag", command)
    assert run.rc in (0, 1), str(run)
    assert "Traceback" not in run.err + run.out, str(run)
    assert "permission denied" not in run.out, str(run)


@pytest.mark.db
@pytest.mark.parametrize("how", ["options", "role"])
@pytest.mark.parametrize("command", PARAMS)
def test_statement_timeout_hit(command: str, how: str, db_runs: Futures) -> None:
    """statement_timeout=1ms: a clear error (2, one line) or a verdict (1), within limits."""
    run = db_run(db_runs, f"statement-timeout-{how}", command)
    assert "Traceback" not in run.err + run.out, str(run)
    if command not in ("init", "doctor"):  # these may well finish within 1 ms a statement
        assert run.rc in (1, 2), f"a 1 ms statement_timeout went unnoticed\n{run}"
    if run.rc == 2:
        assert_one_line_error(run, "statement", within=30)
    assert run.seconds < 60, str(run)


@pytest.mark.db
@pytest.mark.parametrize(
    "kind",
    [pytest.param(k, marks=() if k == "truncated" else pytest.mark.slow) for k in BASELINE_KINDS],
)
@pytest.mark.parametrize("command", PARAMS)
def test_corrupt_baseline(command: str, kind: str, db_runs: Futures) -> None:
    run = db_run(db_runs, f"baseline-{kind}", command)
    name = FILE_NAMES[kind]
    assert_one_line_error(run, name, within=30, need_fix=False)


# --- the Neon-like stack: SCRAM passwords, TLS only, PgBouncer --------------------------

NEON_ROWS: list[tuple[str, bool, dict[str, str], list[str]]] = [
    # (id, pooled, DSN changes, words)
    ("wrong-password-direct", False, {"password": "WRONG-" + PASSWORD}, ["authentication failed"]),
    ("wrong-password-pooled", True, {"password": "WRONG-" + PASSWORD}, ["authentication failed"]),
    ("no-tls-to-tls-only", False, {"sslmode": "disable"}, ["requires TLS"]),
    ("unknown-role-pooled", True, {"user": "hx_nobody"}, ["authentication failed"]),
]


@pytest.fixture(scope="module")
def neon_runs(
    request: pytest.FixtureRequest,
    pool: ThreadPoolExecutor,
    neon_stack: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Futures:
    base = tmp_path_factory.mktemp("neon")
    table = {r[0]: r for r in NEON_ROWS}
    out: Futures = {}
    for p in selected(request, "test_neon_refuses"):
        _, pooled, changes, _ = table[p["row"]]
        dsn = parse_dsn(neon_stack.dsn(pooled=pooled)).with_params(**changes).url()
        out[(p["row"], p["command"])] = pool.submit(
            cli, p["command"], dsn, base / f"{p['row']}-{p['command']}"
        )
    return out


@pytest.mark.neon
@pytest.mark.parametrize(
    ("command", "row", "pooled", "changes", "words"),
    matrix(NEON_ROWS, {"wrong-password-direct", "wrong-password-pooled", "no-tls-to-tls-only"}),
)
def test_neon_refuses(
    command: str,
    row: str,
    pooled: bool,
    changes: dict[str, str],
    words: list[str],
    neon_runs: Futures,
) -> None:
    run = neon_runs[(row, command)].result()
    assert_one_line_error(run, *words)
    no_secret(run)
