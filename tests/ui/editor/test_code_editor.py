"""CodeEditor keys: auto-indent, Tab/Shift+Tab, smart Home/Backspace, zoom, go-to-line, gutter."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from app.ui.editor import CodeEditor
from app.ui.editor.indentation import dedent_once, guess_indent_unit, new_line_indent, strip_python_comment
from tests.ui.editor.conftest import recorder

_Key = Qt.Key
_Ctrl = Qt.KeyboardModifier.ControlModifier
_Shift = Qt.KeyboardModifier.ShiftModifier


def _editor(qtbot: QtBot, text: str = "", language: str | None = "python") -> CodeEditor:
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.set_language(hint=language, sample=text)
    editor.setPlainText(text)
    editor.resize(600, 400)
    editor.show()
    editor.setFocus()
    return editor


def _end(editor: CodeEditor) -> None:
    editor.moveCursor(QTextCursor.MoveOperation.End)


def test_enter_keeps_indentation_and_indents_after_a_colon(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "def f(x):")
    _end(editor)
    qtbot.keyClick(editor, _Key.Key_Return)
    qtbot.keyClicks(editor, "if x:")
    qtbot.keyClick(editor, _Key.Key_Return)
    qtbot.keyClicks(editor, "return 1")
    qtbot.keyClick(editor, _Key.Key_Return)
    qtbot.keyClicks(editor, "y = 2")
    assert editor.text() == "def f(x):\n    if x:\n        return 1\n    y = 2"


def test_a_colon_in_a_comment_or_string_does_not_indent(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "x = 'a:'  # note:")
    _end(editor)
    qtbot.keyClick(editor, _Key.Key_Return)
    assert editor.text() == "x = 'a:'  # note:\n"


def test_enter_between_brackets_puts_the_closer_on_its_own_line(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "    call()", language="javascript")
    editor.set_cursor_position(1, 10)  # between ( and )
    qtbot.keyClick(editor, _Key.Key_Return)
    qtbot.keyClicks(editor, "arg")
    assert editor.text() == "    call(\n        arg\n    )"


def test_enter_on_a_blank_indented_line_leaves_it_empty(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "if x:")
    _end(editor)
    qtbot.keyClick(editor, _Key.Key_Return)
    qtbot.keyClick(editor, _Key.Key_Return)
    assert editor.text() == "if x:\n\n    "


def test_shift_enter_is_a_plain_newline_not_a_line_separator(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "a")
    _end(editor)
    qtbot.keyClick(editor, _Key.Key_Return, _Shift)
    assert editor.text() == "a\n" and "\u2028" not in editor.document().toRawText()


def test_enter_is_one_undo_step(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "if x:")
    _end(editor)
    qtbot.keyClick(editor, _Key.Key_Return)
    editor.undo()
    assert editor.text() == "if x:"


def test_tab_inserts_spaces_to_the_next_stop_and_indents_selections(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "ab\ncd\n\nef")
    editor.set_cursor_position(1, 2)
    qtbot.keyClick(editor, _Key.Key_Tab)
    assert editor.text().splitlines()[0] == "a   b"
    editor.undo()
    editor.selectAll()
    qtbot.keyClick(editor, _Key.Key_Tab)
    assert editor.text() == "    ab\n    cd\n\n    ef"  # blank lines stay blank
    qtbot.keyClick(editor, _Key.Key_Backtab, _Shift)
    assert editor.text() == "ab\ncd\n\nef"
    qtbot.keyClick(editor, _Key.Key_Tab)
    editor.undo()  # one undo step for the whole block
    assert editor.text() == "ab\ncd\n\nef"


def test_shift_tab_dedents_to_the_previous_stop(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "      six\n\tTab")
    editor.selectAll()
    qtbot.keyClick(editor, _Key.Key_Backtab, _Shift)
    assert editor.text() == "    six\nTab"


def test_a_selection_ending_at_a_line_start_leaves_that_line_alone(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "a\nb\nc")
    cursor = editor.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(4, QTextCursor.MoveMode.KeepAnchor)  # "a\nb\n": ends at the start of "c"
    editor.setTextCursor(cursor)
    qtbot.keyClick(editor, _Key.Key_Tab)
    assert editor.text() == "    a\n    b\nc"


def test_tabs_are_kept_in_files_indented_with_tabs(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "if x:\n\ty = 1\n\tz = 2")
    assert editor.indent_unit == "\t"
    _end(editor)
    qtbot.keyClick(editor, _Key.Key_Return)
    qtbot.keyClick(editor, _Key.Key_Tab)
    assert editor.text().endswith("\tz = 2\n\t\t")


def test_backspace_in_leading_spaces_removes_one_level(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "        x")
    editor.set_cursor_position(1, 9)
    qtbot.keyClick(editor, _Key.Key_Backspace)
    assert editor.text() == "    x"
    editor.set_cursor_position(1, 6)  # after "    x": an ordinary backspace
    qtbot.keyClick(editor, _Key.Key_Backspace)
    assert editor.text() == "    "


def test_home_goes_to_the_first_character_then_the_line_start(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "    text")
    _end(editor)
    qtbot.keyClick(editor, _Key.Key_Home)
    assert editor.cursor_position() == (1, 5)
    qtbot.keyClick(editor, _Key.Key_Home)
    assert editor.cursor_position() == (1, 1)
    qtbot.keyClick(editor, _Key.Key_End)
    qtbot.keyClick(editor, _Key.Key_Home, _Shift)
    assert editor.selected_text() == "text"


def test_zoom_keys_and_limits(qtbot: QtBot) -> None:
    editor = _editor(qtbot)
    editor.set_font_size(12)
    zooms: list[int] = []
    editor.zoomChanged.connect(zooms.append)
    qtbot.keyClick(editor, _Key.Key_Equal, _Ctrl)
    qtbot.keyClick(editor, _Key.Key_Plus, _Ctrl)
    assert editor.font_size() == 14 and editor.font().pointSize() == 14
    qtbot.keyClick(editor, _Key.Key_Minus, _Ctrl)
    assert editor.font_size() == 13
    qtbot.keyClick(editor, _Key.Key_0, _Ctrl)
    assert editor.font_size() == 12 and zooms == [1, 2, 1, 0]
    for _ in range(100):
        editor.zoom_out()
    assert editor.font_size() == CodeEditor.MIN_POINTS
    editor.set_zoom(500)
    assert editor.font_size() == CodeEditor.MAX_POINTS


def test_go_to_line_with_the_injected_prompt(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "\n".join(f"line {i}" for i in range(1, 501)))
    asked: list[tuple[int, int]] = []
    editor.ask_line = recorder(250, asked)
    qtbot.keyClick(editor, _Key.Key_G, _Ctrl)
    assert asked == [(1, 500)] and editor.cursor_position() == (250, 1)
    assert editor.firstVisibleBlock().blockNumber() > 200  # scrolled there
    editor.ask_line = lambda _current, _maximum: None
    qtbot.keyClick(editor, _Key.Key_G, _Ctrl)
    assert editor.cursor_position() == (250, 1)
    editor.go_to_line(10_000)
    assert editor.cursor_position() == (500, 1)
    editor.go_to_line(3, 100)
    assert editor.cursor_position() == (3, 7)


def test_find_and_replace_keys_ask_for_the_bar(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "x")
    requests: list[bool] = []
    editor.findRequested.connect(requests.append)
    escapes: list[bool] = []
    editor.escapePressed.connect(lambda: escapes.append(True))
    qtbot.keyClick(editor, _Key.Key_F, _Ctrl)
    qtbot.keyClick(editor, _Key.Key_H, _Ctrl)
    qtbot.keyClick(editor, _Key.Key_Escape)
    assert requests == [False, True] and escapes == [True]
    editor.setReadOnly(True)
    qtbot.keyClick(editor, _Key.Key_H, _Ctrl)
    assert requests[-1] is False  # no replacing in a read-only buffer


def test_current_line_is_highlighted_and_the_gutter_fits_the_numbers(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "\n".join("x" for _ in range(20)))
    editor.go_to_line(5)
    [selection] = editor.extraSelections()
    assert selection.cursor.blockNumber() == 4
    assert selection.format.background().color() == editor.theme.current_line
    narrow = editor.viewportMargins().left()
    editor.setPlainText("\n".join("x" for _ in range(100_000)))
    assert editor.viewportMargins().left() > narrow  # room for six digits
    editor.grab()  # paints the gutter without errors


def test_read_only_editors_ignore_editing_keys(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "    text")
    editor.setReadOnly(True)
    for key in (_Key.Key_Return, _Key.Key_Tab, _Key.Key_Backspace):
        qtbot.keyClick(editor, key)
    qtbot.keyClick(editor, _Key.Key_Backtab, _Shift)
    assert editor.text() == "    text"


def test_indentation_rules() -> None:
    assert new_line_indent("    if x:  # why", "    ", python=True) == "        "
    assert new_line_indent("    return x", "    ", python=True) == ""
    assert new_line_indent("        pass", "    ", python=True) == "    "
    assert new_line_indent("    foo(", "  ", python=False) == "      "
    assert new_line_indent("    a:", "    ", python=False) == "    "
    assert strip_python_comment("s = '#no' # yes") == "s = '#no' "
    assert strip_python_comment('s = "\\"#" + x') == 's = "\\"#" + x'
    assert dedent_once("      ", "    ") == "    "
    assert dedent_once("\t\t", "\t") == "\t"
    assert guess_indent_unit("a\n\tb\n\tc\n  d") == "\t"
    assert guess_indent_unit("a\n    b\n") == "    "
    assert guess_indent_unit("a:\n  b:\n    c: 1\n  d: 2\n") == "  "
    assert guess_indent_unit("nothing indented", "  ") == "  "


def test_yaml_indents_after_a_key_but_knows_no_python_keywords(qtbot: QtBot) -> None:
    editor = _editor(qtbot, "jobs:", language="yaml")
    _end(editor)
    qtbot.keyClick(editor, _Key.Key_Return)
    qtbot.keyClicks(editor, "return: 1")
    qtbot.keyClick(editor, _Key.Key_Return)
    assert editor.text() == "jobs:\n  return: 1\n  "  # two spaces: YAML's usual step
