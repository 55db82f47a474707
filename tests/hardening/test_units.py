"""The hardening pieces of chatgate core, in-process: option pass-through, timeouts, masking,
error mapping, the TLS/protocol probe and the CLI's last-resort error handling."""

import asyncio
import subprocess
import sys

import pytest

from chatgate import dsn as dsn_mod
from chatgate.dsn import (
    command_timeout,
    mask_text,
    parse_dsn,
    parse_options,
    set_command_timeout,
)
from chatgate.errors import ChatgateError, SetupError, describe
from chatgate.target import ssl_request_answer
from tests.hardening.conftest import FakeServer


def test_libpq_options_become_asyncpg_server_settings() -> None:
    opts = "-c statement_timeout=5s -clock_timeout=1s --work-mem=4MB endpoint=ep-x"
    assert parse_options(opts) == {
        "statement_timeout": "5s",
        "lock_timeout": "1s",
        "work_mem": "4MB",
    }
    d = parse_dsn("postgresql://u@h/d?options=-c%20statement_timeout%3D7")
    assert d.asyncpg_kwargs()["server_settings"] == {
        "application_name": "chatgate",
        "statement_timeout": "7",
    }


def test_pooled_endpoints_send_no_options_but_keep_application_name() -> None:
    d = parse_dsn("postgresql://u@h-pooler/d?options=-c%20statement_timeout%3D7")
    assert d.asyncpg_kwargs()["server_settings"] == {"application_name": "chatgate"}
    named = parse_dsn("postgresql://u@h/d?application_name=mine")
    assert named.asyncpg_kwargs()["server_settings"]["application_name"] == "mine"
    assert "application_name=chatgate" in parse_dsn("postgresql://u@h/d").psycopg_conninfo()


def test_statement_timeout_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHATGATE_TIMEOUT", raising=False)
    assert command_timeout() == dsn_mod.COMMAND_TIMEOUT_S <= 30
    monkeypatch.setenv("CHATGATE_TIMEOUT", "4.5")
    assert parse_dsn("postgresql://u@h/d").asyncpg_kwargs()["command_timeout"] == 4.5
    set_command_timeout(2)
    try:
        assert command_timeout() == 2.0
    finally:
        set_command_timeout(None)
    monkeypatch.setenv("CHATGATE_TIMEOUT", "0")
    with pytest.raises(SetupError, match="CHATGATE_TIMEOUT"):
        command_timeout()


def test_connect_timeout_zero_or_junk_falls_back() -> None:
    assert parse_dsn("postgresql://u@h/d?connect_timeout=0").connect_timeout == 10
    assert parse_dsn("postgresql://u@h/d?connect_timeout=3").connect_timeout == 3


def test_short_passwords_do_not_garble_messages() -> None:
    parse_dsn("postgresql://u:p@h/d")
    text = mask_text("fix: add port 5 to postgresql://u:p@h/d (password=p)")
    assert text == "fix: add port 5 to postgresql://u:***@h/d (password=***)"


def test_long_passwords_are_masked_everywhere_and_encoded() -> None:
    parse_dsn("postgresql://u:Hx%2Fsecret%40long@h/d")
    assert mask_text("a Hx/secret@long b Hx%2Fsecret%40long") == "a *** b ***"


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (type("QueryCanceledError", (Exception,), {"sqlstate": "57014"})("x"), "cancelled"),
        (
            type("InsufficientPrivilegeError", (Exception,), {"sqlstate": "42501"})("x"),
            "--read-only",
        ),
        (type("AdminShutdownError", (Exception,), {"sqlstate": "57P01"})("x"), "chatgate clean"),
        (TimeoutError(), "did not answer within 7 s"),
        (ConnectionResetError("reset"), "lost mid-run"),
    ],
)
def test_driver_failures_become_one_line_errors(exc: Exception, words: str) -> None:
    err = describe(exc, timeout_s=7)
    assert isinstance(err, ChatgateError)
    line = err.one_line()
    assert words in line and "fix:" in line and "\n" not in line
    assert describe(ValueError("other")) is None


def test_ssl_request_probe_tells_postgres_from_other_servers() -> None:
    http, silent = FakeServer("http"), FakeServer("close")
    try:
        assert ssl_request_answer("127.0.0.1", str(http.port)).startswith(b"HTTP/")
        assert ssl_request_answer("127.0.0.1", str(silent.port)) == b""
        assert ssl_request_answer("/var/run/postgresql", None) == b""
    finally:
        http.close()
        silent.close()


def test_unexpected_exception_is_one_line_and_debug_keeps_the_exit_code() -> None:
    code = (
        "import click, sys\n"
        "from chatgate.cli import app, main\n"
        "@app.command()\n"
        "@click.option('--debug', is_flag=True)\n"
        "def boom(debug):\n"
        "    raise RuntimeError('kaput [tool.chatgate.map]')\n"
        "main(sys.argv[1:])\n"
    )
    for extra, tb in (([], False), (["--debug"], True)):
        out = subprocess.run(
            [sys.executable, "-c", code, "boom", *extra], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 2, out
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert lines[-1].startswith("chatgate: error: RuntimeError: kaput [tool.chatgate.map]")
        assert ("Traceback" in out.stderr) is tb


def test_asyncio_timeout_is_the_builtin() -> None:
    # describe() relies on asyncpg raising the builtin TimeoutError (Python >= 3.11)
    assert asyncio.TimeoutError is TimeoutError
