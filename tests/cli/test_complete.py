"""``quillpad complete FILE --line L --column C``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.fixtures.tiny_gguf import CODER_NO_FIM, write_coder_model


def test_complete_prints_json_with_timing(coder_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "consts.py").write_text("LIMIT = 10\n")
    source = tmp_path / "main.py"
    source.write_text("from consts import LIMIT\n\ndef check(n):\n    return n < \n")
    args = ["complete", str(source), "--line", "4", "--column", "16", "--model", str(coder_gguf)]
    assert main([*args, "--json", "--show-prompt", "--max-tokens", "6"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "Qwen2.5-Coder / Qwen3-Coder"
    assert data["related_files"] == ["consts.py"]
    assert data["prompt"].endswith(
        "<|fim_prefix|>from consts import LIMIT\n\ndef check(n):\n    return n < <|fim_suffix|>\n<|fim_middle|>"
    )
    assert "<|file_sep|>consts.py\nLIMIT = 10\n" in data["prompt"]
    assert 0 < data["generated_tokens"] <= 6 and data["seconds_total"] > 0
    assert main(args) == 0
    assert "ms" in capsys.readouterr().err


def test_complete_refuses_bad_input(coder_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    assert main(["complete", str(binary), "--line", "1", "--column", "1", "--model", str(coder_gguf)]) == 2
    assert "binary" in capsys.readouterr().err
    text = tmp_path / "a.py"
    text.write_text("x = 1\n")
    no_fim = write_coder_model(tmp_path / "no-fim.gguf", CODER_NO_FIM)
    assert main(["complete", str(text), "--line", "1", "--column", "1", "--model", str(no_fim)]) == 2
    assert "no fill-in-the-middle tokens" in capsys.readouterr().err
    assert main(["complete", str(text), "--line", "0", "--column", "1", "--model", str(coder_gguf)]) == 2
    assert main(["complete", str(text), "--line", "1", "--column", "1"]) == 2
    assert "No completion model is chosen" in capsys.readouterr().err
