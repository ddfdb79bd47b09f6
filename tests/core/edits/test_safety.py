"""The bandit scan of generated Python: risky calls named in plain words, nothing run."""

from __future__ import annotations

from pathlib import Path

from app.core.edits.safety import DELETION_TEST_ID, scan_python

RISKY = """import os
import pickle
import shutil
import subprocess
from pathlib import Path


def handle(data, name):
    subprocess.run(name, shell=True)
    os.system("ls " + name)
    obj = pickle.loads(data)
    value = eval(name)  # nosec
    exec(name)
    shutil.rmtree(name)
    os.remove(name)
    Path(name).unlink()
    return obj, value
"""


def test_risky_calls_are_found_with_lines_and_plain_words() -> None:
    report = scan_python(RISKY)
    assert report.scanned and report.risky
    by_line = {(f.line, f.test_id) for f in report.findings}
    assert (9, "B602") in by_line  # shell=True
    assert (10, "B605") in by_line  # os.system
    assert (11, "B301") in by_line  # pickle
    assert (12, "B307") in by_line  # eval, despite "# nosec"
    assert (13, "B102") in by_line  # exec
    for line in (14, 15, 16):
        assert (line, DELETION_TEST_ID) in by_line
    categories = {f.category for f in report.findings}
    assert {"shell", "deserialisation", "code execution", "file deletion"} <= categories
    shell = next(f for f in report.findings if f.test_id == "B602")
    assert shell.severity == "HIGH" and shell.code == "subprocess.run(name, shell=True)"
    assert shell.description.endswith(".") and "shell" in shell.description


def test_findings_on_lines() -> None:
    report = scan_python(RISKY)
    assert {f.line for f in report.on_lines({13})} == {13}


def test_safe_code() -> None:
    report = scan_python("def add(a, b):\n    return a + b\n")
    assert report.scanned and not report.findings and not report.risky


def test_not_scanned_is_never_safe(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    broken = scan_python(f"open({str(marker)!r}, 'w')\ndef (:")
    assert not broken.scanned and broken.risky and broken.reason
    assert not marker.exists()  # scanning never runs the code
    assert not scan_python("x = 1\n" * 10, time_limit=0).scanned
    assert not scan_python("x" * 2_000_000).scanned
    deep = scan_python("x = " + "(" * 5000 + ")" * 5000)
    assert not deep.scanned
