"""The pytest plugin: `pytest --chatgate-dsn DSN` runs the check catalogue as test items.

Options come from `chatgate.options`, shared with the CLI, so the two cannot drift.
"""

from typing import Any

from chatgate.options import add_pytest_options


def pytest_addoption(parser: Any) -> None:
    add_pytest_options(parser)
