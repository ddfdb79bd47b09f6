"""The quillpad command: inspect, --version, refusals as one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from tests.fixtures.malformed_gguf import corpus, small_valid_bytes, write_unknown_arch


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the installed command as a user would, in a clean environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@pytest.mark.parametrize(
    ("fixture", "arch", "flags"),
    [
        ("qwen3_gguf", "qwen3", ("Q8_0", "yes, with a thinking switch", "none (dense model)")),
        ("qwen3moe_gguf", "qwen3moe", ("F32", "4, 2 used per token")),
        ("no_template_gguf", "qwen3", ("none (plain completion prompts)",)),
    ],
)
def test_inspect_table(fixture: str, arch: str, flags: tuple[str, ...], request: pytest.FixtureRequest) -> None:
    result = run_cli("inspect", str(request.getfixturevalue(fixture)))
    assert result.returncode == 0, result.stderr
    assert f"Architecture    {arch}\n" in result.stdout
    for flag in flags:
        assert flag in result.stdout
    assert result.stderr == ""


def test_inspect_json(qwen3moe_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--json", str(qwen3moe_gguf)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["architecture"] == "qwen3moe"
    assert data["is_moe"] and data["expert_count"] == 4 and data["experts_used"] == 2
    assert data["supports_thinking_switch"] is True
    assert data["ram_estimate"]["context_length"] == 4096


def test_inspect_template_option(qwen3_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--no-load-check", "--template", str(qwen3_gguf)]) == 0
    assert "enable_thinking" in capsys.readouterr().out


@pytest.mark.parametrize("case", corpus(small_valid_bytes()), ids=lambda c: c.name)
def test_refusals_in_process(case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.gguf"
    path.write_bytes(case.data)
    assert main(["inspect", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("quillpad: ")


@pytest.mark.parametrize(
    "case_name", ["empty", "bad-magic", "version-99", "kv-count-2^63", "key-length-2^63", "tensor-data-cut"]
)
def test_refusals_as_a_user_sees_them(case_name: str, tmp_path: Path) -> None:
    case = next(c for c in corpus(small_valid_bytes()) if c.name == case_name)
    path = tmp_path / "bad.gguf"
    path.write_bytes(case.data)
    # A hang shows as the subprocess timeout; no wall-clock assertion (the machine may be busy).
    result = run_cli("inspect", str(path), timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_unknown_architecture_exits_2(tmp_path: Path) -> None:
    result = run_cli("inspect", str(write_unknown_arch(tmp_path / "alien.gguf")))
    assert result.returncode == 2
    assert "cannot run" in result.stderr and len(result.stderr.splitlines()) == 1


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "missing.gguf")]) == 2
    assert "no model file" in capsys.readouterr().err


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Quillpad ")
    assert lines[1] == "llama-cpp-python 0.3.36"
    assert lines[2].startswith("llama.cpp ") and "ggml" not in lines[2]  # llama.cpp's own version (public API)
    assert lines[3].startswith("llama.cpp build: ")
    assert lines[4].startswith("GPU offload: ")


def test_unexpected_error_goes_to_log_not_user(monkeypatch: pytest.MonkeyPatch, capsys, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail")

    monkeypatch.setattr("app.cli.inspect.inspect_model", boom)
    assert main(["inspect", "x.gguf"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "details are in" in err
    log_text = (isolated_home / "data" / "logs" / "quillpad.log").read_text()
    assert "RuntimeError: internal detail" in log_text
