"""Running real pytest suites of throwaway projects."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.core.testing.interpreter import InterpreterError, find_project_python
from app.core.testing.junit import parse_junit
from app.core.testing.nodes import node_at_line
from app.core.testing.runner import TestRun, TestRunError

SUITE = """
import pytest

def test_passes():
    assert 1 + 1 == 2

def test_fails():
    assert 2 + 2 == 5, "arithmetic"

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_errors(broken):
    pass

class TestGroup:
    def test_in_class(self):
        assert True
"""


def project(tmp_path: Path, **files: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def _alive_with(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def test_results_with_every_outcome(tmp_path: Path) -> None:
    root = project(tmp_path, **{"test_sample.py": SUITE})
    result = TestRun(root, python=sys.executable).run()
    report = result.report
    assert report.counts == {"passed": 2, "failed": 1, "error": 1, "skipped": 1}
    failed = next(case for case in report.cases if case.outcome == "failed")
    assert failed.nodeid == "test_sample.py::test_fails" and failed.line == 7
    assert "arithmetic" in failed.message and "assert" in failed.details
    in_class = next(case for case in report.cases if case.name == "test_in_class")
    assert in_class.nodeid == "test_sample.py::TestGroup::test_in_class"
    assert set(report.tree()["test_sample.py"]) == {"", "TestGroup"}
    assert "1 failed" in result.output and result.exit_code == 1 and not result.message


def test_rerun_of_failed_tests_by_node_id(tmp_path: Path) -> None:
    root = project(tmp_path, **{"test_sample.py": SUITE})
    first = TestRun(root, python=sys.executable).run()
    failed = [case.nodeid for case in first.report.problems]
    again = TestRun(root, failed, python=sys.executable).run()
    assert {case.nodeid for case in again.report.cases} == set(failed)


def test_no_tests_found(tmp_path: Path) -> None:
    result = TestRun(project(tmp_path, **{"helpers.py": "x = 1\n"}), python=sys.executable).run()
    assert result.exit_code == 5 and "found no tests" in result.message


def test_collection_error(tmp_path: Path) -> None:
    root = project(tmp_path, **{"test_broken.py": "import nonexistent_module_quillpad\n"})
    result = TestRun(root, python=sys.executable).run()
    assert result.report.counts["error"] == 1 and "collected" in result.message


def test_pytest_missing_from_the_project_venv(tmp_path: Path) -> None:
    root = project(tmp_path, **{"test_x.py": "def test_x(): pass\n"})
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)
    assert find_project_python(root).source == "project venv"
    with pytest.raises(TestRunError, match="pip install pytest"):
        TestRun(root).run()


def test_bad_configured_interpreter(tmp_path: Path) -> None:
    with pytest.raises(InterpreterError, match="Settings"):
        find_project_python(tmp_path, str(tmp_path / "no-python"))


def test_endless_test_is_stopped_by_the_timeout(tmp_path: Path) -> None:
    root = project(tmp_path, **{"test_loop.py": "def test_loop():\n    while True:\n        pass\n"})
    result = TestRun(root, python=sys.executable, timeout=3).run()
    assert result.timed_out and "longer than 3 s" in result.message


def test_children_left_by_tests_are_killed(tmp_path: Path) -> None:
    marker = f"quillpad-orphan-{os.getpid()}-{time.monotonic_ns()}"
    code = (
        "import subprocess, sys\n"
        "def test_spawns():\n"
        f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', '{marker}'])\n"
    )
    result = TestRun(project(tmp_path, **{"test_spawn.py": code}), python=sys.executable).run()
    assert result.report.counts["passed"] == 1
    deadline = time.monotonic() + 10
    while _alive_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive_with(marker) == []


def test_stop_ends_the_run(tmp_path: Path) -> None:
    root = project(tmp_path, **{"test_slow.py": "import time\ndef test_slow():\n    time.sleep(120)\n"})
    run = TestRun(root, python=sys.executable)
    threading.Timer(1.0, run.stop).start()
    result = run.run()
    assert result.stopped and result.message == "The run was stopped."


def test_huge_output_is_capped(tmp_path: Path) -> None:
    code = "def test_loud():\n    print('x' * (100 * 1024 * 1024))\n    assert False\n"
    lines: list[int] = []
    root = project(tmp_path, **{"test_loud.py": code})
    result = TestRun(root, python=sys.executable, on_output=lambda line: lines.append(len(line))).run()
    assert result.output_truncated and len(result.output) < 10 * 1024**2
    assert result.report.counts["failed"] == 1


def test_ten_thousand_results_parse(tmp_path: Path) -> None:
    cases = "".join(
        f'<testcase classname="tests.test_big" name="test_{i}" file="tests/test_big.py" line="{i}" time="0.001"/>'
        for i in range(10_000)
    )
    path = tmp_path / "big.xml"
    path.write_text(f'<testsuites><testsuite name="pytest" tests="10000">{cases}</testsuite></testsuites>')
    report = parse_junit(path)
    assert report.counts["passed"] == 10_000 and report.cases[-1].nodeid == "tests/test_big.py::test_9999"


def test_node_under_the_cursor(tmp_path: Path) -> None:
    root = project(tmp_path, **{"test_sample.py": SUITE})
    file = root / "test_sample.py"
    assert node_at_line(root, file, 7) == "test_sample.py::test_fails"
    assert node_at_line(root, file, 23) == "test_sample.py::TestGroup::test_in_class"
    assert node_at_line(root, file, 1) is None


def test_cli_summary_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from app.cli import main

    root = project(tmp_path, **{"test_sample.py": SUITE})
    assert main(["test", str(root), "--python", sys.executable]) == 1
    out = capsys.readouterr().out
    assert out.startswith("5 tests: 2 passed, 1 failed, 1 error, 1 skipped")
    assert "FAILED test_sample.py::test_fails (test_sample.py:7): AssertionError: arithmetic" in out
    assert main(["test", str(root), "--python", sys.executable, "--json", "--", "-k", "passes"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["passed"] == 1 and data["problems"] == []
    assert main(["test", str(tmp_path / "missing")]) == 2
