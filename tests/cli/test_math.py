"""``quillpad math check``, ``quillpad math steps`` and ``quillpad bench math``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.cli import main

CORPUS = Path(__file__).parents[1] / "fixtures" / "math_corpus"


def test_check_prints_each_mark(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["math", "check", str(CORPUS / "equations" / "03_quadratic_factor.md")]) == 0
    out = capsys.readouterr().out
    assert "✓  2 verified" in out and "Answer: ✓ answer verified" in out


def test_check_json_and_a_wrong_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "work.md"
    file.write_text("Solve $2x + 3 = 7$.\n\n$2x = 10$\n\n$\\boxed{x = 5}$\n")
    assert main(["math", "check", str(file), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    # The boxed step only follows from the wrong one: no tick for it (issue 21).
    assert [s["mark"] for s in data["steps"]] == ["given", "wrong", "follows"]
    assert data["steps"][2]["reason"] == "follows from step 2, which is wrong"
    assert data["answer"]["badge"] == "wrong"


def test_check_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["math", "check", str(tmp_path / "missing.md")]) == 2
    assert "is not a file" in capsys.readouterr().err
    assert main(["math", "check", str(CORPUS / "algebra" / "01_difference_of_squares.md"), "--limit", "0"]) == 2


def test_steps_with_the_tiny_model(qwen3_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["math", "steps", "--model", str(qwen3_gguf), "--max-tokens", "24", "--seed", "3", "Solve 2x = 4"]) == 0
    out = capsys.readouterr().out
    assert "Answer:" in out and " verified " not in out


def test_bench_math_prints_counts_and_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = tmp_path / "corpus"
    small.mkdir()
    for name in ("equations/01_linear.md", "word/01_discount.md"):
        shutil.copy(CORPUS / name, small / Path(name).name)
    assert main(["bench", "math", "--corpus", str(small)]) == 0
    out = capsys.readouterr().out
    assert "wrong marked verified    0" in out and "wrong steps caught       2 / 2" in out and "median" in out
