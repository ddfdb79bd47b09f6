"""``quillpad eval``: the harness self-check, real tiny-model runs, a killed run resumed, compare."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from app.cli import main


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_canonical_humaneval_solutions_all_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "humaneval", "--canonical", "--workers", "2", "--out", str(tmp_path), "--json"]) == 0
    summary = _json_lines(capsys.readouterr().out)[-1]
    assert summary["type"] == "report" and summary["complete"]
    assert summary["summary"]["pooled"]["passed"] == 164  # type: ignore[index]
    assert summary["summary"]["pooled"]["total"] == 164  # type: ignore[index]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["mode"] == "canonical" and report["model"] is None
    assert all(r["reason"] == "passed" for r in report["tasks"])


def test_empty_humaneval_bodies_all_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "humaneval", "--empty", "--out", str(tmp_path), "--json"]) == 0
    summary = _json_lines(capsys.readouterr().out)[-1]
    assert summary["summary"]["pooled"] == {  # type: ignore[comparison-overlap]
        "passed": 0, "total": 164, "pass_at_1": 0.0, "ci95": [0.0, pytest.approx(0.0229, abs=1e-3)],
    }  # fmt: skip
    reasons = {r["reason"] for r in json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["tasks"]}
    assert "passed" not in reasons


@pytest.mark.parametrize("kind", ["mbpp", "gsm8k", "math"])
def test_self_check_of_the_other_kinds(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", kind, "--canonical", "--out", str(tmp_path / "c"), "--json"]) == 0
    assert main(["eval", kind, "--empty", "--out", str(tmp_path / "e"), "--json"]) == 0
    summaries = [line for line in _json_lines(capsys.readouterr().out) if line["type"] == "report"]
    assert [s["summary"]["pooled"]["passed"] for s in summaries] == [10, 0]  # type: ignore[index]
    both = [json.loads((tmp_path / d / "report.json").read_text(encoding="utf-8")) for d in ("c", "e")]
    assert both[0]["summary"]["failure_reasons"] == {}
    assert all(r["extracted"] is None for r in both[1]["tasks"]) or kind in ("mbpp",)


@pytest.mark.parametrize("kind", ["humaneval", "mbpp", "gsm8k", "math"])
def test_short_real_model_run_writes_a_report(kind: str, qwen3_gguf: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "app", "eval", kind, "--model", str(qwen3_gguf), "--limit", "2", "--max-tokens", "24",
         "--threads", "1", "--no-think", "--seeds", "1,2", "--out", str(out)],
        capture_output=True, text=True, timeout=180, env=_env(), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{kind} (model): pass@1" in result.stdout
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["complete"] and report["tasks_finished"] == 4
    assert report["model"]["file_name"] == qwen3_gguf.name and len(report["model"]["sha256"]) == 64
    assert report["model"]["metadata"]["general.architecture"] == "qwen3"
    assert report["settings"]["thinking"] is False
    assert report["settings"]["sampling"]["temperature"] == 0.7  # Qwen3's non-thinking preset
    assert report["settings"]["load"]["threads"] == 1
    assert report["model_load_seconds"] > 0 and report["wall_seconds"] > 0
    assert report["software"]["llama_cpp_python"] == "0.3.36" and report["hardware"]["cpu"]
    assert all(r["completion_tokens"] > 0 and r["prompt"] for r in report["tasks"])
    assert (out / "report.md").exists() and (out / "report.html").exists()


def test_a_killed_run_continues_from_the_last_finished_task(qwen3_gguf: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [sys.executable, "-m", "app", "eval", "gsm8k", "--model", str(qwen3_gguf), "--max-tokens", "48",
            "--threads", "1", "--seeds", "1,2,3,4,5,6,7,8", "--out", str(out), "--json"]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
    assert process.stdout is not None
    helpers: list[psutil.Process] = []
    try:
        progress = 0
        for line in process.stdout:
            if json.loads(line).get("type") == "progress":
                progress += 1
                if progress == 3:
                    helpers = psutil.Process(process.pid).children(recursive=True)
                    process.send_signal(signal.SIGKILL)  # mid-run, no chance to clean up
                    break
        process.wait(10)
    finally:
        process.kill()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    # The engine worker notices that its parent is gone and ends too.
    _, alive = psutil.wait_procs(helpers, timeout=15)
    for leftover in alive:
        leftover.kill()
    assert not alive
    kept = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert 3 <= len(kept) < 80
    first_records = {(r["task_id"], r["seed"]): r for r in map(json.loads, kept)}

    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env(), check=False)
    assert result.returncode == 0, result.stderr
    lines = _json_lines(result.stdout)
    assert lines[0] == {"type": "start", "total": 80, "resumed": len(kept)}
    assert sum(1 for line in lines if line["type"] == "progress") == 80 - len(kept)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["complete"] and report["tasks_finished"] == 80
    assert len(report["sessions"]) == 1  # the killed session never got to record itself
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len({(r["task_id"], r["seed"]) for r in records}) == len(records) == 80
    for record in report["tasks"]:  # kept results were not redone
        key = (record["task_id"], record["seed"])
        if key in first_records:
            assert record["output"] == first_records[key]["output"]


def test_compare_prints_two_runs_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "gsm8k", "--canonical", "--out", str(tmp_path / "a")]) == 0
    assert main(["eval", "gsm8k", "--empty", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["eval", "compare", str(tmp_path / "a" / "report.json"), str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    assert "100.0% (10/10)" in text and "0.0% (0/10)" in text
    assert "Passed only in A: gsm8k/0#1" in text
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["passed_only_in_a"]) == 10


def test_refusals_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "gsm8k"]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["eval", "gsm8k", "--canonical", "--data", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", "gsm8k", "--canonical", "--workers", "0"]) == 2
    assert "Workers" in capsys.readouterr().err
    assert main(["eval", "compare", str(tmp_path), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no report" in err and err.count("\n") == 1
    (tmp_path / "bad.jsonl").write_text('{"question": "q", "answer": "no marker"}\n', encoding="utf-8")
    assert main(["eval", "gsm8k", "--canonical", "--data", str(tmp_path / "bad.jsonl")]) == 2
    assert "Line 1" in capsys.readouterr().err
    assert main(["eval", "gsm8k", "--canonical", "--out", str(tmp_path / "x")]) == 0
    assert main(["eval", "gsm8k", "--canonical", "--out", str(tmp_path / "x"), "--timeout", "3"]) == 2
    assert "other settings" in capsys.readouterr().err


def _start_long_run(model: Path, out: Path) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "app", "eval", "gsm8k", "--model", str(model), "--max-tokens", "48",
            "--threads", "1", "--seeds", "1,2,3,4,5,6,7,8", "--out", str(out), "--json"]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


def _wait_for_progress(process: subprocess.Popen[str], count: int) -> None:
    assert process.stdout is not None
    seen = 0
    for line in process.stdout:
        if json.loads(line).get("type") == "progress":
            seen += 1
            if seen == count:
                return
    raise AssertionError("the run ended before it was interrupted")


def test_sigterm_cancels_cleanly_with_a_partial_report(qwen3_gguf: Path, tmp_path: Path) -> None:
    process = _start_long_run(qwen3_gguf, tmp_path)
    try:
        _wait_for_progress(process, 3)
        helpers = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "cancelled" in err and "Traceback" not in err
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert not report["complete"] and 3 <= report["tasks_finished"] < 80
    assert report["sessions"][-1]["cancelled"]
    _, alive = psutil.wait_procs(helpers, timeout=10)
    assert not alive


def test_an_engine_crash_keeps_the_results_and_says_so(qwen3_gguf: Path, tmp_path: Path) -> None:
    process = _start_long_run(qwen3_gguf, tmp_path)
    try:
        _wait_for_progress(process, 3)
        workers = [p for p in psutil.Process(process.pid).children() if "resource_tracker" not in " ".join(p.cmdline())]
        assert workers
        for worker in workers:
            worker.kill()
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, err
    assert "stopped unexpectedly" in err and "run again to continue" in err and err.count("\n") == 1
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert not report["complete"] and report["tasks_finished"] >= 3


def test_a_mixture_of_experts_model_over_seeds(qwen3moe_gguf: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "eval", "math", "--model", str(qwen3moe_gguf), "--limit", "2", "--max-tokens",
         "24", "--threads", "1", "--seeds", "5,6,7", "--out", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=180, env=_env(), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["model"]["is_moe"] and report["model"]["experts"] == 4 and report["model"]["experts_used"] == 2
    spread = report["summary"]["across_seeds"]
    assert sorted(spread["per_seed"]) == ["5", "6", "7"] and spread["sd"] is not None
    assert "Mixture of experts | 4 experts, 2 used" in (tmp_path / "report.md").read_text(encoding="utf-8")
