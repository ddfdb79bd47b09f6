"""Inline completion in the editor: ghost text keys, suggestions from a real tiny coder model, crash recovery."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.core.settings import CompletionSettings
from app.ui.editor import CodeEditor
from app.ui.editor.inline_completion import InlineCompletion

_Key = Qt.Key
_Ctrl = Qt.KeyboardModifier.ControlModifier


def _editor(qtbot: QtBot, text: str) -> CodeEditor:
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.set_language(hint="python", sample=text)
    editor.setPlainText(text)
    editor.resize(600, 400)
    editor.show()
    editor.setFocus()
    editor.moveCursor(QTextCursor.MoveOperation.End)
    return editor


def _suggest(editor: CodeEditor, text: str) -> None:
    editor.ghost.show(text, editor.textCursor().position())


def test_tab_accepts_the_whole_suggestion(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "def area(r):\n    return ")
    _suggest(editor, "3.14 * r * r")
    editor.grab()  # paints the ghost text without error
    qtbot.keyClick(editor, _Key.Key_Tab)
    assert editor.toPlainText() == "def area(r):\n    return 3.14 * r * r"
    assert editor.ghost.text == ""
    # Without a suggestion Tab indents as before.
    qtbot.keyClick(editor, _Key.Key_Tab)
    after = editor.toPlainText()
    assert after.rstrip(" ") == "def area(r):\n    return 3.14 * r * r" and after.endswith(" ")


def test_ctrl_right_accepts_a_word_and_esc_dismisses(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "total = ")
    _suggest(editor, "price_sum + tax")
    qtbot.keyClick(editor, _Key.Key_Right, _Ctrl)
    assert editor.toPlainText() == "total = price_sum" and editor.ghost.text == " + tax"
    qtbot.keyClick(editor, _Key.Key_Right, _Ctrl)
    assert editor.toPlainText() == "total = price_sum +" and editor.ghost.text == " tax"
    qtbot.keyClick(editor, _Key.Key_Escape)
    assert editor.ghost.text == "" and editor.toPlainText() == "total = price_sum +"


def test_typing_through_keeps_the_suggestion_and_other_typing_drops_it(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "name = ")
    _suggest(editor, '"quill"')
    qtbot.keyClicks(editor, '"qu')
    assert editor.ghost.text == 'ill"' and editor.toPlainText() == 'name = "qu'
    qtbot.keyClicks(editor, "x")
    assert editor.ghost.text == "" and editor.toPlainText() == 'name = "qux'
    _suggest(editor, "yz")
    editor.moveCursor(QTextCursor.MoveOperation.Start)  # moving away drops it
    assert editor.ghost.text == ""


@pytest.fixture
def completion(qtbot: QtBot, coder_gguf: Path) -> Iterator[InlineCompletion]:
    host = QWidget()
    qtbot.addWidget(host)
    inline = InlineCompletion(CompletionSettings(model=str(coder_gguf), debounce_ms=50, max_tokens=24), host)
    qtbot.waitUntil(lambda: inline.label.text() == "completion: on", timeout=60_000)
    yield inline
    inline.shutdown()


def test_suggestions_stream_into_ghost_text_off_the_gui_thread(qtbot: QtBot, completion: InlineCompletion) -> None:
    source = "".join(f"def handler_{i}(event):\n    return event.get({i})\n\n" for i in range(30))
    editor = _editor(qtbot, source)
    completion.attach(editor, None)
    shown: list[str] = []
    editor.ghost.changed.connect(shown.append)
    qtbot.keyClicks(editor, "def handler_30(event):")
    qtbot.keyClick(editor, _Key.Key_Return)
    qtbot.waitUntil(lambda: any(shown), timeout=30_000)
    text_before = editor.toPlainText()
    suggestion = editor.ghost.text
    if suggestion:
        qtbot.keyClick(editor, _Key.Key_Tab)
        assert editor.toPlainText() == text_before + suggestion


def test_the_gui_keeps_turning_while_the_model_works(qtbot: QtBot, tmp_path: Path) -> None:
    from tests.core.completion.test_engine import SLOW_CODER
    from tests.fixtures.tiny_gguf import write_coder_model

    model = write_coder_model(tmp_path / "slow-coder.gguf", SLOW_CODER)
    host = QWidget()
    qtbot.addWidget(host)
    inline = InlineCompletion(CompletionSettings(model=str(model), debounce_ms=50, max_tokens=48, threads=1), host)
    try:
        qtbot.waitUntil(lambda: inline.label.text() == "completion: on", timeout=60_000)
        editor = _editor(qtbot, "".join(f"def handler_{i}(event):\n    return event.get({i})\n\n" for i in range(40)))
        inline.attach(editor, None)
        ticks: list[int] = []
        heartbeat = QTimer()
        heartbeat.setInterval(10)
        heartbeat.timeout.connect(lambda: ticks.append(1))
        heartbeat.start()
        qtbot.keyClicks(editor, "def handler_40(")
        qtbot.waitUntil(lambda: inline.label.text() == "completion: working…", timeout=30_000)
        before = len(ticks)
        # The event loop keeps turning (heartbeat ticks counted) while the request is in flight.
        qtbot.waitUntil(lambda: len(ticks) >= before + 10, timeout=30_000)
        assert inline.label.text() == "completion: working…"
        qtbot.waitUntil(lambda: inline.label.text() == "completion: on", timeout=120_000)
        heartbeat.stop()
        assert editor.toPlainText().endswith("def handler_40(")  # the worker never touched the editor
    finally:
        inline.shutdown()


def test_a_crash_gives_one_notice_and_leaves_the_editor_alone(qtbot: QtBot, completion: InlineCompletion) -> None:
    editor = _editor(qtbot, "import os\n\n")
    completion.attach(editor, None)
    notices: list[str] = []
    completion.notice.connect(notices.append)
    pid = completion.engine.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    qtbot.keyClicks(editor, "x = ")
    qtbot.waitUntil(lambda: completion.label.text() == "completion: off", timeout=30_000)
    qtbot.keyClicks(editor, "1")
    qtbot.wait(300)
    assert len(notices) == 1 and "restart it" in notices[0]
    assert editor.toPlainText() == "import os\n\nx = 1" and editor.ghost.text == ""
    completion.restart()
    qtbot.waitUntil(lambda: completion.label.text() == "completion: on", timeout=60_000)


def test_off_until_a_model_is_chosen(qtbot: QtBot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    inline = InlineCompletion(CompletionSettings(), host)
    try:
        assert inline.label.text() == "completion: off"
        assert "Settings ▸ Completion" in inline.label.toolTip()
        editor = _editor(qtbot, "")
        inline.attach(editor, None)
        qtbot.keyClicks(editor, "abc")
        qtbot.wait(100)
        assert inline.engine.pid is None and editor.ghost.text == ""
    finally:
        inline.shutdown()


def test_settings_dialog_chooses_the_completion_model(qtbot: QtBot, coder_gguf: Path) -> None:
    from app.core.settings import Settings
    from app.ui.shell.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.completion_model.text() == ""  # off by default
    dialog.completion_model.setText(f"  {coder_gguf}  ")
    dialog.completion_debounce.setValue(200)
    dialog.completion_tokens.setValue(32)
    chosen = dialog.result_settings().completion
    assert chosen.model == str(coder_gguf) and chosen.debounce_ms == 200 and chosen.max_tokens == 32
    dialog.completion_model.setText("")
    assert dialog.result_settings().completion.model is None
