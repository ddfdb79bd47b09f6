"""From a reply to applied edits: per file and per hunk, one undo step, new files on accept only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.edits.commit import StaleEditError, apply_proposal
from app.core.edits.document import MemoryDocument, MemoryEditor
from app.core.edits.proposal import EditTarget, build_edit_proposal, replacement_proposal
from app.core.errors import QuillpadError

MAIN = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(12))

REPLY = """Two changes and a new test.

app/main.py
```python
<<<<<<< SEARCH
def f1():
    return 1
=======
def f1():
    return "one"
>>>>>>> REPLACE
```

app/main.py
```python
<<<<<<< SEARCH
def f10():
    return 10
=======
def f10():
    return "ten"
>>>>>>> REPLACE
```

tests/test_main.py
```python
import subprocess

def test_f1():
    subprocess.run("ls", shell=True)
```

../outside.py
```python
print("escape")
```
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text(MAIN)
    (root / "app" / "other.py").write_text("x = 1\n")
    return root


@pytest.fixture
def editor(project: Path) -> MemoryEditor:
    editor = MemoryEditor()
    editor.open(project / "app" / "main.py")
    return editor


def target(editor: MemoryEditor, project: Path) -> EditTarget:
    return EditTarget(editor.current(), project)


def test_proposal_per_file_with_hunks_notes_and_safety(editor: MemoryEditor, project: Path) -> None:
    proposal = build_edit_proposal(REPLY, target(editor, project), editor)
    assert [change.key for change in proposal] == ["app/main.py", "tests/test_main.py"]
    main, test = proposal.changes
    assert len(main.hunks) == 2 and not main.is_new and main.document is editor.current()
    assert test.is_new and len(test.hunks) == 1
    assert any("outside the project" in note for note in proposal.notes)
    assert main.safety is not None and main.safety.scanned and not main.findings()
    assert {f.test_id for f in test.findings()} >= {"B602"}
    assert "app/main.py: +2 −2" in proposal.summary() and "tests/test_main.py: new file" in proposal.summary()
    assert not (project / "tests").exists()  # nothing is written before the user accepts


def test_accept_one_hunk_is_one_undo_step(editor: MemoryEditor, project: Path) -> None:
    document = editor.current()
    assert isinstance(document, MemoryDocument)
    proposal = build_edit_proposal(REPLY, target(editor, project), editor)
    applied = apply_proposal(proposal, {"app/main.py": {1}}, editor)
    assert [(a.key, a.hunks, a.created) for a in applied] == [("app/main.py", 1, False)]
    assert 'return "ten"' in document.text() and 'return "one"' not in document.text()
    assert document.undo_steps == 1 and not (project / "tests" / "test_main.py").exists()
    assert document.undo() and document.text() == MAIN
    assert (project / "app" / "main.py").read_text() == MAIN  # the buffer changed, not the file


def test_accept_all_creates_new_files_only_now(editor: MemoryEditor, project: Path) -> None:
    proposal = build_edit_proposal(REPLY, target(editor, project), editor)
    apply_proposal(proposal, proposal.accept_all(), editor)
    created = project / "tests" / "test_main.py"
    assert created.read_text().startswith("import subprocess\n") and created.read_text().endswith(")\n")
    assert editor.find(created) is not None
    main = editor.find(project / "app" / "main.py")
    assert main is not None and 'return "one"' in main.text() and 'return "ten"' in main.text()
    assert not (project.parent / "outside.py").exists()


def test_rejecting_everything_changes_nothing(editor: MemoryEditor, project: Path) -> None:
    proposal = build_edit_proposal(REPLY, target(editor, project), editor)
    assert apply_proposal(proposal, {}, editor) == ()
    assert apply_proposal(proposal, {"app/main.py": set(), "tests/test_main.py": {99}}, editor) == ()
    assert editor.current().text() == MAIN  # type: ignore[union-attr]
    assert not (project / "tests").exists()


def test_stale_document_is_refused_before_anything_changes(editor: MemoryEditor, project: Path) -> None:
    proposal = build_edit_proposal(REPLY, target(editor, project), editor)
    document = editor.current()
    assert isinstance(document, MemoryDocument)
    document.insert(0, "# edited meanwhile\n")
    with pytest.raises(StaleEditError, match="changed after"):
        apply_proposal(proposal, proposal.accept_all(), editor)
    assert not (project / "tests").exists() and document.undo_steps == 1


def test_new_file_that_appeared_meanwhile_is_not_overwritten(editor: MemoryEditor, project: Path) -> None:
    proposal = build_edit_proposal(REPLY, target(editor, project), editor)
    (project / "tests").mkdir()
    (project / "tests" / "test_main.py").write_text("mine\n")
    with pytest.raises(StaleEditError):
        apply_proposal(proposal, {"tests/test_main.py": {0}}, editor)
    assert (project / "tests" / "test_main.py").read_text() == "mine\n"


def test_symlink_planted_at_a_new_path_is_not_followed(editor: MemoryEditor, project: Path) -> None:
    proposal = build_edit_proposal(REPLY, target(editor, project), editor)
    (project / "tests").mkdir()
    os.symlink(project.parent / "victim.py", project / "tests" / "test_main.py")
    with pytest.raises(QuillpadError, match="outside the project"):
        apply_proposal(proposal, {"tests/test_main.py": {0}}, editor)
    assert not (project.parent / "victim.py").exists()
    os.unlink(project / "tests" / "test_main.py")
    os.symlink(project / "app" / "other.py", project / "tests" / "test_main.py")
    with pytest.raises(QuillpadError):
        apply_proposal(proposal, {"tests/test_main.py": {0}}, editor)
    assert (project / "app" / "other.py").read_text() == "x = 1\n"


def test_files_not_open_are_opened_and_edited_in_the_editor(editor: MemoryEditor, project: Path) -> None:
    reply = "app/other.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    proposal = build_edit_proposal(reply, target(editor, project), editor)
    (change,) = proposal.changes
    assert change.document is None and change.original == "x = 1\n"
    apply_proposal(proposal, proposal.accept_all(), editor)
    opened = editor.find(project / "app" / "other.py")
    assert opened is not None and opened.text() == "x = 2\n" and opened.undo_steps == 1


def test_headless_without_editor_writes_files(project: Path) -> None:
    document = MemoryDocument((project / "app" / "other.py").read_text(), project / "app" / "other.py")
    reply = "<<<<<<< SEARCH\nx = 1\n=======\nx = 3\n>>>>>>> REPLACE"
    proposal = build_edit_proposal(reply, EditTarget(document, project), None)
    assert proposal.changes[0].document is document
    apply_proposal(proposal, proposal.accept_all())
    assert document.text() == "x = 3\n"


def test_blocks_that_match_nothing_are_notes(editor: MemoryEditor, project: Path) -> None:
    reply = "<<<<<<< SEARCH\ndef nothing():\n=======\npass\n>>>>>>> REPLACE"
    proposal = build_edit_proposal(reply, target(editor, project), editor)
    assert proposal.empty and "match nothing" in proposal.notes[0]


def test_untitled_document_and_no_project(tmp_path: Path) -> None:
    document = MemoryDocument("a = 1\n")
    reply = "<<<<<<< SEARCH\na = 1\n=======\na = 2\n>>>>>>> REPLACE\n\nb.py\n```python\nprint(2)\n```"
    proposal = build_edit_proposal(reply, EditTarget(document, None), None)
    assert [change.key for change in proposal] == ["untitled"]
    assert "open a project folder" in proposal.notes[0]
    apply_proposal(proposal, proposal.accept_all())
    assert document.text() == "a = 2\n"


def test_replacement_proposal_is_an_insertion_at_the_cursor(tmp_path: Path) -> None:
    document = MemoryDocument("def f():\n    pass\n", tmp_path / "x.py", cursor=9)
    proposal = replacement_proposal(document, 9, 9, "    x = eval('1')\n", root=tmp_path)
    (change,) = proposal.changes
    assert change.key == "x.py" and len(change.hunks) == 1
    assert [f.test_id for f in change.findings()] == ["B307"]
    apply_proposal(proposal, proposal.accept_all())
    assert document.text() == "def f():\n    x = eval('1')\n    pass\n" and document.undo_steps == 1
    assert replacement_proposal(document, 0, 0, "").empty
