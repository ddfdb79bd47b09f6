"""``quillpad screenshot`` and ``quillpad selftest`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from app.ui.shell.scripted_session import wait_for_signal


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )


def test_screenshot_shows_a_streamed_reply(tmp_path: Path, qwen3_gguf: Path) -> None:
    source = tmp_path / "prime.py"
    source.write_text("def is_prime(n: int) -> bool:\n    return n > 1 and all(n % d for d in range(2, n))\n")
    out = tmp_path / "shot.png"
    result = run_cli(
        "screenshot", "--out", str(out), "--model", str(qwen3_gguf), "--open", str(source), "--prompt", "hello"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout
    plugins = "agenttools (enabled), codegen (enabled), math (enabled), testrunner (enabled)"
    assert f"ok     load plugins: {plugins}" in result.stdout
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 600


def test_selftest_fails_cleanly_on_a_bad_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    result = run_cli("selftest", "--model", str(bad))
    assert result.returncode == 1
    assert "FAILED load model" in result.stdout and "Traceback" not in result.stderr
    preferred = "inotify" if sys.platform.startswith("linux") else "native"
    assert f"ok     watch for changes: {preferred} (probe event after " in result.stdout


def test_screenshot_of_the_models_window_in_the_dark_theme(tmp_path: Path) -> None:
    """The visual checks of issue 26: a dialog on its own, in a chosen theme."""
    out = tmp_path / "models.png"
    result = run_cli("screenshot", "--out", str(out), "--theme", "dark", "--show", "models")
    assert result.returncode == 0, result.stdout + result.stderr
    image = QImage(str(out))
    assert not image.isNull() and image.width() < 1400  # the Models window, not the main window
    assert image.pixelColor(image.width() // 2, image.height() - 5).lightness() < 100  # dark


class _Source(QObject):
    changed = Signal(bool)


def test_wait_for_signal_checks_only_when_the_signal_fires(qtbot: object) -> None:
    source = _Source()
    state = {"busy": True, "checks": 0}

    def idle() -> bool:
        state["checks"] += 1
        return not state["busy"]

    def finish() -> None:
        state["busy"] = False
        source.changed.emit(False)

    source.changed.emit(True)  # before the wait: not seen
    QTimer.singleShot(50, lambda: source.changed.emit(True))  # fires, but the condition does not hold yet
    QTimer.singleShot(300, finish)
    assert wait_for_signal(source.changed, idle, timeout=10)
    # One check up front, one per emission, one at the end: no polling in between.
    assert state["checks"] == 4


def test_wait_for_signal_gives_up_after_the_timeout(qtbot: object) -> None:
    source = _Source()
    started = time.monotonic()
    assert not wait_for_signal(source.changed, lambda: False, timeout=0.2)
    assert 0.15 < time.monotonic() - started < 5
    assert wait_for_signal(source.changed, lambda: True, timeout=0)  # already true: no wait at all
