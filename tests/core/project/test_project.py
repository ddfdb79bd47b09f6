"""Opening projects: the first index, incremental reopening, interrupted opening, bad input of every kind."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.project import Project, ProjectFolderError, project_index_path
from app.core.project.indexer import FileChange
from tests.fixtures.project_tree import INDEXED, assert_index_matches_disk, write_tree

MakeProject = Callable[..., Project]
HOUR_AGO_NS = (time.time_ns() // 10**9 - 3600) * 10**9


def age(root: Path) -> None:
    """Date every file an hour back, so none is "racily clean" (just written when it was indexed)."""
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.utime(path, ns=(HOUR_AGO_NS, HOUR_AGO_NS))


def test_open_indexes_the_project(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree)
    stats = project.open()
    assert project.files() == sorted(INDEXED)
    assert (stats.files, stats.added, stats.updated, stats.removed) == (len(INDEXED), len(INDEXED), 0, 0)
    assert stats.chunks >= len(INDEXED) - 1 and stats.bytes > 0 and stats.seconds > 0
    assert stats.skipped == 1  # data/blob.dat: binary content
    assert project.index_path == project_index_path(tree, project.data_dir) and project.index_path.exists()
    assert project.notice is None
    assert_index_matches_disk(project)
    assert stats.to_dict()["files"] == len(INDEXED)


def test_reopening_reads_only_what_changed_while_closed(tree: Path, make_project: MakeProject) -> None:
    age(tree)
    first = make_project(tree)
    first.open()
    before = first._index.file_states()
    first.close()

    (tree / "app/engine.py").write_text("class Engine:\n    pass\n")  # modified
    (tree / "notes/todo.txt").unlink()  # deleted
    os.rename(tree / "web/app.js", tree / "web/main.js")  # renamed
    (tree / "app/new.py").write_text("def fresh():\n    return 1\n")  # added
    os.utime(tree / "README.md")  # touched: new time, same content

    project = make_project(tree)
    stats = project.open()
    assert (stats.added, stats.updated, stats.removed) == (2, 1, 2)
    assert stats.unchanged == len(INDEXED) - 3  # README.md was read again and found unchanged
    after = project._index.file_states()
    untouched = INDEXED - {"app/engine.py", "notes/todo.txt", "web/app.js", "README.md"}
    assert {p: after[p].checked_ns for p in untouched} == {p: before[p].checked_ns for p in untouched}
    assert after["README.md"].checked_ns > before["README.md"].checked_ns
    assert project.search("fresh")[0].path == "app/new.py"
    assert project.search("dispatch")[0].path == "web/main.js"
    assert_index_matches_disk(project)


def test_a_change_in_the_same_clock_tick_as_indexing_is_caught(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {"a.py": "alpha = 1\n"})
    project = make_project(root)
    project.open()
    stamp = (root / "a.py").stat().st_mtime_ns
    (root / "a.py").write_text("omega = 1\n")  # same size, and the clock did not move on
    os.utime(root / "a.py", ns=(stamp, stamp))
    project.close()
    again = make_project(root)
    assert again.open().updated == 1
    assert again.search("omega") and not again.search("alpha")


def test_update_reindexes_only_the_named_file(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree)
    project.open()
    indexer = project._ensure_index()
    before = project._index.file_states()
    (tree / "app/watcher.py").write_text("def watch_folder(folder):\n    return None\n")
    result = indexer.update({"app/watcher.py"}, keep_text=True)
    [change] = result.changes
    assert (change.path, change.kind) == ("app/watcher.py", "modified")
    assert change.old_text is not None and "load_engine(folder)" in change.old_text
    assert change.new_text is not None and "return None" in change.new_text
    after = project._index.file_states()
    assert all(after[p].checked_ns == before[p].checked_ns for p in INDEXED - {"app/watcher.py"})


def test_vanished_and_never_existing_paths(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree)
    project.open()
    indexer = project._ensure_index()
    (tree / "app/watcher.py").unlink()  # deleted between the event and the read
    result = indexer.update({"app/watcher.py", "no/such/file.py", "node_modules/lib/index.js"})
    assert result.changes == [FileChange("app/watcher.py", "removed", None, None)]
    result = indexer.update((), dirs={"app", "missing-dir"})
    assert result.changes == []
    assert_index_matches_disk(project)


def test_bad_input_does_not_stop_indexing(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {"good.py": "def good():\n    return 1\n", "sub/x.txt": "x\n"})
    (root / "mixed.txt").write_bytes(("ünïcode\n" * 50).encode() + b"latin-1: caf\xe9\n")
    (root / "cp1252.txt").write_bytes("naïve café\n".encode("cp1252"))
    (root / "blob").write_bytes(b"\x00\x01" * 1000)
    (root / "empty.py").write_bytes(b"")
    with open(root / "huge.log.txt", "wb") as handle:
        handle.truncate(500 * 1024**2)  # sparse: 500 MB long, no disk used
    (root / os.fsdecode(b"bad\xffname.py")).write_text("x = 1\n")
    os.symlink(root / "sub", root / "sub" / "loop")
    os.symlink(root / "nowhere", root / "dangling.py")
    os.mkfifo(root / "pipe.py")
    locked = root / "locked.py"
    locked.write_text("secret = 1\n")
    locked.chmod(0)
    project = make_project(root)
    stats = project.open()
    expected = {"good.py", "sub/x.txt", "mixed.txt", "cp1252.txt", "empty.py"}
    if os.geteuid() == 0:
        expected.add("locked.py")  # root reads it anyway
    assert set(project.files()) == expected
    assert stats.skipped >= 1
    assert "caf" in project.read("cp1252.txt").text  # type: ignore[union-attr]
    assert_index_matches_disk(project)


def test_files_deleted_or_renamed_while_being_indexed(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {f"m{i:03}.py": f"def f{i}():\n    return {i}\n" for i in range(300)})
    project = make_project(root)
    moved: list[str] = []

    def meanwhile(done: int, total: int) -> None:
        if not moved:  # after the first batch: change files the walk has listed but not read yet
            for i in range(200, 300, 2):
                (root / f"m{i:03}.py").unlink()
            for i in range(201, 300, 2):
                os.rename(root / f"m{i:03}.py", root / f"renamed{i:03}.py")
                moved.append(f"renamed{i:03}.py")

    stats = project.open(progress=meanwhile)
    assert stats.files == 200 and stats.skipped == 100 and not stats.interrupted
    assert stats.skipped_by == {"gone": 100} and stats.skipped_text() == "100 deleted before they could be read"
    assert not set(moved) & set(project.files())  # not seen by that walk ...
    assert project.open().added == 50  # ... but by the next check
    assert_index_matches_disk(project)


def test_stop_interrupts_opening_and_the_next_open_finishes(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {f"m{i:03}.py": f"def f{i}():\n    return {i}\n" for i in range(300)})
    project = make_project(root)
    stats = project.open(progress=lambda done, total: project.stop())
    assert stats.interrupted and 0 < stats.files < 300
    assert project.search("f0")  # what was written before the stop is searchable
    assert not project.open().interrupted
    assert len(project.files()) == 300
    assert_index_matches_disk(project)


def test_folder_problems_are_one_sentence(tmp_path: Path, make_project: MakeProject) -> None:
    with pytest.raises(ProjectFolderError, match=r"does not exist; choose an existing project folder\.$"):
        make_project(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ProjectFolderError, match="is not a folder"):
        make_project(tmp_path / "file.txt")
    root = write_tree(tmp_path / "p", {"a.py": "x = 1\n"})
    project = make_project(root)
    os.rename(root, tmp_path / "moved")
    with pytest.raises(ProjectFolderError, match="no longer exists"):
        project.open()


def test_an_unwritable_data_folder_still_gives_a_working_project(tree: Path, make_project: MakeProject) -> None:
    blocked = tree.parent / "data-file"
    blocked.write_text("a file where the data folder should be")
    project = make_project(tree, data_dir=blocked)
    assert project.open().files == len(INDEXED)
    assert project.notice is not None and "kept in memory" in project.notice
    assert project.search("load_engine")[0].path == "app/engine.py"


def test_the_same_folder_through_a_link_shares_one_index(tree: Path, make_project: MakeProject) -> None:
    os.symlink(tree, tree.parent / "alias")
    first = make_project(tree)
    first.open()
    first.close()
    second = make_project(tree.parent / "alias")
    assert second.root == tree and second.open().added == 0


def test_refresh_indexes_saved_files_at_once(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {"a.py": "x = 1\n"})
    project = make_project(root)
    project.open()
    (root / "a.py").write_text("def saved_now():\n    return 1\n")
    (root / "b.py").write_text("y = 2\n")
    assert project.refresh([str(root / "a.py"), "b.py", "/elsewhere/c.py"]) == ["a.py", "b.py"]
    assert project.search("saved_now", 1)[0].path == "a.py"
    assert project.refresh(["a.py"]) == []  # nothing changed since
    assert sorted(project.changed_since_last_message()) == ["a.py", "b.py"]
    assert_index_matches_disk(project)
