"""Files of the Neon-like stack: layout, settings, TLS certificate, postgres and pgbouncer."""

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from chatgate.errors import SetupError
from chatgate.neon.tools import Tools

APP_USER = "neon_app"
APP_DB = "neondb"
POOLER_HOST = "ep-local-pooler.localhost"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class StackConfig:
    """What `db start --profile neon` was asked for; ports are port_base .. port_base+3."""

    port_base: int
    rtt_ms: float
    suspend_after: float  # seconds without clients before postgres stops; 0: never

    @property
    def pg_port(self) -> int:
        return self.port_base

    @property
    def bouncer_port(self) -> int:
        return self.port_base + 1

    @property
    def direct_port(self) -> int:
        return self.port_base + 2

    @property
    def pooled_port(self) -> int:
        return self.port_base + 3


@dataclass(frozen=True)
class Layout:
    """Paths under the stack's state directory."""

    base: Path

    @property
    def pgdata(self) -> Path:
        return self.base / "pg"

    @property
    def tls(self) -> Path:
        return self.base / "tls"

    @property
    def bouncer(self) -> Path:
        return self.base / "bouncer"

    @property
    def sockets(self) -> Path:
        return self.base / "run"

    @property
    def config_file(self) -> Path:
        return self.base / "stack.json"

    @property
    def password_file(self) -> Path:
        return self.base / "password"

    @property
    def daemon_pid(self) -> Path:
        return self.base / "daemon.pid"

    @property
    def daemon_state(self) -> Path:
        return self.base / "daemon.json"

    @property
    def daemon_log(self) -> Path:
        return self.base / "daemon.log"

    @property
    def logs(self) -> Path:
        return self.base / "log"

    @property
    def pg_log(self) -> Path:
        return self.logs / "postgres.log"

    @property
    def bouncer_ini(self) -> Path:
        return self.bouncer / "pgbouncer.ini"

    @property
    def bouncer_pid(self) -> Path:
        return self.bouncer / "pgbouncer.pid"

    def save(self, cfg: StackConfig) -> None:
        self.config_file.write_text(json.dumps(asdict(cfg)))

    def load(self) -> StackConfig | None:
        """The saved config, or None when the stack was never started here."""
        try:
            return StackConfig(**json.loads(self.config_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def password(self) -> str:
        """The application role's password, generated once and kept 0600."""
        if self.password_file.exists():
            return self.password_file.read_text().strip()
        secret = secrets.token_urlsafe(24)
        self.password_file.touch(mode=0o600)
        self.password_file.chmod(0o600)
        self.password_file.write_text(secret + "\n")
        return secret


def make_dirs(layout: Layout, tools: Tools) -> None:
    """Create the state directory (0755) and the server-owned subdirectories (0700)."""
    layout.base.mkdir(parents=True, exist_ok=True)
    layout.base.chmod(0o755)
    if tools.run_as:
        _check_traversable(layout.base, tools.run_as)
    for path in (layout.tls, layout.bouncer, layout.sockets, layout.logs):
        path.mkdir(exist_ok=True)
        path.chmod(0o700)
        tools.own(path)


def _check_traversable(path: Path, user: str) -> None:
    """The server user must reach the state directory: every parent needs o+x."""
    for parent in path.parents:
        if not parent.stat().st_mode & 0o001:
            raise SetupError(
                f"{parent} is not searchable by the {user!r} user the servers run as",
                fix=f"chmod o+x {parent}, or set CHATGATE_HOME to a directory under /var/lib",
            )


def make_certificate(layout: Layout, tools: Tools) -> None:
    """A self-signed certificate for localhost, 127.0.0.1 and the pooler host name."""
    crt, key = layout.tls / "server.crt", layout.tls / "server.key"
    if crt.exists() and key.exists():
        return
    san = f"subjectAltName=DNS:localhost,DNS:{POOLER_HOST},IP:{LOOPBACK}"
    tools.run(
        [
            str(tools.openssl),
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=localhost",
            "-addext",
            san,
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        what="openssl",
    )
    key.chmod(0o600)
    tools.own(crt, key)


def postgres_conf(layout: Layout, cfg: StackConfig) -> str:
    """Settings appended to postgresql.conf: TLS, SCRAM, loopback only, own socket dir."""
    return "\n".join(
        [
            "# chatgate neon profile",
            f"listen_addresses = '{LOOPBACK}'",
            f"port = {cfg.pg_port}",
            f"unix_socket_directories = '{layout.sockets}'",
            "ssl = on",
            f"ssl_cert_file = '{layout.tls / 'server.crt'}'",
            f"ssl_key_file = '{layout.tls / 'server.key'}'",
            "password_encryption = 'scram-sha-256'",
            "max_connections = 100",
            "shared_buffers = '32MB'",
            "fsync = off",
            "",
        ]
    )


def pg_hba() -> str:
    """TLS-only TCP with SCRAM; plain TCP rejected; the local socket for setup (peer)."""
    return "\n".join(
        [
            "# chatgate neon profile",
            "local all all peer",
            f"hostnossl all all {LOOPBACK}/32 reject",
            f"hostssl all all {LOOPBACK}/32 scram-sha-256",
            "",
        ]
    )


def bouncer_ini(layout: Layout, cfg: StackConfig) -> str:
    """PgBouncer in transaction mode with client and server TLS, like Neon's -pooler."""
    tls = layout.tls
    return "\n".join(
        [
            "[databases]",
            f"{APP_DB} = host={LOOPBACK} port={cfg.pg_port} dbname={APP_DB}",
            "",
            "[pgbouncer]",
            f"listen_addr = {LOOPBACK}",
            f"listen_port = {cfg.bouncer_port}",
            f"unix_socket_dir = {layout.sockets}",
            "pool_mode = transaction",
            "auth_type = scram-sha-256",
            f"auth_file = {layout.bouncer / 'userlist.txt'}",
            "max_client_conn = 500",
            "default_pool_size = 20",
            "server_login_retry = 1",
            "query_wait_timeout = 30",
            "ignore_startup_parameters = extra_float_digits",
            "client_tls_sslmode = require",
            f"client_tls_cert_file = {tls / 'server.crt'}",
            f"client_tls_key_file = {tls / 'server.key'}",
            "server_tls_sslmode = require",
            f"logfile = {layout.logs / 'pgbouncer.log'}",
            f"pidfile = {layout.bouncer_pid}",
            "",
        ]
    )


def write_bouncer_files(layout: Layout, cfg: StackConfig, tools: Tools) -> None:
    """pgbouncer.ini and the auth file (0600, server user) holding the app role's password."""
    users = layout.bouncer / "userlist.txt"
    users.touch(mode=0o600)
    users.chmod(0o600)
    users.write_text(f'"{APP_USER}" "{layout.password()}"\n')
    layout.bouncer_ini.write_text(bouncer_ini(layout, cfg))
    tools.own(users, layout.bouncer_ini)
