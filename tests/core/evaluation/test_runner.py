"""Runs with a scripted model: scoring, thinking, seeds, resumption, cancel, reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.core.engine.options import ChatMessage
from app.core.evaluation.compare import compare_reports, comparison_text
from app.core.evaluation.datasets import load_dataset
from app.core.evaluation.report import load_report
from app.core.evaluation.runner import EvalConfig, EvalRun, ModelSetup, Progress
from app.core.evaluation.store import RunStoreError
from tests.fixtures.scripted_model import ScriptedModel

GSM = load_dataset("gsm8k")
ANSWERS = {task.prompt: task.answer for task in GSM.tasks}

SETUP = ModelSetup(
    facts={
        "file_name": "scripted.gguf",
        "size_bytes": 1,
        "sha256": "0" * 64,
        "name": "Scripted",
        "architecture": "qwen3",
        "parameters": 1,
        "quantization": "Q8_0",
        "is_moe": False,
        "experts": None,
        "experts_used": None,
        "training_context": 4096,
        "gguf_version": 3,
        "metadata": {"general.name": "Scripted"},
    },
    load={"context_length": 4096, "threads": 1, "gpu_layers": 0, "flash_attention": False, "batch_size": 512},
    sampling={"temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": 0.0},
    thinking=True,
    profile="Qwen3",
)


def question(messages: Sequence[ChatMessage]) -> str:
    return messages[-1].content.rsplit("\nPlease reason", 1)[0]


def right_on_even_tasks(messages: Sequence[ChatMessage]) -> str:
    """Right on tasks 0, 2, 4, ... (by position in the sample), wrong otherwise."""
    index = next(i for i, t in enumerate(GSM.tasks) if t.prompt == question(messages))
    answer = ANSWERS[question(messages)] if index % 2 == 0 else "-1"
    return f"Working it out step by step.\nSo the result is $\\boxed{{{answer}}}$."


def test_a_scripted_run_scores_strips_thinking_and_reports(tmp_path: Path) -> None:
    model = ScriptedModel([right_on_even_tasks] * 10, thinking="hmm, let me think about it")
    progress: list[Progress] = []
    run = EvalRun(
        EvalConfig("gsm8k", workers=2), GSM, tmp_path / "run", client=model, setup=SETUP, on_progress=progress.append
    )
    outcome = run.run()
    report = outcome.report
    assert not outcome.cancelled and report["complete"]
    assert report["summary"]["pooled"]["passed"] == 5
    assert report["summary"]["pooled"]["total"] == 10
    low, high = report["summary"]["pooled"]["ci95"]
    assert 0.2 < low < 0.5 < high < 0.8
    first = next(r for r in report["tasks"] if r["task_id"] == "gsm8k/0")
    assert first["passed"] and first["extracted"] == "7" and first["method"] == "boxed"
    assert first["thinking"] == "hmm, let me think about it"
    assert first["thinking_chars"] == len("hmm, let me think about it")
    assert "hmm" not in first["output"]
    assert "Please reason step by step, and put your final answer within \\boxed{}." in first["prompt"]
    # The model was asked with the configured seed and thinking mode.
    options = [options for _, options in model.requests]
    assert {o.seed for o in options} == {1} and {o.thinking for o in options} == {True}
    assert [p.done for p in progress] == list(range(0, 11))


def test_report_contents(tmp_path: Path) -> None:
    model = ScriptedModel([right_on_even_tasks] * 6)
    EvalRun(EvalConfig("gsm8k", seeds=(1, 2), limit=3, max_tokens=512), GSM, tmp_path, client=model, setup=SETUP).run()
    report = load_report(tmp_path)
    assert report["model"]["file_name"] == "scripted.gguf" and report["model"]["sha256"] == "0" * 64
    assert report["model"]["quantization"] == "Q8_0" and report["model"]["metadata"]
    assert report["settings"]["sampling"]["temperature"] == 0.6
    assert report["settings"]["thinking"] is True
    assert report["settings"]["seeds"] == [1, 2]
    assert report["settings"]["load"]["context_length"] == 4096
    assert report["settings"]["max_tokens"] == 512
    assert report["software"]["llama_cpp_python"] == "0.3.36"
    assert report["software"]["llama_cpp"]
    assert report["hardware"]["logical_cores"] >= 1 and report["hardware"]["ram_bytes"] > 0
    assert report["wall_seconds"] > 0
    assert report["dataset"]["sha256"] == GSM.sha256 and report["dataset"]["selected"] == 3
    assert report["summary"]["per_seed"]["1"]["passed"] == 2  # tasks 0 and 2 of 0, 1, 2
    assert report["summary"]["across_seeds"]["mean"] == pytest.approx(2 / 3)
    assert report["summary"]["across_seeds"]["sd"] == pytest.approx(0.0)
    for record in report["tasks"]:
        assert {"task_id", "seed", "prompt", "output", "extracted", "passed", "reason", "thinking_chars"} <= set(record)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "pass@1 66.7% (4/6)" in markdown and "scripted.gguf" in markdown and "0.3.36" in markdown
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<table>" in html and "scripted.gguf" in html


def test_seeds_that_disagree_give_a_spread(tmp_path: Path) -> None:
    def by_seed(messages: Sequence[ChatMessage]) -> str:
        return "\\boxed{7}"  # right only on gsm8k/0

    model = ScriptedModel([by_seed] * 4)
    report = EvalRun(EvalConfig("gsm8k", seeds=(3, 4), limit=2), GSM, tmp_path, client=model, setup=SETUP).run().report
    assert report["summary"]["across_seeds"]["per_seed"] == {"3": 0.5, "4": 0.5}
    assert {o.seed for _, o in model.requests} == {3, 4}


def test_a_stopped_run_continues_where_it_stopped(tmp_path: Path) -> None:
    model = ScriptedModel([right_on_even_tasks] * 10)
    run = EvalRun(EvalConfig("gsm8k", workers=1), GSM, tmp_path, client=model, setup=SETUP)

    def cancel_after_four(progress: Progress) -> None:
        if progress.done == 4:
            run.cancel()

    run.on_progress = cancel_after_four
    outcome = run.run()
    assert outcome.cancelled and not outcome.report["complete"]
    finished = outcome.report["tasks_finished"]
    assert 4 <= finished < 10
    assert model.stopped
    # The same settings again: only the rest is asked.
    again = ScriptedModel([right_on_even_tasks] * 10)
    seen: list[Progress] = []
    report = (
        EvalRun(EvalConfig("gsm8k", workers=1), GSM, tmp_path, client=again, setup=SETUP, on_progress=seen.append)
        .run()
        .report
    )
    assert len(again.requests) == 10 - finished
    assert seen[0].resumed == finished
    assert report["complete"] and report["summary"]["pooled"]["passed"] == 5
    assert len(report["sessions"]) == 2 and report["sessions"][0]["cancelled"]
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10


def test_a_torn_last_line_is_ignored_and_redone(tmp_path: Path) -> None:
    EvalRun(
        EvalConfig("gsm8k", limit=3), GSM, tmp_path, client=ScriptedModel([right_on_even_tasks] * 3), setup=SETUP
    ).run()
    results = tmp_path / "results.jsonl"
    lines = results.read_text(encoding="utf-8").splitlines()
    results.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2], encoding="utf-8")
    again = ScriptedModel([right_on_even_tasks])
    report = EvalRun(EvalConfig("gsm8k", limit=3), GSM, tmp_path, client=again, setup=SETUP).run().report
    assert len(again.requests) == 1 and report["complete"]
    assert sorted(r["task_id"] for r in report["tasks"]) == ["gsm8k/0", "gsm8k/1", "gsm8k/2"]


def test_other_settings_are_refused_unless_fresh(tmp_path: Path) -> None:
    EvalRun(EvalConfig("gsm8k", limit=1), GSM, tmp_path, client=ScriptedModel([right_on_even_tasks]), setup=SETUP).run()
    with pytest.raises(RunStoreError, match="other settings"):
        EvalRun(EvalConfig("gsm8k", limit=1, max_tokens=99), GSM, tmp_path, client=ScriptedModel([]), setup=SETUP).run()
    fresh = ScriptedModel([right_on_even_tasks])
    report = (
        EvalRun(EvalConfig("gsm8k", limit=1, max_tokens=99, fresh=True), GSM, tmp_path, client=fresh, setup=SETUP)
        .run()
        .report
    )
    assert len(fresh.requests) == 1 and report["settings"]["max_tokens"] == 99
    # A larger limit with the same settings adds to the run.
    more = ScriptedModel([right_on_even_tasks] * 2)
    report = EvalRun(EvalConfig("gsm8k", limit=3, max_tokens=99), GSM, tmp_path, client=more, setup=SETUP).run().report
    assert len(more.requests) == 2 and report["tasks_finished"] == 3


def test_model_errors_fail_the_task_with_the_reason(tmp_path: Path) -> None:
    model = ScriptedModel(["\\boxed{7}"], error="The prompt is longer than the context.")
    report = EvalRun(EvalConfig("gsm8k", limit=1), GSM, tmp_path, client=model, setup=SETUP).run().report
    record = report["tasks"][0]
    assert not record["passed"]
    assert record["reason"] == "model error: The prompt is longer than the context."


def test_code_tasks_with_a_scripted_model(tmp_path: Path) -> None:
    mbpp = load_dataset("mbpp")
    references = {t.prompt: t.reference for t in mbpp.tasks}

    def solve(messages: Sequence[ChatMessage]) -> str:
        text = messages[-1].content
        task = next(prompt for prompt in references if prompt in text)
        return f"Sure.\n```python\n{references[task]}\n```"

    report = (
        EvalRun(EvalConfig("mbpp", limit=4, workers=2), mbpp, tmp_path, client=ScriptedModel([solve] * 4), setup=SETUP)
        .run()
        .report
    )
    assert report["summary"]["pooled"]["passed"] == 4
    assert all(r["method"] == "code block" for r in report["tasks"])


def test_compare_two_runs(tmp_path: Path) -> None:
    EvalRun(
        EvalConfig("gsm8k", limit=4), GSM, tmp_path / "a", client=ScriptedModel([right_on_even_tasks] * 4), setup=SETUP
    ).run()
    EvalRun(
        EvalConfig("gsm8k", limit=4), GSM, tmp_path / "b", client=ScriptedModel(["\\boxed{14}"] * 4), setup=SETUP
    ).run()
    comparison = compare_reports(load_report(tmp_path / "a"), load_report(tmp_path / "b" / "report.json"))
    assert comparison["passed_only_in_a"] == ["gsm8k/0#1", "gsm8k/2#1"]
    assert comparison["passed_only_in_b"] == ["gsm8k/1#1"]
    rows = {row["field"]: row for row in comparison["rows"]}
    assert rows["pass@1"]["a"].startswith("50.0%") and rows["pass@1"]["b"].startswith("25.0%")
    assert rows["pass@1"]["differs"] and not rows["model file"]["differs"]
    text = comparison_text(comparison)
    assert "* pass@1" in text and "Passed only in B: gsm8k/1#1" in text


def test_results_file_is_one_json_object_per_line(tmp_path: Path) -> None:
    EvalRun(
        EvalConfig("gsm8k", limit=2), GSM, tmp_path, client=ScriptedModel([right_on_even_tasks] * 2), setup=SETUP
    ).run()
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["task_id"], r["seed"]) for r in records] == [("gsm8k/0", 1), ("gsm8k/1", 1)]
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["model_sha256"] == "0" * 64
