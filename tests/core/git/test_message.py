"""Commit messages from the model: prompt, thinking stripped, large diffs summarised."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.engine import LoadOptions
from app.core.engine.owner import EngineOwner
from app.core.git import build_prompt, clean_answer, commit, find_repository, propose_message, stage, staged_diff
from app.core.git.message import SUMMARY_LIMIT, summarise_diff
from app.core.plugins.contributions import AskOptions
from app.core.plugins.model import EngineModelClient
from tests.core.git.conftest import GitRunner
from tests.fixtures.scripted_model import ScriptedModel

REPLY = "Greet the world politely\n\nThe greeting now says hello to everyone instead of printing a bare word."


def _staged_repo(repo_dir: Path) -> str:
    repo = find_repository(repo_dir)
    assert repo is not None
    (repo_dir / "app.py").write_text("print('hello, world')\n")
    stage(repo, ["app.py"])
    return staged_diff(repo)


def test_scripted_message_is_committed(repo_dir: Path, git: GitRunner) -> None:
    diff = _staged_repo(repo_dir)
    model = ScriptedModel([REPLY], thinking="Let me look at the diff first.", inline_thinking=True)
    message = propose_message(model, diff)
    assert message.summary == "Greet the world politely"
    assert message.body.startswith("The greeting now says hello") and "<think>" not in message.text
    assert message.notice is None
    prompt = model.last_prompt
    assert "+print('hello, world')" in prompt and "summary line" in prompt
    _, options = model.requests[-1]
    assert options.thinking is False
    repo = find_repository(repo_dir)
    assert repo is not None
    commit(repo, message.text)
    assert git(repo_dir, "log", "-1", "--format=%B").strip() == message.text.strip()


@pytest.mark.parametrize(
    ("answer", "summary", "body"),
    [
        ("<think>\nhmm\n</think>\n\nFix the parser\n\nIt crashed.", "Fix the parser", "It crashed."),
        ("```\nAdd tests.\n\nMore of them.\n```", "Add tests", "More of them."),
        ("Commit message: Update docs\nBody line", "Update docs", "Body line"),
        ('"Quote it"', "Quote it", ""),
        ("reasoning only</think>Tidy up", "Tidy up", ""),
    ],
)
def test_cleaning_answers(answer: str, summary: str, body: str) -> None:
    message = clean_answer(answer)
    assert (message.summary, message.body) == (summary, body)


def test_long_summary_is_cut_at_a_word_and_the_rest_kept() -> None:
    words = "Refactor the configuration loader so that it reads every file only once and caches the result"
    message = clean_answer(words)
    assert len(message.summary) <= SUMMARY_LIMIT and words.startswith(message.summary)
    assert message.body.endswith("caches the result")


def test_an_empty_answer_gets_a_summary_from_the_file_names(repo_dir: Path) -> None:
    diff = _staged_repo(repo_dir)
    message = clean_answer("<think>\nstill thinking when it was cut off", diff)
    assert message.summary == "Update app.py" and message.notice is not None


def test_a_diff_too_large_is_summarised_per_file_with_a_notice(repo_dir: Path) -> None:
    repo = find_repository(repo_dir)
    assert repo is not None
    for number in range(12):
        (repo_dir / f"module_{number}.py").write_text("".join(f"value_{i} = {i}\n" for i in range(400)))
    stage(repo, ["."])
    diff = staged_diff(repo)
    assert len(diff) > 50_000
    prompt = build_prompt(diff, budget=4_000)
    assert prompt.summarised and prompt.notice is not None and "too large" in prompt.notice
    text = prompt.messages[1].content
    assert len(text) < 4_500 and "module_0.py (+400 -0)" in text and "module_11.py (+400 -0)" in text
    model = ScriptedModel(["Add twelve modules"])
    message = propose_message(model, diff, budget=4_000)
    assert message.summary == "Add twelve modules" and message.notice == prompt.notice
    assert len(summarise_diff(diff, 300)) <= 300


def test_real_tiny_model_writes_a_structured_message(repo_dir: Path, qwen3_gguf: Path) -> None:
    diff = _staged_repo(repo_dir)
    with EngineOwner() as owner:
        owner.load(qwen3_gguf, LoadOptions(threads=1))
        client = EngineModelClient(owner, purpose="commit message")
        message = propose_message(client, diff, AskOptions(thinking=True, max_tokens=24, seed=3))
    # Random weights: random words, but always a usable message.
    assert message.summary.strip() and "\n" not in message.summary and len(message.summary) <= SUMMARY_LIMIT
    assert "<think>" not in message.text and "</think>" not in message.text
    assert message.text.endswith("\n")
