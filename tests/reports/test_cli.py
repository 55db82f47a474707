"""`chatgate report` and `chatgate compare` through click (exit codes 0, 1, 2)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.reports.sample import sample_result

try:
    from chatgate.cli import reporting  # noqa: F401  (registers the commands)
    from chatgate.cli.app import app
except ImportError as exc:  # the CLI package is wired up by the lead
    pytest.skip(f"chatgate.cli is not importable yet: {exc}", allow_module_level=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("results")
    out = {
        "old": sample_result(seed=1).write(d / "old.json"),
        "same": sample_result(seed=2).write(d / "same.json"),
        "slow": sample_result(seed=3, slowdown=2.0).write(d / "slow.json"),
        "bad": d / "bad.json",
    }
    out["bad"].write_text("{not json")
    return out


def _invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.output


def test_compare_no_change_exits_0(files: dict[str, Path]) -> None:
    code, out = _invoke("compare", str(files["old"]), str(files["same"]), "--fail-on", "p95:+10%")
    assert code == 0, out
    assert "no change" in out and "slower" not in out


def test_compare_slowdown_exits_1(files: dict[str, Path]) -> None:
    args = ["compare", str(files["old"]), str(files["slow"]), "--fail-on", "p95:+10%"]
    code, out = _invoke(*args, "--fail-on", "p99:+20%")
    assert code == 1 and "FAIL p95:+10%" in out


def test_compare_corrupt_file_exits_2(files: dict[str, Path]) -> None:
    code, out = _invoke("compare", str(files["old"]), str(files["bad"]))
    assert code == 2 and "Traceback" not in out
    code, _ = _invoke("compare", str(files["old"]), str(files["old"]), "--fail-on", "p97:+1%")
    assert code == 2


def test_malformed_histogram_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    data = json.loads(files["old"].read_text())
    next(iter(data["latency"].values()))["histogram"] = [["fast", 3]]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    for args in (["compare", str(files["old"]), str(broken)], ["report", str(broken)]):
        code, out = _invoke(*args)
        assert code == 2 and "malformed result document" in out, out


def test_report_writes_all_three_next_to_the_json(files: dict[str, Path]) -> None:
    code, out = _invoke("report", str(files["slow"]), "--baseline", str(files["old"]))
    assert code == 0, out
    for suffix in (".html", ".md", ".junit.xml"):
        assert files["slow"].with_name("slow" + suffix).stat().st_size > 0


def test_report_only_the_asked_format(files: dict[str, Path], tmp_path: Path) -> None:
    code, _ = _invoke("report", str(files["old"]), "--md", str(tmp_path / "x.md"))
    assert code == 0 and [p.name for p in tmp_path.iterdir()] == ["x.md"]
    code, _ = _invoke("report", str(files["bad"]))
    assert code == 2
