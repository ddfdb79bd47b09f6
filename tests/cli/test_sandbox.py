"""``quillpad sandbox check|run`` and the sandbox lines of ``quillpad selftest``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.core.sandbox.namespaces import SIMULATE_ENV


def test_check_says_what_is_isolated_and_that_each_probe_was_blocked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "check", "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in checks] == [
        "sandbox isolation",
        "sandbox network",
        "sandbox write outside",
        "sandbox read home",
    ]
    assert "Isolated (Linux namespaces)" in checks[0]["detail"]
    assert all(c["ok"] and (c is checks[0] or c["detail"].startswith("blocked")) for c in checks)


def test_run_prints_the_output_and_the_isolation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "hello.py"
    program.write_text("import os\nprint('hello', sorted(os.listdir('.')))\nraise SystemExit(3)\n")
    assert main(["sandbox", "run", str(program)]) == 3
    said = capsys.readouterr()
    assert said.out == "hello ['main.py']\n"
    assert "Isolated (Linux namespaces)" in said.err


def test_run_without_isolation_needs_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SIMULATE_ENV, "1")
    program = tmp_path / "hello.py"
    program.write_text("print('hello')\n")
    assert main(["sandbox", "run", str(program)]) == 2
    err = capsys.readouterr().err
    assert "user namespaces are not available" in err and "pass --unsafe-no-isolation" in err
    assert main(["sandbox", "run", str(program), "--unsafe-no-isolation"]) == 0
    said = capsys.readouterr()
    assert said.out == "hello\n" and "Limits only" in said.err and "Not isolated" in said.err
    assert main(["sandbox", "check"]) == 0  # the machine's limits are not the app's failure
    assert "sandbox probes: not run: This system does not let Quillpad isolate code" in capsys.readouterr().out


def test_selftest_prints_what_the_sandbox_isolates() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, "-m", "app", "selftest"], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if " sandbox " in line]
    assert lines[0].startswith("ok     sandbox isolation: Isolated (Linux namespaces)")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "ok     sandbox network",
        "ok     sandbox write outside",
        "ok     sandbox read home",
    ]
