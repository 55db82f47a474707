"""Errors that end a command with a one-line message and a spec exit code."""


class ChatgateError(Exception):
    """A problem the user can fix; printed as one line, never as a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def one_line(self) -> str:
        """The message and, when known, how to fix it, on one line."""
        text = " ".join(self.message.split())
        return f"{text} (fix: {' '.join(self.fix.split())})" if self.fix else text


class SetupError(ChatgateError):
    """The run could not start: bad arguments, bad DSN, unreachable server, missing tables."""


# SQLSTATEs a run can meet mid-way, as (problem, fix). Matched without importing a driver.
_SQLSTATE: dict[str, tuple[str, str]] = {
    "57014": (
        "the server cancelled a statement (statement_timeout or a cancel request)",
        "raise statement_timeout for this role/DSN (e.g. options=-c statement_timeout=60s)",
    ),
    "42501": (
        "permission denied",
        "grant the DSN's role USAGE on the schema and rights on the chat tables, "
        "or pass --read-only",
    ),
    "25006": (
        "the session is read-only and chatgate needs to write",
        "use a role that may write, or pass --read-only",
    ),
    "57P01": (
        "the server terminated chatgate's connection (admin shutdown or pg_terminate_backend)",
        "rerun; then `chatgate clean` removes rows a cut-off run left",
    ),
    "57P02": ("the server crashed mid-run", "rerun once it is back; then `chatgate clean`"),
    "57P03": ("the server is starting up or shutting down", "wait and rerun"),
    "08006": (
        "the connection to the server was lost mid-run",
        "rerun; then `chatgate clean` removes rows a cut-off run left",
    ),
    "53300": ("the server has too many connections", "free connections or use a pooler"),
}
_LOST = (
    "ConnectionDoesNotExistError",
    "ConnectionResetError",
    "ConnectionAbortedError",
    "BrokenPipeError",
    "InterfaceError",
    "OperationalError",
)


def describe(exc: BaseException, *, timeout_s: float | None = None) -> ChatgateError | None:
    """A one-line error for a driver failure met mid-run (None: not one we recognise)."""
    state = getattr(exc, "sqlstate", None)
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    if isinstance(state, str) and state in _SQLSTATE:
        problem, fix = _SQLSTATE[state]
        return ChatgateError(f"{problem}: {text} (SQLSTATE {state})", fix=fix)
    if isinstance(exc, TimeoutError):
        limit = f" within {timeout_s:g} s" if timeout_s else ""
        return ChatgateError(
            f"the server did not answer{limit} (chatgate's statement timeout)",
            fix="check the server (behind a pooler: is PostgreSQL up?); "
            "raise CHATGATE_TIMEOUT for slow statements",
        )
    if name in _LOST and ("closed" in text or "connection" in text.lower() or not text):
        return ChatgateError(
            f"the connection to the server was lost mid-run: {name}: {text}".rstrip(": "),
            fix="rerun; then `chatgate clean` removes rows a cut-off run left",
        )
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return ChatgateError(
            f"the connection to the server was lost mid-run: {name}",
            fix="rerun; then `chatgate clean` removes rows a cut-off run left",
        )
    return None
