"""Files changed or deleted by other programs while open (real QFileSystemWatcher)."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.editor import CodeEditor, EditorTabs
from tests.ui.editor.conftest import recorder


def _rewrite(path: Path, text: str) -> None:
    """Write as another program would, with an mtime that surely differs from before."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def _open(tabs: EditorTabs, path: Path) -> CodeEditor:
    assert tabs.open_file(str(path))
    editor = tabs.current_editor()
    assert editor is not None
    return editor


def test_a_clean_buffer_reloads_by_itself(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, notices: list[str]) -> None:
    path = tmp_path / "a.txt"
    path.write_text("line 1\nline 2\nline 3\n")
    editor = _open(tabs, path)
    editor.go_to_line(2, 3)
    _rewrite(path, "line 1\nline two\nline 3\nline 4\n")
    qtbot.waitUntil(lambda: editor.text() == "line 1\nline two\nline 3\nline 4\n", timeout=10_000)
    assert not tabs.has_unsaved() and notices[-1] == "a.txt changed on disk and was reloaded."
    assert editor.cursor_position() == (2, 3)  # the cursor stays where it was
    editor.undo()  # the reload is one undo step
    assert editor.text() == "line 1\nline 2\nline 3\n" and tabs.has_unsaved()


def test_the_watcher_keeps_watching_after_a_replace(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("v1")
    editor = _open(tabs, path)
    for version in ("v2", "v3"):
        replacement = tmp_path / "a.txt.new"
        replacement.write_text(version)
        before = path.stat().st_mtime_ns
        os.utime(replacement, ns=(before + 2_000_000_000, before + 2_000_000_000))
        os.replace(replacement, path)  # how most editors (and Quillpad) save

        def shows(text: str = version) -> bool:
            return editor.text() == text

        qtbot.waitUntil(shows, timeout=10_000)


def test_a_dirty_buffer_asks_and_keeps_your_version(
    qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, notices: list[str]
) -> None:
    path = tmp_path / "a.txt"
    path.write_text("disk v1")
    editor = _open(tabs, path)
    editor.insert_text("mine ")
    asked: list[str] = []
    tabs.ask_reload = recorder(False, asked)
    _rewrite(path, "disk v2")
    qtbot.waitUntil(lambda: asked == ["a.txt"], timeout=10_000)
    assert editor.text() == "mine disk v1" and tabs.has_unsaved()
    assert notices[-1] == "Kept your version of a.txt; saving will replace the file on disk."
    # Known now: neither focus nor saving asks again.
    tabs.check_disk_changes()
    assert asked == ["a.txt"]
    assert tabs.save_current()
    assert path.read_text() == "mine disk v1"


def test_a_dirty_buffer_asks_and_reloads(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("disk v1")
    editor = _open(tabs, path)
    editor.insert_text("mine ")
    tabs.ask_reload = lambda _name: True
    _rewrite(path, "disk v2")
    qtbot.waitUntil(lambda: editor.text() == "disk v2", timeout=10_000)
    assert not tabs.has_unsaved()
    editor.undo()  # your version is one undo away
    assert editor.text() == "mine disk v1"


def test_a_touch_without_a_change_does_not_ask(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("same")
    editor = _open(tabs, path)
    editor.insert_text("x")
    editor.undo()
    editor.document().setModified(True)  # dirty, but the text equals the file
    _rewrite(path, "same")
    tabs.check_disk_changes()
    assert not tabs.has_unsaved() and editor.text() == "same"


def test_saving_over_an_unnoticed_change_asks_first(tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("v1")
    editor = _open(tabs, path)
    editor.insert_text("mine ")
    _rewrite(path, "theirs")  # saved at once, before the watcher's event is processed
    asked: list[str] = []
    tabs.ask_overwrite = recorder(False, asked)
    assert not tabs.save_current()
    assert asked == ["a.txt"] and path.read_text() == "theirs"
    tabs.ask_overwrite = lambda _name: True
    assert tabs.save_current()
    assert path.read_text() == "mine v1"


def test_switching_to_a_tab_checks_its_file(tabs: EditorTabs, tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a1")
    b.write_text("b1")
    editor_a = _open(tabs, a)
    _open(tabs, b)
    _rewrite(a, "a2")
    tabs.setCurrentIndex(0)  # at once, before the watcher's event is even processed
    assert editor_a.text() == "a2"


def test_a_deleted_file_keeps_its_buffer_and_says_so(
    qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, notices: list[str]
) -> None:
    path = tmp_path / "a.txt"
    path.write_text("precious")
    editor = _open(tabs, path)
    path.unlink()
    message = "a.txt was deleted or moved on disk; its text is still here, so save it to keep it."
    qtbot.waitUntil(lambda: message in notices, timeout=10_000)
    assert editor.text() == "precious" and tabs.count() == 1
    assert tabs.has_unsaved() and tabs.tabText(0) == "a.txt •"  # it now exists only here
    assert tabs.save_current()
    assert path.read_text() == "precious" and not tabs.has_unsaved()


def test_a_deleted_file_that_comes_back_reloads_if_untouched(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("v1")
    editor = _open(tabs, path)
    path.unlink()
    tabs.check_disk_changes()
    assert tabs.has_unsaved()
    path.write_text("v2 from a checkout")
    tabs.check_disk_changes()
    assert editor.text() == "v2 from a checkout" and not tabs.has_unsaved()


def test_our_own_saves_do_not_look_like_outside_changes(
    qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, notices: list[str]
) -> None:
    path = tmp_path / "a.txt"
    path.write_text("v1")
    editor = _open(tabs, path)
    for text in ("a", "b", "c"):
        editor.insert_text(text)
        assert tabs.save_current()
    qtbot.wait(2 * EditorTabs.DISK_CHECK_DELAY_MS)  # let any watcher event arrive; there must be no question
    tabs.check_disk_changes()
    assert notices == ["Saved a.txt."] * 3 and editor.text() == "abcv1"
