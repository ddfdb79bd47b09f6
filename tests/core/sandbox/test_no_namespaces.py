"""Where user namespaces are disabled (simulated: the namespace call fails): the notice, the
limits-only mode the user may choose, and evaluation's refusal without --unsafe-no-isolation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.cli import main
from app.core.sandbox.isolation import IsolationUnavailable
from app.core.sandbox.namespaces import SIMULATE_ENV
from app.core.sandbox.probes import run_probes
from app.core.sandbox.runner import isolation_support, run_python
from tests.fixtures.normal_user import ROOT, run_as_normal_user

# What limits only stops and what it does not (the README's table says the same).
LIMITS_ONLY = {
    "network": False,
    "write outside": False,
    "read home": False,
    "allocate 8 GB": True,
    "sleep left in a new session": True,
    "environment": True,
    "write 1 GB to stdout": True,
    "open 100,000 files": True,
    "change its own limits": True,
    "unshare again": False,
    "signal the app": False,
    "sleep forever": True,
}


@pytest.fixture
def no_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SIMULATE_ENV, "1")


@pytest.mark.usefixtures("no_namespaces")
def test_the_notice_says_so_in_plain_words_and_nothing_runs() -> None:
    support = isolation_support()
    assert support.mode == "limits-only" and not support.isolated and "simulated" in support.reason
    with pytest.raises(IsolationUnavailable) as refused:
        run_python("open('ran', 'w')")
    message = str(refused.value)
    assert "user namespaces are not available" in message
    assert "could read your files and use the network" in message and "limits only" in message


@pytest.mark.usefixtures("no_namespaces")
def test_limits_only_runs_when_the_user_chooses_and_says_what_it_lacks() -> None:
    result = run_python("print('ran')", allow_unisolated=True)
    assert result.ok and result.stdout == "ran\n"
    assert result.isolation == "limits-only" and not result.network_blocked
    assert "could read your files" in result.isolation_text
    assert any("Not isolated" in note for note in result.notes)


def _verdicts(outcomes: list[dict[str, object]]) -> dict[str, bool]:
    for outcome in outcomes:
        assert outcome["isolation"] == "limits-only" and outcome["folder_removed"], outcome
    return {str(o["name"]): bool(o["blocked"]) for o in outcomes}


@pytest.mark.usefixtures("no_namespaces")
def test_what_limits_only_blocks_in_this_process() -> None:
    names = [*LIMITS_ONLY, "mount"]
    verdicts = _verdicts([o.__dict__ for o in run_probes(names, allow_unisolated=True)])
    # Root could mount on the host without namespaces: that probe is not run then.
    assert verdicts == (LIMITS_ONLY if ROOT else {**LIMITS_ONLY, "mount": True})


@pytest.mark.skipif(not ROOT, reason="the other user is only reachable from root")
def test_what_limits_only_blocks_for_a_normal_user(readable_app: str) -> None:
    names = [f"--probe={name}" for name in [*LIMITS_ONLY, "mount"]]
    outcomes = run_as_normal_user(readable_app, "--unsafe-no-isolation", *names, env={SIMULATE_ENV: "1"})
    assert _verdicts(outcomes) == {**LIMITS_ONLY, "mount": True}


@pytest.mark.usefixtures("no_namespaces")
def test_evaluation_refuses_code_without_isolation_unless_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = ["eval", "humaneval", "--canonical", "--limit", "2", "--out", str(tmp_path / "a")]
    assert main(refused) != 0
    said = capsys.readouterr().err
    assert "cannot isolate" in said and "--unsafe-no-isolation" in said
    assert not (tmp_path / "a" / "results.jsonl").exists()

    assert main([*refused[:-1], str(tmp_path / "b"), "--unsafe-no-isolation", "--json"]) == 0
    report = json.loads((tmp_path / "b" / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["pooled"]["passed"] == 2
    assert report["sandbox"]["isolation"] == "limits-only"
    assert "Limits only" in (tmp_path / "b" / "report.md").read_text(encoding="utf-8")


def test_evaluation_reports_its_isolation(tmp_path: Path) -> None:
    assert os.environ.get(SIMULATE_ENV) is None
    assert main(["eval", "mbpp", "--canonical", "--limit", "1", "--out", str(tmp_path / "m")]) == 0
    assert main(["eval", "gsm8k", "--canonical", "--limit", "1", "--out", str(tmp_path / "g")]) == 0
    mbpp = (tmp_path / "m" / "report.md").read_text(encoding="utf-8")
    assert "| Sandbox | Isolated (Linux namespaces)" in mbpp
    assert "| Sandbox | not used" in (tmp_path / "g" / "report.md").read_text(encoding="utf-8")
