"""The in-memory document and editor used headless and in tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.edits.document import Document, DocumentError, Editor, MemoryDocument, MemoryEditor


def test_memory_types_meet_the_protocols() -> None:
    assert isinstance(MemoryDocument(), Document) and isinstance(MemoryEditor(), Editor)


def test_edits_are_undo_steps() -> None:
    document = MemoryDocument("hello world", cursor=0)
    document.select(6, 11)
    assert document.selection().text == "world" and document.cursor() == 11
    document.replace(6, 11, "there")
    document.insert(0, "oh, ")
    document.apply_edit("new text")
    assert document.undo_steps == 3 and document.modified
    assert document.undo() and document.text() == "oh, hello there"
    assert document.redo() and document.text() == "new text"
    assert document.undo() and document.undo() and document.undo() and document.text() == "hello world"
    assert not document.undo()
    with pytest.raises(DocumentError, match="outside the document"):
        document.replace(5, 99, "x")


def test_editor_opens_finds_and_saves(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    editor = MemoryEditor()
    document = editor.open(path)
    assert editor.current() is document and editor.find(tmp_path / "." / "a.py") is document
    assert editor.open(path) is document
    document.apply_edit("x = 2\n")
    assert editor.save_all() == [path] and path.read_text() == "x = 2\n" and not document.modified
    with pytest.raises(DocumentError, match="no file yet"):
        MemoryDocument("x").save()
