"""Issue 26 problem 6: the window's shortcuts reach it, with or without a window manager."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.shell.application import present
from app.ui.shell.main_window import MainWindow


def test_ctrl_shift_m_opens_manage_models(make_window: Callable[[], MainWindow], qtbot: QtBot) -> None:
    window = make_window()
    present(window)  # what `quillpad` does: without a window manager nothing else activates the window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    assert window.model_manager.dialog is None
    qtbot.keyClick(
        window.chat.input, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    qtbot.waitUntil(lambda: window.model_manager.dialog is not None and window.model_manager.dialog.isVisible())
    window.model_manager.dialog.close()
