"""Fixtures for GUI tests: a real main window with an isolated home."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.paths import app_paths
from app.core.settings import load_settings
from app.ui.shell.application import prepare_qt_environment
from app.ui.shell.main_window import MainWindow
from tests.fixtures.sample_plugin import forget_sample_modules, install_sample

prepare_qt_environment(headless=True)

# The editor's questions (save? reload? restore drafts?) would open real
# dialogs; in tests an unexpected one fails the test instead of hanging it.
QUESTIONS = (
    "ask_save_changes",
    "ask_reload",
    "ask_overwrite",
    "ask_restore_drafts",
    "ask_save_path",
    "ask_convert_to_utf8",
    "ask_line",
)


def unexpected_question(name: str) -> Callable[..., object]:
    def ask(*args: object) -> object:
        raise AssertionError(f"unexpected question {name}{args}")

    return ask


@pytest.fixture
def make_window(qtbot: QtBot, isolated_home: object) -> Iterator[Callable[[], MainWindow]]:
    """Build main windows; each is shut down (engine stopped) after the test."""
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        paths = app_paths()
        window = MainWindow(paths, load_settings(paths))
        for name in QUESTIONS:
            setattr(window.tabs, name, unexpected_question(name))
        # Not qtbot.addWidget: its own close at teardown would run before
        # this fixture could answer the unsaved-buffer question below.
        window.resize(1200, 800)
        window.show()
        qtbot.waitUntil(lambda: window.chat.view.is_ready, timeout=30_000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        # Closing at teardown may meet unsaved test buffers: throw them away.
        window.tabs.ask_save_changes = lambda titles: "discard"
        window.close()
        window.shutdown()
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app = QApplication.instance()
    if isinstance(app, QApplication):  # a dark theme must not leak into later tests
        app.setPalette(app.style().standardPalette())
        app.setStyleSheet("")


def js(qtbot: QtBot, window: MainWindow, script: str, timeout: int = 10_000) -> object:
    """Evaluate JavaScript in the chat page and return its result."""
    results: list[object] = []
    window.chat.view.page().runJavaScript(script, 0, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=timeout)
    return results[0]


def load_model(qtbot: QtBot, window: MainWindow, path: object) -> None:
    window.models.auto_load = True
    window.models.inspect(str(path))
    qtbot.waitUntil(lambda: window.chat.model_ready, timeout=60_000)


@pytest.fixture
def sample_installed(tmp_path: Path) -> Iterator[None]:
    """The sample third-party plugin, installed (a .dist-info on sys.path) before a window discovers plugins."""
    site = tmp_path / "site"
    site.mkdir()
    install_sample(site)
    sys.path.insert(0, str(site))
    yield
    sys.path.remove(str(site))
    forget_sample_modules()
