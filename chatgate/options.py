"""Option definitions shared by the CLI and the pytest plugin, and the `Settings` they fill."""

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from chatgate.errors import SetupError

F = TypeVar("F", bound=Callable[..., Any])
PROFILES = ("quick", "ci", "thorough")


@dataclass(frozen=True)
class Opt:
    """One option: `--NAME` on the CLI, `--chatgate-NAME` in pytest."""

    name: str
    help: str
    kind: str = "str"  # str | int | float | flag | multi | choice | path
    default: Any = None
    choices: tuple[str, ...] = ()
    envvar: str | None = None

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


OPTIONS: dict[str, Opt] = {
    o.name: o
    for o in [
        Opt("dsn", "PostgreSQL URL (default: embedded server)", envvar="CHATGATE_DSN"),
        Opt("target", "embedded | dsn | docker[:IMAGE]"),
        Opt("pooled", "treat the endpoint as a transaction pooler", kind="flag"),
        Opt("schema", "schema holding the chat tables (default: search_path)"),
        Opt("map", "LOGICAL=ACTUAL name mapping (repeatable)", kind="multi"),
        Opt("fill", "TABLE.COLUMN=SQL for required unknown columns (repeatable)", kind="multi"),
        Opt("order-key", "history order key columns, COL[,COL]"),
        Opt("only", "run only checks whose id starts with these prefixes (comma list)"),
        Opt("read-only", "run only checks that never write", kind="flag"),
        Opt("strict", "`should` failures fail the run too", kind="flag"),
        Opt(
            "profile",
            "effort: quick | ci | thorough",
            kind="choice",
            default="ci",
            choices=PROFILES,
        ),
        Opt("rls-role", "role without BYPASSRLS for isolation.rls"),
        Opt("rls-setting", "setting the RLS policies read", default="app.user_id"),
        Opt(
            "baseline",
            "snapshot (check) or result JSON (bench/run/report) to compare with",
            kind="path",
        ),
        Opt("json", "write the result JSON here", kind="path"),
        Opt("junit", "write JUnit XML here", kind="path"),
        Opt("md", "write Markdown here", kind="path"),
        Opt("html", "write the HTML report here", kind="path"),
        Opt("history-target-ms", "p95 target for history fetch", kind="float", default=200.0),
        Opt("append-target-ms", "p95 target for append", kind="float", default=50.0),
        Opt("seed", "random seed (data and Hypothesis)", kind="int"),
        Opt(
            "timeout",
            "seconds one statement may take (or CHATGATE_TIMEOUT) [default: 30]",
            kind="float",
        ),
        Opt("debug", "show tracebacks", kind="flag"),
    ]
}


# Option groups the commands share (a command lists groups plus its own extras).
TARGET = ("dsn", "target", "pooled", "timeout")
DESIGN = ("schema", "map", "fill", "order-key")
OUTPUTS = ("json", "junit", "md", "html")
BUDGETS = ("history-target-ms", "append-target-ms")


@dataclass(frozen=True)
class Settings:
    """Resolved options for one command, after config files and the command line."""

    dsn: str | None = None
    target: str | None = None
    pooled: bool = False
    schema: str | None = None
    map: Mapping[str, str] = field(default_factory=dict)
    fill: Mapping[str, str] = field(default_factory=dict)
    order_key: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    read_only: bool = False
    strict: bool = False
    profile: str = "ci"
    rls_role: str | None = None
    rls_setting: str = "app.user_id"
    baseline: Path | None = None
    json: Path | None = None
    junit: Path | None = None
    md: Path | None = None
    html: Path | None = None
    history_target_ms: float = 200.0
    append_target_ms: float = 50.0
    seed: int | None = None
    timeout: float | None = None
    debug: bool = False


def click_options(*names: str) -> Callable[[F], F]:
    """Decorate a click command with the named shared options."""

    def decorate(fn: F) -> F:
        for name in reversed(names):
            fn = _click_option(OPTIONS[name])(fn)
        return fn

    return decorate


def _click_option(o: Opt) -> Callable[[F], F]:
    flag = f"--{o.name}"
    if o.kind == "flag":
        return click.option(flag, o.dest, is_flag=True, default=False, help=o.help)
    if o.kind == "multi":
        return click.option(flag, o.dest, multiple=True, help=o.help, metavar="K=V")
    types: dict[str, Any] = {
        "int": int,
        "float": float,
        "str": str,
        "choice": click.Choice(o.choices),
        "path": click.Path(path_type=Path),
    }
    # No click default: a value left unset falls back to the config file, then to Settings.
    shown = f" [default: {o.default}]" if o.default is not None else ""
    return click.option(
        flag, o.dest, type=types[o.kind], default=None, envvar=o.envvar, help=o.help + shown
    )


def add_pytest_options(parser: Any) -> None:
    """Register every shared option as --chatgate-NAME in a pytest parser."""
    group = parser.getgroup("chatgate")
    for o in OPTIONS.values():
        flag = f"--chatgate-{o.name}"
        if o.kind == "flag":
            group.addoption(flag, action="store_true", default=False, help=o.help)
        elif o.kind == "multi":
            group.addoption(flag, action="append", default=[], help=o.help)
        else:
            conv = {"int": int, "float": float}.get(o.kind, str)
            shown = f" [default: {o.default}]" if o.default is not None else ""
            group.addoption(
                flag, type=conv, default=None, help=o.help + shown, choices=o.choices or None
            )


def pytest_values(config: Any) -> dict[str, Any]:
    """The shared options' values from a pytest config, keyed by dest."""
    return {o.dest: config.getoption(f"--chatgate-{o.name}") for o in OPTIONS.values()}


def build_settings(values: Mapping[str, Any], *, config_dir: Path | None = None) -> Settings:
    """Merge config-file values ([tool.chatgate] or chatgate.toml) under command-line values."""
    file_cfg = load_config(config_dir or Path.cwd())
    known = {k: v for k, v in values.items() if k in Settings.__dataclass_fields__}
    mapping = {
        **_pairs(file_cfg.get("map", {}), "map"),
        **_parse_pairs(known.pop("map", ()), "map"),
    }
    fill = {
        **_pairs(file_cfg.get("fill", {}), "fill"),
        **_parse_pairs(known.pop("fill", ()), "fill"),
    }
    for key, val in file_cfg.items():
        dest = key.replace("-", "_")
        if dest in Settings.__dataclass_fields__ and known.get(dest) in (None, (), False):
            known[dest] = val
    if known.get("timeout") is not None:
        from chatgate.dsn import set_command_timeout

        set_command_timeout(float(known["timeout"]))
    order_key = known.pop("order_key", None)
    only = known.pop("only", None)
    for dest in ("baseline", "json", "junit", "md", "html"):
        if known.get(dest) is not None:
            known[dest] = Path(known[dest])
    profile = known.get("profile") or "ci"
    if profile not in PROFILES:
        raise SetupError(f"unknown profile {profile!r}", fix=f"use one of {', '.join(PROFILES)}")
    known = {k: v for k, v in known.items() if v is not None}
    return Settings(map=mapping, fill=fill, order_key=_split(order_key), only=_split(only), **known)


def load_config(directory: Path) -> dict[str, Any]:
    """[tool.chatgate] from pyproject.toml, else chatgate.toml, in `directory`."""
    for name, section in (("chatgate.toml", None), ("pyproject.toml", ("tool", "chatgate"))):
        path = directory / name
        if not path.is_file():
            continue
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            reason = " ".join(str(exc).split())
            raise SetupError(
                f"cannot read {path}: {reason}", fix="fix or remove the file"
            ) from None
        for key in section or ():
            data = data.get(key, {})
        if data:
            return data
    return {}


def _split(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(s.strip() for s in items if s.strip())


def _parse_pairs(items: Any, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SetupError(
                f"--{what} {item!r} is not KEY=VALUE", fix=f"write --{what} conversations=Chat"
            )
        out[key.strip()] = value.strip()
    return out


def _pairs(table: Any, what: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise SetupError(
            f'[tool.chatgate.{what}] must be a table of KEY = "VALUE" pairs',
            fix=f'write it as [tool.chatgate.{what}] with lines like conversations = "Chat"',
        )
    return {str(k): str(v) for k, v in table.items()}
