"""The pytest plugin: `pytest --chatgate-dsn DSN` runs the check catalogue as test items.

Options come from `chatgate.options`, shared with the CLI, so the two cannot drift. Each selected
check is one item named by its id (`chatgate::structure.tables`), so pytest's own JUnit, -k and
reporting work. A `must` check that fails or errors fails its item; a `should` one does too with
--chatgate-strict, else it is an xfail; a skipped check is a pytest skip. --chatgate-json writes
the chatgate result document at the end of the session.
"""

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest

from chatgate import options
from chatgate.options import Settings, build_settings

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.registry import Check
    from reports.result import CheckResult

_STATE = pytest.StashKey["CatalogueRun"]()


def pytest_addoption(parser: Any) -> None:
    options.add_pytest_options(parser)


class CheckFailed(Exception):
    """A check's verdict that fails its item."""


class CatalogueRun:
    """One session's target, context and results; prepared lazily by the first item."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.ctx: CheckContext | None = None
        self.setup_error: str | None = None
        self.results: list[CheckResult] = []
        self._target: Any = None

    def context(self) -> "CheckContext":
        """The check context; a setup problem fails every item with the same one line."""
        if self.ctx is None and self.setup_error is None:
            from chatgate.errors import ChatgateError
            from chatgate.target import open_target
            from conformance.engine import prepare

            try:
                self._target = open_target(self.settings.dsn, pooled=self.settings.pooled or None)
                self.ctx = self.loop.run_until_complete(prepare(self._target, self.settings))
            except ChatgateError as exc:
                self.setup_error = exc.one_line()
        if self.ctx is None:
            raise CheckFailed(f"chatgate could not start: {self.setup_error}")
        return self.ctx

    def run(self, check: "Check") -> "CheckResult":
        from conformance.engine import run_check

        result = self.loop.run_until_complete(run_check(self.context(), check))
        self.results.append(result)
        return result

    def close(self) -> None:
        if self._target is not None:
            self._target.close()
        self.loop.close()


class CheckItem(pytest.Item):
    """One catalogue check as a test item."""

    def __init__(self, *, check: "Check", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.add_marker(pytest.mark.chatgate)

    def runtest(self) -> None:
        state = self.config.stash[_STATE]
        result = state.run(self.check)
        if result.status == "skip":
            pytest.skip(result.summary)
        if result.status in ("fail", "error"):
            text = f"{result.status}: {result.summary}\n{_details(result.details)}"
            if not result.gates(strict=state.settings.strict):
                pytest.xfail(f"{self.check.severity} check {result.status}: {result.summary}")
            raise CheckFailed(text)

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return f"{self.check.id} ({self.check.severity}) {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"chatgate {self.check.id}"


class Catalogue(pytest.Collector):
    """The selected checks of the catalogue."""

    def collect(self) -> list[pytest.Item]:
        from conformance.engine import select

        settings = self.config.stash[_STATE].settings
        return [CheckItem.from_parent(self, name=c.id, check=c) for c in select(settings)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chatgate: a chatgate catalogue check")
    if config.getoption("--chatgate-dsn", None):
        values = options.pytest_values(config)
        config.stash[_STATE] = CatalogueRun(build_settings(values, config_dir=config.rootpath))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if _STATE in config.stash:
        items.extend(Catalogue.from_parent(session, name="chatgate", nodeid="chatgate").collect())


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    try:
        if state.settings.json is not None and state.ctx is not None:
            _write_json(state)
    finally:
        state.close()


def _write_json(state: CatalogueRun) -> None:
    from conformance.engine import discovery_info, harness_info, target_info
    from reports.result import RunResult

    assert state.ctx is not None and state.settings.json is not None
    result = RunResult(
        target=target_info(state.ctx),
        command="pytest",
        run_id=state.ctx.run_id,
        strict=state.settings.strict,
        profile=state.settings.profile,
        harness=harness_info(),
        discovery=discovery_info(state.ctx),
        checks=state.results,
    )
    result.write(state.settings.json)


def _details(details: dict[str, Any]) -> str:
    return json.dumps(details, indent=2, default=str) if details else ""
