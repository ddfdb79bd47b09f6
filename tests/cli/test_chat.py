"""``quillpad chat`` over the core ChatSession: plugin prompts and context, project context, the prompt shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.chat import model_text
from app.core.chat.project_context import ProjectContextSource, context_budget, project_attachments
from app.core.engine import LoadOptions
from app.core.engine.owner import EngineOwner
from app.core.paths import app_paths
from app.core.project import Project
from tests.fixtures.sample_plugin import forget_sample_modules, install_sample
from tests.ui.project.test_project_in_window import make_project


def _events(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def _prompt(events: list[dict[str, object]], turn: int = 1) -> str:
    return str(next(e["text"] for e in events if e["type"] == "prompt" and e["turn"] == turn))


ARGS = ["chat", "--no-think", "--max-tokens", "4", "--seed", "1", "--threads", "1", "--json", "--show-prompt"]


def test_a_third_party_plugins_system_prompt_and_context_reach_the_model(
    qwen3_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_sample(site)
    monkeypatch.syspath_prepend(str(site))
    try:
        assert main([*ARGS, "--model", str(qwen3_gguf), "hello", "and again"]) == 0
    finally:
        forget_sample_modules()
    events = _events(capsys)
    prompt = _prompt(events)
    assert prompt.startswith("<|im_start|>system\nAnswer like a sample.<|im_end|>")
    assert "hello" + "\n\n---\nAttached context:\nSample (sample):\n```\ncontext for hello\n```" in prompt
    second = _prompt(events, 2)
    assert "context for hello" in second and "context for and again" in second  # history keeps its context
    assert [e["reason"] for e in events if e["type"] == "done"] == ["length", "length"]


def test_the_mode_and_the_users_own_system_prompt(qwen3_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--model", str(qwen3_gguf), "--mode", "math", "--system", "Be terse.", "2+2?"]) == 0
    system = _prompt(_events(capsys)).split("<|im_end|>")[0]
    assert system.startswith("<|im_start|>system\nBe terse.\n\n")  # then the math plugin's instruction
    assert "boxed" in system


def test_project_context_is_attached_as_the_window_attaches_it(
    qwen3_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path)
    question = "How is the total_price computed?"
    assert main([*ARGS, "--model", str(qwen3_gguf), "--project", str(root), question]) == 0
    prompt = _prompt(_events(capsys))
    assert "Context from the project shop" in prompt and "return sum(i.price for i in items)" in prompt
    assert "hunter2" not in prompt  # ignored files never go
    # The same text the window's source (the core's one assembler) makes for this model.
    with EngineOwner() as owner, Project(root, app_paths().data_dir) as project:
        loaded = owner.load(qwen3_gguf, LoadOptions(threads=1))
        from app.core.chat.project_context import measure_tokens_per_char

        ratio = measure_tokens_per_char(owner.render)
        assert ratio is not None
        project.open()
        budget = context_budget(loaded.context_length, ratio)
        source = ProjectContextSource(lambda: project, lambda: budget)
        expected = model_text(question, project_attachments(source(question)))
    assert f"<|im_start|>user\n{expected}<|im_end|>" in prompt


def test_a_missing_project_folder_is_one_sentence(
    qwen3_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "--model", str(qwen3_gguf), "--project", str(tmp_path / "nope"), "hi"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a folder" in err[0]
