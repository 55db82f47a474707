"""System programs the Neon-like stack runs: PostgreSQL server binaries, pgbouncer, openssl."""

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from chatgate.errors import SetupError

PG_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"
INSTALL_FIX = "apt-get install postgresql pgbouncer openssl"
_PG_PROGRAMS = ("initdb", "pg_ctl", "postgres", "psql")


@dataclass(frozen=True)
class Tools:
    """Where the programs are, and the OS user server processes run as (None: ourselves)."""

    bindir: Path
    pgbouncer: Path
    openssl: Path
    run_as: str | None

    def cmd(self, *args: str | Path) -> list[str]:
        """A command line run as the server user (via runuser when we are root)."""
        argv = [str(a) for a in args]
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else argv

    def pg(self, program: str, *args: str | Path) -> list[str]:
        """A command line for one PostgreSQL server program, run as the server user."""
        return self.cmd(self.bindir / program, *args)

    def run(
        self, argv: list[str], *, timeout: float = 60, what: str = "", stdin: str | None = None
    ) -> str:
        """Run a command; a failure becomes a one-line SetupError quoting its last output line."""
        try:
            out = subprocess.run(
                argv, input=stdin, capture_output=True, text=True, timeout=timeout, cwd="/"
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SetupError(f"{what or argv[0]} failed: {exc}") from None
        if out.returncode != 0:
            lines = (out.stderr or out.stdout).strip().splitlines() or [f"exit {out.returncode}"]
            raise SetupError(f"{what or Path(argv[0]).name} failed: {lines[-1]}")
        return out.stdout

    def own(self, *paths: Path) -> None:
        """Give paths to the server user (no-op when we are not root)."""
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            for path in paths:
                os.chown(path, entry.pw_uid, entry.pw_gid)


def pg_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding the server programs (or $CHATGATE_PG_BINDIR)."""
    if env := os.environ.get("CHATGATE_PG_BINDIR"):
        candidates = [Path(env)]
    else:
        found = PG_ROOT.glob("*/bin") if PG_ROOT.is_dir() else []
        candidates = sorted(found, key=lambda p: _version_key(p.parent.name), reverse=True)
    for bindir in candidates:
        if all((bindir / p).is_file() for p in _PG_PROGRAMS):
            return bindir
    return None


def missing() -> str | None:
    """Why the stack cannot run here (a one-line reason), or None when it can."""
    try:
        find_tools()
    except SetupError as exc:
        return exc.one_line()
    return None


def find_tools() -> Tools:
    """Locate everything the stack needs; one-line SetupError naming what to install."""
    bindir = pg_bindir()
    bouncer = shutil.which("pgbouncer") or _sbin("pgbouncer")
    openssl = shutil.which("openssl")
    lacking = [
        name
        for name, path in (
            ("PostgreSQL server", bindir),
            ("pgbouncer", bouncer),
            ("openssl", openssl),
        )
        if path is None
    ]
    if lacking:
        raise SetupError(
            f"the neon profile needs system {', '.join(lacking)} binaries (not found)",
            fix=INSTALL_FIX,
        )
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise SetupError(
                f"running as root needs an OS user {SERVER_USER!r} for the servers",
                fix=INSTALL_FIX,
            ) from None
        run_as = SERVER_USER
    assert bindir and bouncer and openssl
    return Tools(bindir, Path(bouncer), Path(openssl), run_as)


def _sbin(name: str) -> str | None:
    for folder in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        if (path := Path(folder) / name).is_file():
            return str(path)
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit()) or (0,)
