"""The find/replace bar: next/previous with wrap-around, options, replace, replace all, keys."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from app.ui.editor import CodeEditor, EditorTabs, FindReplaceBar
from app.ui.editor.page import EditorPage

TEXT = "Foo foo food\nbar FOO foo\n"


def _bar(qtbot: QtBot, tabs: EditorTabs, text: str = TEXT) -> tuple[CodeEditor, FindReplaceBar]:
    editor = tabs.new_file(text)
    page = tabs.current_page()
    assert isinstance(page, EditorPage)
    editor.moveCursor(QTextCursor.MoveOperation.Start)
    return editor, page.find_bar


def _selection(editor: CodeEditor) -> tuple[int, int, int]:
    cursor = editor.textCursor()
    return cursor.blockNumber() + 1, cursor.selectionStart(), cursor.selectionEnd()


def test_ctrl_f_opens_the_bar_with_the_selection_and_esc_closes_it(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs)
    cursor = editor.textCursor()
    cursor.setPosition(4)
    cursor.setPosition(8, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    qtbot.keyClick(editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and bar.find_edit.text() == "foo " and bar.find_edit.hasFocus()
    assert not bar.replace_edit.isVisible()
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_Escape)
    assert not bar.isVisible() and editor.hasFocus()
    qtbot.keyClick(editor, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and bar.replace_edit.isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not bar.isVisible()


def test_find_next_and_previous_wrap_around(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs)
    bar.open()
    qtbot.keyClicks(bar.find_edit, "foo")  # incremental: the first match is selected while typing
    assert _selection(editor) == (1, 0, 3) and bar.status.text() == "1 of 5"
    assert bar.find_next() and _selection(editor) == (1, 4, 7)
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_Return)
    assert _selection(editor) == (1, 8, 11)  # "foo" in "food": no whole-word option yet
    bar.find_next()
    bar.find_next()
    assert _selection(editor) == (2, 21, 24) and bar.status.text() == "5 of 5"
    bar.find_next()
    assert _selection(editor) == (1, 0, 3) and bar.status.text() == "1 of 5, wrapped"
    bar.find_previous()
    assert _selection(editor) == (2, 21, 24)
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert _selection(editor) == (2, 17, 20)


def test_case_and_whole_word_options(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs)
    bar.open()
    bar.case_box.setChecked(True)
    bar.word_box.setChecked(True)
    bar.find_edit.setText("foo")
    assert _selection(editor) == (1, 4, 7) and bar.status.text() == "1 of 2"
    bar.find_next()
    assert _selection(editor) == (2, 21, 24)
    bar.find_edit.setText("nothing")
    assert bar.status.text() == "No matches" and not bar.find_next()


def test_f3_finds_again(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs)
    qtbot.keyClick(editor, Qt.Key.Key_F3)  # nothing to find yet: opens the bar
    assert bar.isVisible()
    bar.find_edit.setText("bar")
    editor.setFocus()
    editor.moveCursor(QTextCursor.MoveOperation.Start)
    qtbot.keyClick(editor, Qt.Key.Key_F3)
    assert editor.selected_text() == "bar"


def test_replace_one_at_a_time(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs)
    bar.open(replace=True)
    bar.word_box.setChecked(True)
    bar.find_edit.setText("foo")
    bar.replace_edit.setText("baz")
    assert _selection(editor) == (1, 0, 3)
    bar.replace()  # replaces the selected match, selects the next
    assert editor.text() == "baz foo food\nbar FOO foo\n" and editor.selected_text() == "foo"
    qtbot.keyClick(bar.replace_edit, Qt.Key.Key_Return)
    assert editor.text() == "baz baz food\nbar FOO foo\n"


def test_replace_all_is_one_undo_step(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs)
    bar.open(replace=True)
    bar.word_box.setChecked(True)
    bar.find_edit.setText("foo")
    bar.replace_edit.setText("x")
    assert bar.replace_all() == 4
    assert editor.text() == "x x food\nbar x x\n" and bar.status.text() == "Replaced 4"
    editor.undo()
    assert editor.text() == TEXT


def test_regex_with_groups(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs, "name = value\nkey=other\n")
    bar.open(replace=True)
    bar.regex_box.setChecked(True)
    bar.find_edit.setText(r"(\w+)\s*=\s*(\w+)")
    bar.replace_edit.setText(r"\2 = $1")
    assert bar.replace_all() == 2
    assert editor.text() == "value = name\nother = key\n"
    bar.find_edit.setText("(unclosed")
    assert bar.status.text().startswith("Invalid pattern: ") and not bar.find_next()
    assert bar.replace_all() == 0


def test_empty_regex_matches_are_never_replaced(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs, "ab\n")
    bar.open(replace=True)
    bar.regex_box.setChecked(True)
    bar.find_edit.setText("x*")
    bar.replace_edit.setText("-")
    assert bar.replace_all() == 0 and editor.text() == "ab\n"


def test_read_only_buffers_can_be_searched_but_not_changed(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs)
    editor.setReadOnly(True)
    bar.open(replace=True)
    assert not bar.replace_edit.isVisible()
    bar.find_edit.setText("foo")
    assert bar.find_next()
    assert not bar.replace() and bar.replace_all() == 0 and editor.text() == TEXT


def test_matches_after_emoji_are_selected_exactly(qtbot: QtBot, tabs: EditorTabs) -> None:
    editor, bar = _bar(qtbot, tabs, "🙂 word 🙂 word\n")
    bar.open(replace=True)
    bar.find_edit.setText("word")
    bar.replace_edit.setText("WORD")
    assert bar.status.text() == "1 of 2"
    assert bar.replace_all() == 2 and editor.text() == "🙂 WORD 🙂 WORD\n"
