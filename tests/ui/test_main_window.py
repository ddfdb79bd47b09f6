"""The main window: welcome page and the model inspector, offscreen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow
from tests.fixtures.malformed_gguf import small_valid_bytes


def _window(qtbot: QtBot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    return window


def test_welcome_page_explains_how_to_get_a_model(qtbot: QtBot) -> None:
    window = _window(qtbot)
    text = window.welcome.text()
    assert "Open a GGUF file" in text and "Download" in text and "starter model" in text
    assert window.model_label.text() == "No model loaded."


def test_inspecting_a_model_shows_its_facts(qtbot: QtBot, qwen3_gguf: Path) -> None:
    window = _window(qtbot)
    window.inspect_model(str(qwen3_gguf))
    qtbot.waitUntil(lambda: "Tiny Qwen3" in window.model_label.text(), timeout=30_000)
    assert "qwen3" in window.model_label.text() and "Q8_0" in window.model_label.text()
    QThreadPool.globalInstance().waitForDone(5000)


def test_a_refused_file_is_a_readable_message(qtbot: QtBot, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(small_valid_bytes()[:100])
    window = _window(qtbot)
    window.inspect_model(str(bad))
    qtbot.waitUntil(lambda: "is damaged" in window.model_label.text(), timeout=10_000)
    assert "Traceback" not in window.model_label.text()
    QThreadPool.globalInstance().waitForDone(5000)
