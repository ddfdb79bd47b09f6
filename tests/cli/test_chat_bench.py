"""``quillpad chat`` and ``quillpad bench engine`` with the tiny models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def test_chat_json_events_over_two_turns(qwen3_gguf: Path) -> None:
    result = run_cli(
        "chat", "--model", str(qwen3_gguf), "--json", "--seed", "7", "--max-tokens", "8", "--threads", "1",
        "hello", "and again",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = {e["type"] for e in events}
    assert {"text", "stats", "done"} <= types and types <= {"thinking", "text", "stats", "done", "notice"}
    stats = [e for e in events if e["type"] == "stats"]
    assert [s["turn"] for s in stats] == [1, 2]
    for key in ("prompt_tokens", "prompt_tokens_evaluated", "prompt_tokens_reused", "decode_tokens_per_second"):
        assert key in stats[0]
    assert stats[1]["prompt_tokens_reused"] > 0  # turn 2 reuses turn 1's prompt
    assert [e["reason"] for e in events if e["type"] == "done"] == ["length", "length"]


def test_chat_plain_is_deterministic_with_a_seed(qwen3_gguf: Path) -> None:
    args = ("chat", "--model", str(qwen3_gguf), "--seed", "11", "--max-tokens", "12", "--no-think", "hi")
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == 0 and first.stdout and first.stdout == second.stdout


def test_chat_refusals_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], qwen3_gguf: Path) -> None:
    assert main(["chat", "--model", str(tmp_path / "none.gguf"), "hi"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["chat", "--model", str(qwen3_gguf), "--ctx", "0", "hi"]) == 2
    err = capsys.readouterr().err
    assert "positive" in err and err.count("\n") == 1
    assert main(["chat", "--model", str(qwen3_gguf), "--max-tokens", "-3", "hi"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_chat_too_long_message(qwen3_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "--model", str(qwen3_gguf), "--ctx", "128", "--threads", "1", "word " * 300]) == 2
    assert "shorten it" in capsys.readouterr().err


def test_bench_engine_prints_its_figures(qwen3_gguf: Path) -> None:
    result = run_cli("bench", "engine", "--model", str(qwen3_gguf), "--tokens", "32", "--rounds", "2", "--threads", "1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bare llama-cpp-python" in out and "quillpad engine" in out
    assert "ratio engine/bare" in out
    turn_rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in turn_rows] == ["1", "2", "3", "4", "5"]
    assert all(row[-1] == "yes" for row in turn_rows)
    assert "stop latency" in out and "during generation:" in out
