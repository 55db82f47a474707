"""Fixtures for report tests: sample runs built once per module."""

import pytest

from reports.result import RunResult
from tests.reports.sample import sample_result


@pytest.fixture(scope="module")
def run() -> RunResult:
    """The sample run (failures, latency, load timeline)."""
    return sample_result(seed=1)


@pytest.fixture(scope="module")
def baseline() -> RunResult:
    """An older run of the same workload, about 30% faster."""
    return sample_result(seed=7, slowdown=1 / 1.3)
