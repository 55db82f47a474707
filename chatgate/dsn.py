"""Parsing, masking and per-driver translation of PostgreSQL connection strings."""

import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

from chatgate.errors import SetupError

CONNECT_TIMEOUT_S = 10
# Client-side limit for one statement (asyncpg command_timeout). Behind PgBouncer a stopped
# server makes a query wait for query_wait_timeout (120 s by default): give up sooner.
# Configurable per process: CHATGATE_TIMEOUT (seconds) or set_command_timeout (--timeout).
COMMAND_TIMEOUT_S = 30.0
TIMEOUT_ENV = "CHATGATE_TIMEOUT"
APPLICATION_NAME = "chatgate"
MASK = "***"
# Shorter secrets are masked only where they stand as a secret (`:pw@`, `password=pw`):
# replacing every "p" of a one-letter password would garble every message.
_SHORT_SECRET = 6
_command_timeout: float | None = None
_SECRETS: set[str] = set()
# libpq parameters asyncpg rejects or that only Neon's proxy understands.
_ASYNCPG_DROP = {"channel_binding", "options", "connect_timeout", "application_name"}
_URL_KEYS = {"host", "port", "user", "password", "dbname"}


@dataclass(frozen=True)
class Dsn:
    """A parsed connection string; `params` holds libpq keywords (password included)."""

    params: dict[str, str] = field(hash=False)
    pooled_override: bool | None = None

    @property
    def host(self) -> str:
        return self.params.get("host", "")

    @property
    def pooled(self) -> bool:
        """Whether the endpoint is a transaction pooler (Neon `-pooler` host or forced)."""
        if self.pooled_override is not None:
            return self.pooled_override
        return "-pooler" in self.host

    @property
    def sslmode(self) -> str:
        return self.params.get("sslmode", "prefer")

    @property
    def password(self) -> str | None:
        return self.params.get("password")

    def url(self, *, drop: set[str] | frozenset[str] = frozenset(), mask: bool = False) -> str:
        """This DSN as a postgresql:// URL, without the `drop` keywords."""
        p = {k: v for k, v in self.params.items() if k not in drop}
        auth = quote(p.get("user", ""), safe="")
        if "password" in p:
            auth += ":" + (MASK if mask else quote(p["password"], safe=""))
        host = p.get("host", "")
        netloc = ""
        query = {k: v for k, v in p.items() if k not in _URL_KEYS}
        if host.startswith("/") or "," in host:
            query = {"host": host, **query}
        else:
            netloc = f"[{host}]" if ":" in host else host
            if "port" in p:
                netloc += f":{p['port']}"
        if "port" in p and "port" not in query and not netloc:
            query["port"] = p["port"]
        at = f"{auth}@" if auth else ""
        qs = "&".join(f"{k}={quote(v, safe='/')}" for k, v in query.items())
        return f"postgresql://{at}{netloc}/{quote(p.get('dbname', ''), safe='')}" + (
            f"?{qs}" if qs else ""
        )

    @property
    def masked(self) -> str:
        """The DSN safe to print: the password replaced by ***."""
        return self.url(mask=True)

    def asyncpg_url(self) -> str:
        """A URL asyncpg accepts (no channel_binding/Neon options; libpq's hostaddr as host)."""
        dsn = self
        if "hostaddr" in self.params:
            dsn = self.with_params(host=self.params["hostaddr"], hostaddr=None)
        return dsn.url(drop=_ASYNCPG_DROP)

    def asyncpg_kwargs(self) -> dict[str, Any]:
        """Connect keyword arguments for asyncpg: timeouts, pooler-safe statement cache, and
        the libpq settings asyncpg's URL parser ignores (application_name, `options=-c k=v`)."""
        kwargs: dict[str, Any] = {
            "timeout": self.connect_timeout,
            "command_timeout": command_timeout(),
            "server_settings": self.server_settings(),
        }
        if self.pooled:
            kwargs["statement_cache_size"] = 0
        return kwargs

    @property
    def connect_timeout(self) -> float:
        """libpq's connect_timeout (seconds; 0 or missing: chatgate's default)."""
        try:
            value = float(self.params.get("connect_timeout", CONNECT_TIMEOUT_S))
        except ValueError:
            return float(CONNECT_TIMEOUT_S)
        return value if value > 0 else float(CONNECT_TIMEOUT_S)

    def server_settings(self) -> dict[str, str]:
        """Startup settings for asyncpg: application_name (default `chatgate`, so sessions
        can be found in pg_stat_activity) and, on direct endpoints, `-c name=value` from
        libpq's `options` (PgBouncer rejects unknown startup parameters; Neon's
        `endpoint=...` is not a setting and is left out)."""
        out = {"application_name": self.params.get("application_name") or APPLICATION_NAME}
        if not self.pooled:
            out.update(parse_options(self.params.get("options", "")))
        return out

    def psycopg_conninfo(self) -> str:
        """A conninfo string for psycopg (which takes Neon URLs unchanged)."""
        p = dict(self.params)
        p.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
        p.setdefault("application_name", APPLICATION_NAME)
        return psycopg.conninfo.make_conninfo(**p)

    def psycopg_kwargs(self) -> dict[str, Any]:
        """Connect keyword arguments for psycopg: pooler-safe prepared statements."""
        return {"prepare_threshold": None} if self.pooled else {}

    def with_params(self, **changes: str | None) -> "Dsn":
        """A copy with some libpq keywords changed (None removes one)."""
        p = dict(self.params)
        for key, value in changes.items():
            if value is None:
                p.pop(key, None)
            else:
                p[key] = value
        return Dsn(p, self.pooled_override)


def parse_dsn(raw: str, *, pooled: bool | None = None) -> Dsn:
    """Parse a URL (postgres:// or postgresql://) or key=value conninfo; one-line error if bad."""
    text = raw.strip()
    if not text:
        raise SetupError("empty DSN", fix="pass --dsn postgresql://USER:PASSWORD@HOST/DB")
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://") :]
    if "://" in text and not text.startswith("postgresql://"):
        scheme = text.split("://", 1)[0]
        raise SetupError(
            f"unsupported DSN scheme {scheme!r}", fix="use a postgresql:// or postgres:// URL"
        )
    _remember_raw_password(text)
    try:
        params = conninfo_to_dict(text)
    except psycopg.ProgrammingError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "unparseable"
        if "password" in reason.lower() or (text and reason in text):
            reason = "unparseable"
        raise SetupError(
            f"malformed DSN: {_scrub(reason, text)}",
            fix="use postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=require",
        ) from None
    clean = {k: str(v) for k, v in params.items() if v is not None}
    if clean.get("password"):
        _SECRETS.add(clean["password"])
    if "port" in clean and not clean["port"].replace(",", "").isdigit():
        raise SetupError(
            f"malformed DSN: port {clean['port']!r} is not a number",
            fix="use postgresql://USER:PASSWORD@HOST:PORT/DB with a numeric PORT",
        )
    return Dsn(clean, pooled)


def parse_options(options: str) -> dict[str, str]:
    """`-c name=value` / `--name=value` pairs of libpq's `options` (other words ignored)."""
    words = options.replace("\\ ", "\0").split()
    out: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i].replace("\0", " ")
        pair = ""
        if word == "-c" and i + 1 < len(words):
            i += 1
            pair = words[i].replace("\0", " ")
        elif (word.startswith("-c") and len(word) > 2) or (word.startswith("--") and "=" in word):
            pair = word[2:]
        name, sep, value = pair.partition("=")
        if sep and name:
            out[name.replace("-", "_")] = value
        i += 1
    return out


def command_timeout() -> float:
    """Seconds one statement may take before chatgate gives up (see COMMAND_TIMEOUT_S)."""
    if _command_timeout is not None:
        return _command_timeout
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if raw:
        return _timeout_value(raw, TIMEOUT_ENV)
    return COMMAND_TIMEOUT_S


def set_command_timeout(seconds: float | str | None) -> None:
    """Set the statement timeout for this process (`--timeout`); None restores the default."""
    global _command_timeout
    _command_timeout = None if seconds is None else _timeout_value(str(seconds), "--timeout")


def _timeout_value(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise SetupError(
            f"{where} {raw!r} is not a positive number of seconds", fix=f"e.g. {where}=30"
        )
    return value


def mask_text(text: str, *secrets: str | None) -> str:
    """Replace the given secrets, and every password parsed so far, by ***."""
    known = {s for s in (*secrets, *_SECRETS) if s}
    for secret in sorted(known, key=len, reverse=True):
        for form in dict.fromkeys((secret, quote(secret, safe=""))):
            if len(form) >= _SHORT_SECRET:
                text = text.replace(form, MASK)
            else:
                text = _mask_in_context(text, form)
    return text


def _mask_in_context(text: str, secret: str) -> str:
    """Mask a short secret where it stands as a password: `:pw@`, `password=pw`, `'pw'`."""
    s = re.escape(secret)
    text = re.sub(rf"(?<=:){s}(?=@)", MASK, text)
    text = re.sub(rf"(?i)(?<=password=){s}(?=$|[^\w])", MASK, text)
    text = re.sub(rf"(?i)(password\s+)'{s}'", rf"\1'{MASK}'", text)
    return text


def _scrub(reason: str, raw: str) -> str:
    """Remove anything that looks like a password from a parser message."""
    if "@" in raw and ":" in raw.split("@", 1)[0]:
        userinfo = raw.split("://", 1)[-1].split("@", 1)[0]
        if ":" in userinfo:
            reason = mask_text(reason, userinfo.split(":", 1)[1])
    return reason


def _remember_raw_password(raw: str) -> None:
    """Register a URL's password before parsing, so even a parse error cannot print it."""
    if "://" in raw and "@" in raw:
        userinfo = raw.split("://", 1)[1].rsplit("@", 1)[0]
        if ":" in userinfo:
            from urllib.parse import unquote

            secret = userinfo.split(":", 1)[1]
            _SECRETS.update(s for s in (secret, unquote(secret)) if s)
