"""Shared fixtures: an isolated app home, tiny GGUF models, hygiene checks."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before anything reads them: tests must never touch the real user's
# config, and Qt must not need a display.
os.environ["QUILLPAD_HOME"] = tempfile.mkdtemp(prefix="quillpad-test-home-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
# API keys go to an in-memory keyring, never the real user's.
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.fixtures.memory_keyring.MemoryKeyring"
# The tests' own HOME and git identity: a machine without a global git identity
# (or with a signing key, hooks or aliases in its config) must pass the same.
from tests.fixtures.hermetic import hermetic_environment

hermetic_environment(os.environ, Path(tempfile.mkdtemp(prefix="quillpad-test-user-home-")))

from tests.fixtures.tiny_gguf import QWEN3, QWEN3_MOE, QWEN3_NO_TEMPLATE, QWEN3_SLOW, write_tiny_model  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty config/data/cache folder."""
    home = tmp_path / "quillpad-home"
    monkeypatch.setenv("QUILLPAD_HOME", str(home))
    for var in ("QUILLPAD_CONFIG_DIR", "QUILLPAD_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def no_starter(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the starter extra were not installed (the shared test venv may have the real one)."""
    from app.core.models import starter

    monkeypatch.setattr(starter, "DISTRIBUTION", "quillpad-test-no-such-starter")


def _python_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    """Fail a test that leaves threads or child processes running."""
    before = _python_threads()
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = _python_threads() - before
        children = multiprocessing.active_children()
        if not extra and not children:
            return
        time.sleep(0.05)
    raise AssertionError(f"test left running: threads={sorted(t.name for t in extra)}, processes={children}")


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def qwen3_gguf(tiny_models_dir: Path) -> Path:
    """A tiny Qwen3 dense model (Q8_0) with a ChatML template and thinking switch."""
    return write_tiny_model(tiny_models_dir / "tiny-qwen3.gguf", QWEN3)


@pytest.fixture(scope="session")
def qwen3moe_gguf(tiny_models_dir: Path) -> Path:
    """A tiny Qwen3 mixture-of-experts model (4 experts, 2 used)."""
    return write_tiny_model(tiny_models_dir / "tiny-qwen3moe.gguf", QWEN3_MOE)


@pytest.fixture(scope="session")
def no_template_gguf(tiny_models_dir: Path) -> Path:
    """A tiny Qwen3 model without a chat template (a base model)."""
    return write_tiny_model(tiny_models_dir / "tiny-qwen3-base.gguf", QWEN3_NO_TEMPLATE)


@pytest.fixture(scope="session")
def slow_gguf(tiny_models_dir: Path) -> Path:
    """A larger (27 MB) Qwen3 model whose long prompts take seconds to process
    on one thread: for stopping during prompt processing."""
    return write_tiny_model(tiny_models_dir / "slow-qwen3.gguf", QWEN3_SLOW)


@pytest.fixture(scope="session")
def readable_app() -> Iterator[str]:
    """A copy of ``app/`` that an unprivileged user can read (see tests/fixtures/normal_user.py)."""
    from tests.fixtures.normal_user import readable_app_copy

    folder = readable_app_copy()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def coder_gguf(tiny_models_dir: Path) -> Path:
    """A tiny Qwen2.5-Coder-shaped model with the FIM and repository tokens (and their metadata keys)."""
    from tests.fixtures.tiny_gguf import TINY_CODER, write_coder_model

    return write_coder_model(tiny_models_dir / "tiny-qwen2.5-coder.gguf", TINY_CODER)


@pytest.fixture
def parsed_lengths(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The length of every text the chat's Markdown parser parses during the test."""
    from app.core.chat_render.markdown import parser

    md = parser()
    lengths: list[int] = []
    original = md.parse

    def counting_parse(src: str, env: object = None) -> object:
        lengths.append(len(src))
        return original(src, env)  # type: ignore[arg-type]

    monkeypatch.setattr(md, "parse", counting_parse)
    yield lengths
