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


def test_ctrl_enter_sends_while_the_slash_popup_is_open(qtbot: QtBot) -> None:
    """Issue 26 problem 6: it only completed the word; the keys go to the open popup first, as here."""
    box = make(qtbot)
    qtbot.keyClicks(box, "/hel")
    popup = box.completer.popup()
    assert popup.isVisible()
    with qtbot.waitSignal(box.sendRequested):
        qtbot.keyClick(popup, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not popup.isVisible() and box.toPlainText() == "/hel"
    qtbot.keyClicks(box, "p")
    assert popup.isVisible()
    with qtbot.waitSignal(box.sendRequested):
        qtbot.keyClick(box, Qt.Key.Key_Enter, Qt.KeyboardModifier.ControlModifier)  # the keypad's Enter too


def test_plain_enter_in_the_popup_still_completes(qtbot: QtBot) -> None:
    box = make(qtbot)
    qtbot.keyClicks(box, "/ex")
    with qtbot.assertNotEmitted(box.sendRequested):
        qtbot.keyClick(box.completer.popup(), Qt.Key.Key_Return)
    assert box.toPlainText() == "/explain "
