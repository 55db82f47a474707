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


class GateFailure(ChatgateError):
    """A gating verdict failed (exit 1)."""

    exit_code = 1
