"""DSN parsing, masking and per-driver translation (Neon-style URLs included)."""

import pytest

from chatgate.dsn import mask_text, parse_dsn
from chatgate.errors import SetupError

NEON = (
    "postgres://alice:s3cr%40t@ep-cool-123-pooler.us-east-2.aws.neon.tech/neondb"
    "?sslmode=require&channel_binding=require&options=endpoint%3Dep-cool-123"
)


def test_postgres_scheme_is_accepted_and_password_decoded() -> None:
    dsn = parse_dsn(NEON)
    assert dsn.params["password"] == "s3cr@t"
    assert dsn.params["dbname"] == "neondb"


def test_neon_pooler_host_is_pooled_and_forcing_overrides() -> None:
    assert parse_dsn(NEON).pooled
    assert not parse_dsn(NEON, pooled=False).pooled
    assert parse_dsn("postgresql://u@localhost/db", pooled=True).pooled
    assert not parse_dsn("postgresql://u@localhost/db").pooled


def test_asyncpg_url_drops_what_asyncpg_rejects() -> None:
    url = parse_dsn(NEON).asyncpg_url()
    assert "channel_binding" not in url and "options" not in url
    assert "sslmode=require" in url and url.startswith("postgresql://")


def test_pooled_clients_get_prepared_statement_safe_settings() -> None:
    dsn = parse_dsn(NEON)
    assert dsn.asyncpg_kwargs()["statement_cache_size"] == 0
    assert dsn.psycopg_kwargs() == {"prepare_threshold": None}
    assert "statement_cache_size" not in parse_dsn("postgresql://u@h/d").asyncpg_kwargs()


def test_timeouts_always_set() -> None:
    kwargs = parse_dsn("postgresql://u@h/d").asyncpg_kwargs()
    assert kwargs["timeout"] > 0 and kwargs["command_timeout"] > 0
    assert "connect_timeout=" in parse_dsn("postgresql://u@h/d").psycopg_conninfo()


def test_psycopg_takes_neon_url_unchanged() -> None:
    info = parse_dsn(NEON).psycopg_conninfo()
    assert "channel_binding=require" in info and "options=endpoint=ep-cool-123" in info


def test_masked_never_shows_password() -> None:
    dsn = parse_dsn("postgresql://bob:hunter2@db.example.com:6543/app?sslmode=require")
    assert "hunter2" not in dsn.masked
    assert dsn.masked == "postgresql://bob:***@db.example.com:6543/app?sslmode=require"


def test_unix_socket_and_keyword_forms() -> None:
    sock = parse_dsn("postgresql://postgres@/chatgate?host=/var/run/pg")
    assert sock.host == "/var/run/pg"
    assert parse_dsn(sock.url()).params == sock.params
    kw = parse_dsn("host=/tmp dbname=x user=y password=zz")
    assert kw.params["dbname"] == "x" and "zz" not in kw.masked


@pytest.mark.parametrize(
    "raw",
    ["", "mysql://u@h/d", "postgresql://u:hunter2@h:notaport/d", "postgresql://u:hunter2@[x/d"],
)
def test_bad_dsn_is_one_line_setup_error_without_password(raw: str) -> None:
    with pytest.raises(SetupError) as err:
        parse_dsn(raw)
    line = mask_text(err.value.one_line())
    assert "\n" not in line and "hunter2" not in line


def test_mask_text_masks_every_parsed_password() -> None:
    parse_dsn("postgresql://u:Zebra-Quartz-9@h/d")
    assert mask_text("failed for Zebra-Quartz-9 at h") == "failed for *** at h"
