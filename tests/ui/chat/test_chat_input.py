"""The chat box: keys, and @file / slash-command completion."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.chat.chat_input import ChatInput

FILES = ["app/core/engine/client.py", "app/cli.py", "README.md"]


def make(qtbot: QtBot) -> ChatInput:
    box = ChatInput()
    qtbot.addWidget(box)
    box.show()
    box.set_completion_source("@", lambda prefix: [f for f in FILES if prefix.lower() in f.lower()])
    box.set_completion_source(
        "/", lambda prefix: [c for c in ("gen", "explain", "edit", "help") if c.startswith(prefix)]
    )
    return box


def test_keys(qtbot: QtBot) -> None:
    box = make(qtbot)
    with qtbot.waitSignal(box.editLastRequested):
        qtbot.keyClick(box, Qt.Key.Key_Up)
    qtbot.keyClicks(box, "hello")
    with qtbot.waitSignal(box.sendRequested):
        qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(box.stopRequested):
        qtbot.keyClick(box, Qt.Key.Key_Escape)


def test_at_path_completion(qtbot: QtBot) -> None:
    box = make(qtbot)
    qtbot.keyClicks(box, "look at @clie")
    assert box.completer.popup().isVisible()
    assert box.completer.model().stringList() == ["app/core/engine/client.py"]
    qtbot.keyClick(box, Qt.Key.Key_Tab)
    assert box.toPlainText() == "look at @app/core/engine/client.py "
    assert not box.completer.popup().isVisible()


def test_slash_only_at_the_start(qtbot: QtBot) -> None:
    box = make(qtbot)
    qtbot.keyClicks(box, "/ge")
    assert box.completer.model().stringList() == ["gen"]
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.toPlainText() == "/gen "
    box.clear()
    qtbot.keyClicks(box, "a path a/b")
    assert not box.completer.popup().isVisible()


def test_escape_closes_the_popup_without_stopping(qtbot: QtBot) -> None:
    box = make(qtbot)
    qtbot.keyClicks(box, "@READ")
    assert box.completer.popup().isVisible()
    with qtbot.assertNotEmitted(box.stopRequested):
        qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert not box.completer.popup().isVisible() and box.toPlainText() == "@READ"
