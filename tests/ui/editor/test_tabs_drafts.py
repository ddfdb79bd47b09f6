"""Drafts: written by the timer while text is unsaved, removed when saved or closed, recovered after a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.drafts import Draft, DraftStore
from app.ui.editor import CodeEditor, EditorTabs
from tests.ui.editor.conftest import recorder


def _editor(tabs: EditorTabs) -> CodeEditor:
    editor = tabs.current_editor()
    assert editor is not None
    return editor


def _texts(drafts_dir: Path) -> dict[str, str]:
    return {d.title: d.text for d in DraftStore(drafts_dir).list()}


def test_the_timer_writes_drafts_of_unsaved_buffers_only(
    qtbot: QtBot, tabs: EditorTabs, tmp_path: Path, drafts_dir: Path
) -> None:
    clean = tmp_path / "clean.txt"
    clean.write_text("nothing to see")
    tabs.open_file(str(clean))
    tabs.new_file("draft one")
    assert tabs._draft_timer.isActive() and tabs._draft_timer.interval() == 3000
    tabs._draft_timer.timeout.emit()  # what the timer does every 3 s
    assert _texts(drafts_dir) == {"Untitled-1": "draft one"}
    assert tabs.write_drafts() == 0  # unchanged since: not written again
    _editor(tabs).insert_text("more ")
    assert tabs.write_drafts() == 1
    assert _texts(drafts_dir) == {"Untitled-1": "more draft one"}


def test_a_saved_buffer_loses_its_draft(tabs: EditorTabs, tmp_path: Path, drafts_dir: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    tabs.open_file(str(path))
    _editor(tabs).insert_text("new ")
    tabs.write_drafts()
    assert [d.path for d in DraftStore(drafts_dir).list()] == [str(path)]
    assert tabs.save_current()
    assert DraftStore(drafts_dir).list() == []


def test_undoing_back_to_the_saved_text_removes_the_draft(tabs: EditorTabs, drafts_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    tabs.open_file(str(path))
    _editor(tabs).insert_text("new ")
    tabs.write_drafts()
    _editor(tabs).undo()
    tabs.write_drafts()
    assert DraftStore(drafts_dir).list() == []


def test_closing_on_purpose_removes_the_draft(tabs: EditorTabs, drafts_dir: Path) -> None:
    tabs.new_file("throw away")
    tabs.write_drafts()
    tabs.ask_save_changes = lambda _titles: "discard"
    assert tabs.close_tab(0)
    assert DraftStore(drafts_dir).list() == []


def test_a_crash_leaves_drafts_that_the_next_start_restores(
    qtbot: QtBot, make_tabs: Callable[[], EditorTabs], tmp_path: Path, drafts_dir: Path
) -> None:
    path = tmp_path / "work.py"
    path.write_text("def f():\n    pass\n")
    crashed = make_tabs()
    crashed.open_file(str(path))
    _editor(crashed).insert_text("# important\n")
    crashed.new_file("scratch notes")
    crashed.write_drafts()
    # The "crash": this EditorTabs is abandoned without closing anything.
    crashed._draft_timer.stop()

    restarted = make_tabs()
    offered: list[list[Draft]] = []
    restarted.ask_restore_drafts = recorder("restore", offered)
    assert restarted.recover_drafts() == 2
    assert [d.title for d in offered[0]] == ["work.py", "Untitled-1"]
    assert restarted.count() == 2 and restarted.has_unsaved()
    restarted.setCurrentIndex(0)
    editor = _editor(restarted)
    assert restarted.current_path() == str(path) and editor.text() == "# important\ndef f():\n    pass\n"
    assert editor.language == "Python" and restarted.tabText(0) == "work.py •"
    editor.undo()  # the file as it is on disk is one undo away
    assert editor.text() == "def f():\n    pass\n"
    editor.redo()
    restarted.setCurrentIndex(1)
    assert _editor(restarted).text() == "scratch notes" and restarted.current_path() is None
    assert restarted.new_file().document().isEmpty()
    assert restarted.tabText(2) == "Untitled-2"  # numbering continues after the restored one
    restarted.setCurrentIndex(0)
    assert restarted.save_current()
    assert path.read_text() == "# important\ndef f():\n    pass\n"
    assert [d.title for d in DraftStore(drafts_dir).list()] == ["Untitled-1"]


def test_drafts_can_be_discarded_or_kept_for_later(make_tabs: Callable[[], EditorTabs], drafts_dir: Path) -> None:
    DraftStore(drafts_dir).save("k1", None, "Untitled-1", "left over")
    tabs = make_tabs()
    tabs.ask_restore_drafts = lambda _drafts: "later"
    assert tabs.recover_drafts() == 0 and tabs.count() == 0
    assert len(DraftStore(drafts_dir).list()) == 1
    tabs.ask_restore_drafts = lambda _drafts: "discard"
    assert tabs.recover_drafts() == 0
    assert DraftStore(drafts_dir).list() == []


def test_nothing_to_restore_asks_nothing(tabs: EditorTabs, tmp_path: Path, drafts_dir: Path) -> None:
    path = tmp_path / "saved.txt"
    path.write_text("same text")
    # A draft equal to the file (a crash right after saving) is silently dropped.
    DraftStore(drafts_dir).save("k", str(path), "saved.txt", "same text")
    assert tabs.recover_drafts() == 0
    assert DraftStore(drafts_dir).list() == []


def test_a_draft_of_a_deleted_file_comes_back_for_its_path(
    make_tabs: Callable[[], EditorTabs], tmp_path: Path, drafts_dir: Path
) -> None:
    path = tmp_path / "gone.md"
    DraftStore(drafts_dir).save("k", str(path), "gone.md", "# kept\n")
    tabs = make_tabs()
    tabs.ask_restore_drafts = lambda _drafts: "restore"
    assert tabs.recover_drafts() == 1
    assert tabs.current_path() == str(path) and _editor(tabs).text() == "# kept\n"
    assert tabs.save_current()
    assert path.read_text() == "# kept\n"


def test_a_draft_of_an_unreadable_file_becomes_a_new_buffer(
    make_tabs: Callable[[], EditorTabs], tmp_path: Path, drafts_dir: Path
) -> None:
    path = tmp_path / "now-binary.txt"
    path.write_bytes(b"\x00\x01\x02binary now")
    DraftStore(drafts_dir).save("k", str(path), "now-binary.txt", "the text")
    tabs = make_tabs()
    tabs.ask_restore_drafts = lambda _drafts: "restore"
    assert tabs.recover_drafts() == 1
    assert tabs.current_path() is None and tabs.tabText(0) == "now-binary.txt (recovered) •"
    assert path.read_bytes() == b"\x00\x01\x02binary now"


def test_a_failing_drafts_folder_is_reported_once(tabs: EditorTabs, notices: list[str], drafts_dir: Path) -> None:
    drafts_dir.parent.mkdir(parents=True, exist_ok=True)
    drafts_dir.write_text("a file where the folder should be")
    tabs.new_file("text")
    assert tabs.write_drafts() == 0
    _editor(tabs).insert_text("more ")
    tabs.write_drafts()
    assert len(notices) == 1 and notices[0].startswith("Unsaved text cannot be backed up in ")
