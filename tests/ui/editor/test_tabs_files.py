"""EditorTabs with real files: open, edit, save, save as, dirty markers, closing, refusals."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.editor import CodeEditor, EditorTabs
from tests.ui.editor.conftest import recorder


def _type(qtbot: QtBot, editor: CodeEditor, text: str) -> None:
    editor.setFocus()
    qtbot.keyClicks(editor, text)


def _editor(tabs: EditorTabs) -> CodeEditor:
    editor = tabs.current_editor()
    assert editor is not None
    return editor


def test_open_edit_save(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, notices: list[str]) -> None:
    path = tmp_path / "main.py"
    path.write_text("x = 1\n")
    seen_files: list[str] = []
    tabs.currentFileChanged.connect(seen_files.append)
    assert tabs.open_file(str(path))
    assert tabs.current_path() == str(path) and seen_files[-1] == str(path)
    editor = _editor(tabs)
    assert editor.text() == "x = 1\n" and editor.language == "Python"
    assert tabs.tabText(0) == "main.py" and not tabs.has_unsaved()
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    _type(qtbot, editor, "y = 2")
    assert tabs.has_unsaved() and tabs.tabText(0) == "main.py •"
    assert tabs.save_current()
    assert path.read_text() == "x = 1\ny = 2"
    assert not tabs.has_unsaved() and tabs.tabText(0) == "main.py"
    assert notices[-1] == "Saved main.py."


def test_opening_an_open_file_shows_its_tab(tabs: EditorTabs, tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a")
    b.write_text("b")
    assert tabs.open_file(str(a)) and tabs.open_file(str(b))
    assert tabs.open_file(str(tmp_path / "." / "a.txt"))
    assert tabs.count() == 2 and tabs.current_path() == str(a)


def test_an_empty_untitled_tab_is_replaced_by_the_opened_file(tabs: EditorTabs, tmp_path: Path) -> None:
    tabs.new_file()
    path = tmp_path / "a.txt"
    path.write_text("a")
    assert tabs.open_file(str(path))
    assert tabs.count() == 1 and tabs.current_path() == str(path)


def test_dirty_marker_signal_and_undo_back_to_clean(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("abc")
    tabs.open_file(str(path))
    states: list[bool] = []
    tabs.dirtyChanged.connect(states.append)
    editor = _editor(tabs)
    _type(qtbot, editor, "z")
    assert tabs.tabText(0) == "a.txt •" and states == [True]
    editor.undo()
    assert tabs.tabText(0) == "a.txt" and states == [True, False]


def test_same_names_are_told_apart_by_folder(tabs: EditorTabs, tmp_path: Path) -> None:
    for folder in ("core", "ui"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
        tabs.open_file(str(tmp_path / folder / "__init__.py"))
    assert [tabs.tabText(i) for i in range(2)] == ["__init__.py — core", "__init__.py — ui"]
    assert tabs.tabToolTip(0).startswith(str(tmp_path / "core" / "__init__.py"))


def test_a_failed_save_keeps_the_file_and_the_buffer_dirty(
    qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, notices: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keep.txt"
    path.write_text("original\n")
    tabs.open_file(str(path))
    editor = _editor(tabs)
    _type(qtbot, editor, "changed ")

    def full_disk(_src: object, _dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    assert not tabs.save_current()
    assert path.read_text() == "original\n"
    assert tabs.has_unsaved() and tabs.tabText(0) == "keep.txt •"
    assert notices[-1] == "The disk is full, so keep.txt was not saved; free some space and save again."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    monkeypatch.undo()
    assert tabs.save_current()
    assert path.read_text() == "changed original\n"


def test_save_as_moves_the_buffer_to_the_new_file(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    old = tmp_path / "notes.txt"
    old.write_text("def f():\n    pass\n")
    tabs.open_file(str(old))
    _type(qtbot, _editor(tabs), "# ")
    new = tmp_path / "code.py"
    files: list[str] = []
    tabs.currentFileChanged.connect(files.append)
    assert tabs.save_current_as(str(new))
    assert new.read_text() == "# def f():\n    pass\n" and old.read_text() == "def f():\n    pass\n"
    assert tabs.current_path() == str(new) and files == [str(new)]
    assert tabs.tabText(0) == "code.py" and not tabs.has_unsaved()
    assert _editor(tabs).language == "Python"  # highlighting follows the new name


def test_save_as_onto_a_file_open_in_another_tab_is_refused(
    tabs: EditorTabs, tmp_path: Path, notices: list[str]
) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a")
    b.write_text("b")
    tabs.open_file(str(a))
    tabs.open_file(str(b))
    assert not tabs.save_current_as(str(a))
    assert a.read_text() == "a"
    assert notices[-1] == "a.txt is open in another tab; close that tab first or choose another name."


def test_saving_an_untitled_buffer_asks_for_a_name(tabs: EditorTabs, tmp_path: Path) -> None:
    editor = tabs.new_file("print('hi')\n", language_hint="python")
    assert editor.language == "Python" and tabs.has_unsaved() and tabs.current_path() is None
    asked: list[str] = []
    tabs.ask_save_path = recorder(None, asked)
    assert not tabs.save_current()
    assert asked == ["Untitled-1.py"] and tabs.has_unsaved()
    target = tmp_path / "hi.py"
    tabs.ask_save_path = lambda _suggested: str(target)
    assert tabs.save_current()
    assert target.read_text() == "print('hi')\n" and tabs.current_path() == str(target)
    assert tabs.tabText(0) == "hi.py"


def test_an_empty_new_file_is_not_unsaved_work(tabs: EditorTabs) -> None:
    tabs.new_file()
    tabs.new_file()
    assert not tabs.has_unsaved() and [tabs.tabText(i) for i in range(2)] == ["Untitled-1", "Untitled-2"]


@pytest.mark.parametrize(
    ("answer", "closed", "saved"), [("cancel", False, False), ("discard", True, False), ("save", True, True)]
)
def test_closing_a_dirty_tab_asks(
    qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, answer: str, closed: bool, saved: bool
) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    tabs.open_file(str(path))
    _type(qtbot, _editor(tabs), "new ")
    asked: list[list[str]] = []
    tabs.ask_save_changes = recorder(answer, asked)
    assert tabs.close_tab(0) is closed
    assert asked == [["a.txt"]]
    assert tabs.count() == (0 if closed else 1)
    assert path.read_text() == ("new old" if saved else "old")


def test_closing_a_clean_tab_does_not_ask(tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    tabs.open_file(str(path))
    files: list[str] = []
    tabs.currentFileChanged.connect(files.append)
    assert tabs.close_tab(0) and tabs.count() == 0 and files[-1] == ""


def test_maybe_close_all_asks_once_for_all_unsaved_buffers(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in ("a.txt", "b.txt", "c.txt"))
    for p in (a, b, c):
        p.write_text("x")
        tabs.open_file(str(p))
    for index in (0, 2):
        tabs.setCurrentIndex(index)
        _type(qtbot, _editor(tabs), "y")
    asked: list[list[str]] = []
    tabs.ask_save_changes = recorder("cancel", asked)
    assert not tabs.maybe_close_all()
    assert tabs.count() == 3 and asked == [["a.txt", "c.txt"]]
    tabs.ask_save_changes = lambda _titles: "save"
    assert tabs.maybe_close_all()
    assert tabs.count() == 0 and a.read_text() == "yx" and b.read_text() == "x" and c.read_text() == "yx"


def test_maybe_close_all_stops_when_a_save_is_cancelled(tabs: EditorTabs) -> None:
    tabs.new_file("unsaved text")
    tabs.ask_save_changes = lambda _titles: "save"
    tabs.ask_save_path = lambda _suggested: None
    assert not tabs.maybe_close_all()
    assert tabs.count() == 1 and tabs.has_unsaved()


def test_binary_files_are_refused_with_a_notice(tabs: EditorTabs, tmp_path: Path, notices: list[str]) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not tabs.open_file(str(path))
    assert tabs.count() == 0
    assert notices == ["image.png looks like a binary file, not text; open it with the program that made it."]


def test_missing_file_and_folder_are_refused_with_a_notice(
    tabs: EditorTabs, tmp_path: Path, notices: list[str]
) -> None:
    assert not tabs.open_file(str(tmp_path / "gone.txt"))
    assert not tabs.open_file(str(tmp_path))
    assert notices[0] == "gone.txt does not exist; check the name or choose another file."
    assert notices[1].endswith("is a folder; open a file inside it instead.")


def test_big_files_open_read_only_with_a_notice_and_huge_ones_are_refused(
    qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, notices: list[str]
) -> None:
    tabs.max_bytes = 1000
    path = tmp_path / "big.log"
    path.write_text("log line\n" * 200)  # 1800 bytes
    assert tabs.open_file(str(path))
    editor = _editor(tabs)
    assert editor.isReadOnly() and tabs.tabText(0) == "big.log [read-only]"
    assert notices == ["big.log is 1.8 KB, over the 1000 bytes editing limit, so it is open read-only."]
    _type(qtbot, editor, "typing does nothing")
    assert editor.text() == "log line\n" * 200 and not tabs.has_unsaved()
    tabs.insert_at_cursor("nor does inserting")
    assert editor.text() == "log line\n" * 200
    assert notices[-1] == "big.log is read-only, so nothing was inserted; paste the text into another file."
    huge = tmp_path / "huge.log"
    huge.write_text("x" * 5000)
    assert not tabs.open_file(str(huge))
    assert notices[-1].startswith("huge.log is 4.9 KB, too big for the editor")


def test_non_utf8_file_opens_with_a_notice_and_saves_in_its_encoding(
    qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, notices: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("locale.getpreferredencoding", lambda _do_setlocale=True: "UTF-8")
    path = tmp_path / "legacy.txt"
    path.write_bytes("Prix: 20 €, café\r\n".encode("cp1252"))
    assert tabs.open_file(str(path))
    assert "read as cp1252" in notices[-1]
    editor = _editor(tabs)
    assert editor.text() == "Prix: 20 €, café\n"
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    _type(qtbot, editor, "deja vu")
    editor.insert_text(" ½")  # QTest cannot type non-ASCII keys
    assert tabs.save_current()
    assert path.read_bytes() == "Prix: 20 €, café\r\ndeja vu ½".encode("cp1252")
    assert "cp1252, CRLF" in tabs.tabToolTip(0)


def test_text_the_encoding_cannot_store_offers_utf8(tabs: EditorTabs, tmp_path: Path, notices: list[str]) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("café\n".encode("cp1252"))
    tabs.open_file(str(path))
    _editor(tabs).insert_text("🙂 ")
    problems: list[str] = []
    tabs.ask_convert_to_utf8 = recorder(False, problems)
    assert not tabs.save_current()
    assert path.read_bytes() == "café\n".encode("cp1252") and tabs.has_unsaved()
    assert "line 1, column 1" in problems[0] and notices[-1] == problems[0]
    tabs.ask_convert_to_utf8 = lambda _problem: True
    assert tabs.save_current()
    assert path.read_text(encoding="utf-8") == "🙂 café\n"
    assert "utf-8" in tabs.tabToolTip(0)


def test_reopening_with_another_encoding_is_one_undo_step(tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "ru.txt"
    path.write_bytes("привет\n".encode("koi8-r"))
    tabs.open_file(str(path))
    editor = _editor(tabs)
    assert editor.text() != "привет\n"
    assert tabs.reload_current("koi8-r")
    assert editor.text() == "привет\n" and not tabs.has_unsaved()
    editor.undo()
    assert editor.text() != "привет\n"


def test_special_characters_survive_a_round_trip(tabs: EditorTabs, tmp_path: Path) -> None:
    # toPlainText() would turn the no-break space into a space and U+2028 into a newline.
    original = "a\u00a0b\tc\u2028d 🙂\n"
    path = tmp_path / "odd.txt"
    path.write_text(original, encoding="utf-8")
    tabs.open_file(str(path))
    _editor(tabs).insert_text("")
    _editor(tabs).document().setModified(True)
    assert tabs.save_current()
    assert path.read_text(encoding="utf-8") == original


def test_selection_actions_carry_text_and_file_name(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "calc.py"
    path.write_text("def add(a, b):\n    return a + b\n")
    tabs.open_file(str(path))
    editor = _editor(tabs)
    emitted: list[tuple[str, str, str]] = []
    tabs.selectionAction.connect(lambda *args: emitted.append(args))
    menu = editor.build_context_menu(editor.rect().center())
    actions = {a.data(): a for a in menu.actions() if a.data()}
    assert set(actions) == {"ask", "explain", "edit"}
    assert not any(a.isEnabled() for a in actions.values())
    menu.deleteLater()
    editor.selectAll()
    assert tabs.selected_text() == "def add(a, b):\n    return a + b\n"
    menu = editor.build_context_menu(editor.rect().center())
    actions = {a.data(): a for a in menu.actions() if a.data()}
    assert [a.text() for a in actions.values()] == ["Ask about selection", "Explain", "Edit with instruction…"]
    actions["explain"].trigger()
    actions["edit"].trigger()
    menu.deleteLater()
    text = "def add(a, b):\n    return a + b\n"
    assert emitted == [("explain", text, "calc.py"), ("edit", text, "calc.py")]
    tabs.new_file("scratch")
    _editor(tabs).selectAll()
    _editor(tabs).emit_selection_action("ask")
    assert emitted[-1] == ("ask", "scratch", "")


def test_insert_at_cursor_is_one_undo_step(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("")
    tabs.open_file(str(path))
    editor = _editor(tabs)
    _type(qtbot, editor, "abc")
    tabs.insert_at_cursor("\ndef f():\n    return 1\n")
    assert editor.text() == "abc\ndef f():\n    return 1\n"
    editor.undo()
    assert editor.text() == "abc"


def test_insert_without_an_editor_opens_a_new_buffer(tabs: EditorTabs) -> None:
    tabs.insert_at_cursor("print(1)\n")
    assert tabs.count() == 1 and _editor(tabs).text() == "print(1)\n" and tabs.has_unsaved()


def test_font_size_and_zoom_apply_to_every_tab(qtbot: QtBot, tabs: EditorTabs) -> None:
    first = tabs.new_file()
    tabs.set_font_size(14)
    second = tabs.new_file()
    assert first.font_size() == 14 and second.font_size() == 14
    qtbot.keyClick(second, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert first.font_size() == 15 and second.font_size() == 15
    qtbot.keyClick(second, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert first.font_size() == 14


def test_dropped_files_open_in_tabs(tabs: EditorTabs, tmp_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QUrl

    path = tmp_path / "dropped.txt"
    path.write_text("hello")
    editor = tabs.new_file()
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    assert editor.canInsertFromMimeData(data)
    editor.insertFromMimeData(data)
    assert tabs.current_path() == str(path) and editor.text() == ""


def test_position_signal_follows_the_cursor(qtbot: QtBot, tabs: EditorTabs) -> None:
    positions: list[tuple[int, int]] = []
    tabs.positionChanged.connect(lambda line, column: positions.append((line, column)))
    editor = tabs.new_file("one\ntwo\n")
    editor.go_to_line(2, 3)
    assert positions[-1] == (2, 3)


def test_set_dark_recolours_every_editor(tabs: EditorTabs) -> None:
    editor = tabs.new_file("x = 1\n", language_hint="python")
    light = editor.palette().base().color().name()
    tabs.set_dark(True)
    assert editor.palette().base().color().name() != light and editor.theme.dark
    later = tabs.new_file()
    assert later.theme.dark


def test_no_question_is_left_to_a_real_dialog(make_tabs: Callable[[], EditorTabs]) -> None:
    tabs = make_tabs()
    with pytest.raises(AssertionError, match="unexpected question"):
        tabs.ask_reload("x")


def test_save_as_asks_for_a_name_and_close_current(tabs: EditorTabs, tmp_path: Path) -> None:
    tabs.new_file("text")
    target = tmp_path / "named.txt"
    asked: list[str] = []
    tabs.ask_save_path = recorder(str(target), asked)
    assert tabs.save_as()
    assert asked == ["Untitled-1.txt"] and target.read_text() == "text"
    assert tabs.close_current() and tabs.count() == 0
    assert not tabs.close_current() and not tabs.save_as() and not tabs.save_current()


def test_files_too_big_to_edit_are_not_coloured(tabs: EditorTabs, tmp_path: Path) -> None:
    tabs.max_bytes = 100
    path = tmp_path / "big.py"
    path.write_text("x = 1\n" * 50)
    assert tabs.open_file(str(path))
    assert _editor(tabs).language == "Text only"
