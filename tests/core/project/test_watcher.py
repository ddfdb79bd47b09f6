"""The watcher with real mechanisms (our inotify tree, watchdog's observers): saves, bursts, renames, ignore
rules, limits, a vanishing root, symlink loops, and mechanisms that fail or stay silent.

Waiting is done by polling a condition; the deadlines only guard against a hang.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.project import Project, ProjectFolderError
from app.core.project import watcher as watcher_module
from app.core.project.ignore import IgnoreRules
from app.core.project.watch_mechanisms import native_mechanism, polling_mechanism
from app.core.project.watcher import FALLBACK_NOTICE, POLLING_FALLBACK_NOTICE
from app.core.text_files import save_text_atomic
from tests.fixtures.project_tree import assert_index_matches_disk, inotify_watch_count, wait_for, write_tree
from tests.fixtures.unprivileged import run_as_nobody
from tests.fixtures.watch_mechanisms import silent_inotify, unsupported

MakeProject = Callable[..., Project]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


class Recorder:
    """Collects on_change calls (they arrive on the watcher's thread)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self._lock = threading.Lock()

    def __call__(self, paths: list[str]) -> None:
        with self._lock:
            self.batches.append(paths)

    @property
    def paths(self) -> set[str]:
        with self._lock:
            return {p for batch in self.batches for p in batch}


def watching(make_project: MakeProject, root: Path, **options: object) -> tuple[Project, Recorder]:
    project = make_project(root, **options)
    project.open()
    recorder = Recorder()
    project.start_watching(recorder)
    assert project.wait_until_idle(30)
    return project, recorder


def searchable(project: Project, word: str, path: str) -> Callable[[], bool]:
    return lambda: any(hit.path == path for hit in project.search(word, 20))


def test_a_saved_file_becomes_searchable_and_is_reported(tree: Path, make_project: MakeProject) -> None:
    project, recorder = watching(make_project, tree)
    assert project.watch_mode == ("inotify" if sys.platform.startswith("linux") else "native")
    (tree / "app/engine.py").write_text("def quasar_beam():\n    return 1\n")
    wait_for(searchable(project, "quasar_beam", "app/engine.py"), what="the edit to be searchable")
    wait_for(lambda: "app/engine.py" in recorder.paths, what="on_change")
    assert project.changed_since_last_message() == ["app/engine.py"]
    assert all(hit.path != "app/engine.py" for hit in project.search("load_engine retries"))


def test_the_editors_atomic_save_is_seen_and_its_temporary_file_never_indexed(
    tree: Path, make_project: MakeProject
) -> None:
    project, recorder = watching(make_project, tree)
    save_text_atomic(tree / "notes/todo.txt", "remember the zeppelin\n")
    wait_for(searchable(project, "zeppelin", "notes/todo.txt"), what="the atomic save")
    assert project.wait_until_idle(30)
    assert all(not p.endswith(".quillpad-tmp") for p in project.files() + sorted(recorder.paths))
    assert_index_matches_disk(project)


def test_a_burst_is_applied_as_one_batch_and_the_index_matches_the_disk(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = write_tree(tmp_path / "p", {"keep.py": "x = 1\n"})
    # A long quiet period: the burst below takes a fraction of it, so it cannot be split in two.
    project, recorder = watching(make_project, root, debounce_seconds=2.0, max_delay_seconds=120.0)
    for i in range(400):
        folder = root / f"pkg{i % 20}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{i}.py").write_text(f"def func_{i}():\n    return {i}\n")
    for i in range(0, 400, 4):
        (root / f"pkg{i % 20}" / f"mod{i}.py").write_text(f"def changed_{i}():\n    return -{i}\n")
    for i in range(1, 400, 4):
        (root / f"pkg{i % 20}" / f"mod{i}.py").unlink()
    for i in range(2, 400, 8):
        os.rename(root / f"pkg{i % 20}" / f"mod{i}.py", root / f"pkg{i % 20}" / f"renamed{i}.py")
    wait_for(lambda: len(recorder.batches) >= 1, what="the batch")
    assert project.wait_until_idle(60)
    assert len(recorder.batches) == 1
    assert len(project.files()) == 1 + 300
    assert project.search("changed_8")[0].path == "pkg8/mod8.py"
    assert_index_matches_disk(project)


@pytest.mark.parametrize(("count", "pending_limit"), [(10_000, None), (2_000, 100)])
def test_thousands_of_files_created_modified_and_deleted_in_one_burst(
    tmp_path: Path,
    make_project: MakeProject,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    pending_limit: int | None,
) -> None:
    if pending_limit is not None:  # so many paths that the batch becomes a full check
        monkeypatch.setattr(watcher_module, "MAX_PENDING_PATHS", pending_limit)
    root = write_tree(tmp_path / "p", {"stay.py": "def stays():\n    pass\n"})
    project, _ = watching(make_project, root)
    created = []
    for i in range(count):
        path = root / f"d{i % 100}" / f"f{i}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"burst file {i}\n")
        created.append(path)
    for path in created[::4]:  # modified, some of them just before they are deleted
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("modified in the burst\n")
    for path in created[:-100]:
        path.unlink()
    for i in range(50):
        shutil.rmtree(root / f"d{i}")
    # Left: stay.py and one file in each of d50..d99.
    wait_for(lambda: project.wait_until_idle(1) and len(project.files()) == 1 + 50, 60, "the burst to settle")
    assert_index_matches_disk(project)  # the full text too: the surviving modified files are indexed as modified


def kept_folders(root: Path) -> int:
    """The folders the inotify tree should watch: the root and every folder the index would walk into."""
    project_rules = IgnoreRules(root)
    count, pending = 1, [""]
    while pending:
        rel = pending.pop()
        for entry in os.scandir(root / rel if rel else root):
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False) and not project_rules.dir_ignored(child):
                count += 1
                pending.append(child)
    return count


def test_folders_renamed_and_deleted(tree: Path, make_project: MakeProject) -> None:
    before = inotify_watch_count()
    project, _ = watching(make_project, tree)
    linux = sys.platform.startswith("linux")

    def watches_follow_the_disk() -> bool:
        return not linux or inotify_watch_count() - before == kept_folders(tree)

    assert watches_follow_the_disk()
    os.rename(tree / "app", tree / "core")
    wait_for(lambda: "core/engine.py" in project.files() and "app/engine.py" not in project.files(), what="rename")
    (tree / "core" / "later.py").write_text("def after_the_rename():\n    pass\n")  # the moved folder is watched
    wait_for(searchable(project, "after_the_rename", "core/later.py"), what="a file in the renamed folder")
    shutil.rmtree(tree / "web")
    wait_for(lambda: not any(p.startswith("web/") for p in project.files()), what="the deleted folder")
    os.rename(tree / "cmd", tree / "node_modules" / "cmd")  # moved into an ignored folder: gone from the index
    os.rename(tree / "secret", tree / "public")  # moved out of an ignored folder: now indexed
    wait_for(lambda: "public/key.txt" in project.files() and "cmd/main.go" not in project.files(), what="moves")
    (tree / "public" / "more.txt").write_text("watched since it left the ignored folder\n")
    (tree / "node_modules" / "cmd" / "main.go").write_text("package ignored\n")
    wait_for(lambda: "public/more.txt" in project.files(), what="a file in the folder moved out of node_modules")
    assert project.wait_until_idle(30)
    wait_for(watches_follow_the_disk, what="no watch left on deleted or ignored folders")
    assert_index_matches_disk(project)


def test_a_folder_deleted_and_recreated_while_watched(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {"pkg/deep/er/a.py": "def first_life():\n    pass\n", "main.py": "x = 1\n"})
    before = inotify_watch_count()
    project, _ = watching(make_project, root)
    shutil.rmtree(root / "pkg")
    wait_for(lambda: project.files() == ["main.py"], what="the deleted folder to leave the index")
    write_tree(root, {"pkg/deep/er/b.py": "def second_life():\n    pass\n"})
    wait_for(searchable(project, "second_life", "pkg/deep/er/b.py"), what="the recreated folder")
    (root / "pkg" / "deep" / "er" / "c.py").write_text("def third_file():\n    pass\n")
    wait_for(searchable(project, "third_file", "pkg/deep/er/c.py"), what="a file in the recreated folder")
    assert project.wait_until_idle(30)
    if sys.platform.startswith("linux"):
        wait_for(lambda: inotify_watch_count() - before == 4, what="root, pkg, deep and er watched once each")
    assert_index_matches_disk(project)


def test_symlink_loops_are_never_followed(tmp_path: Path, make_project: MakeProject) -> None:
    outside = write_tree(tmp_path / "outside", {"elsewhere.py": "def not_in_project():\n    pass\n"})
    root = write_tree(tmp_path / "p", {"a/b/c.py": "def inside():\n    pass\n"})
    os.symlink(root, root / "a" / "b" / "loop")  # a/b/loop/a/b/loop/... for ever
    os.symlink("..", root / "a" / "up")
    os.symlink(outside, root / "out")
    before = inotify_watch_count()
    project, _ = watching(make_project, root)
    if sys.platform.startswith("linux"):
        assert inotify_watch_count() - before == 3  # the root, a and a/b: no link is entered
    os.symlink(root / "a", root / "a" / "b" / "again")  # a loop made while watching
    (root / "a" / "b" / "d.py").write_text("def beside_the_loops():\n    pass\n")
    wait_for(searchable(project, "beside_the_loops", "a/b/d.py"), what="a file beside the loops")
    (outside / "elsewhere.py").write_text("def still_not_in_project():\n    pass\n")
    assert project.wait_until_idle(30)
    assert project.files() == ["a/b/c.py", "a/b/d.py"]
    if sys.platform.startswith("linux"):
        assert inotify_watch_count() - before == 3
    assert_index_matches_disk(project)


def test_a_mechanism_that_delivers_no_events_is_replaced_and_the_user_told_once(
    tree: Path, make_project: MakeProject
) -> None:
    # The preferred mechanism starts and really watches, but its events never arrive: the probe catches it.
    project = make_project(tree, watch_mechanisms=[silent_inotify, native_mechanism, polling_mechanism])
    project.open()
    notices: list[str] = []
    project.start_watching(on_notice=notices.append)
    assert project.wait_until_idle(30)
    assert project.watch_mode == "native"
    attempts = project.watch_attempts
    assert [(a.name, a.problem) for a in attempts] == [("inotify", "delivered no event within 1 s"), ("native", "")]
    assert attempts[1].probe_seconds is not None  # its probe event arrived (within the 1 s window: problem is empty)
    expected = FALLBACK_NOTICE.format(
        failed="Quillpad's inotify watcher", why="delivered no event within 1 s", used="watchdog's standard observer"
    )
    assert notices == [expected]
    assert project.notice == expected
    (tree / "app" / "engine.py").write_text("def seen_by_the_fallback():\n    pass\n")
    wait_for(searchable(project, "seen_by_the_fallback", "app/engine.py"), what="an edit seen by the fallback")
    assert project.wait_until_idle(30)
    assert notices == [expected]
    assert_index_matches_disk(project)


def test_when_every_mechanism_is_silent_it_polls_and_says_so(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree, watch_mechanisms=[silent_inotify, polling_mechanism], poll_interval=0.2)
    project.open()
    project.start_watching()
    assert project.wait_until_idle(30)
    assert project.watch_mode == "polling"
    assert project.notice == POLLING_FALLBACK_NOTICE.format(
        why="Quillpad's inotify watcher delivered no event within 1 s", interval=0.2
    )
    (tree / "notes" / "todo.txt").write_text("polled after the silence\n")
    wait_for(searchable(project, "silence", "notes/todo.txt"), what="an edit seen by polling")
    assert project.wait_until_idle(30)
    assert_index_matches_disk(project)


def test_a_file_system_without_inotify_is_polled_with_a_notice(tree: Path, make_project: MakeProject) -> None:
    mechanisms = [
        unsupported("inotify", "Quillpad's inotify watcher"),
        unsupported("native", "watchdog's standard observer"),
        polling_mechanism,
    ]
    project = make_project(tree, watch_mechanisms=mechanisms, poll_interval=0.2)
    project.open()
    project.start_watching()
    assert project.wait_until_idle(30)
    assert project.watch_mode == "polling"
    assert project.notice is not None
    assert project.notice.startswith("No file watcher works for this project (Quillpad's inotify watcher could not")
    assert "every 0.2 seconds" in project.notice
    (tree / "src" / "lib.rs").write_text("pub fn on_a_network_share() {}\n")
    shutil.rmtree(tree / "web")
    wait_for(searchable(project, "on_a_network_share", "src/lib.rs"), what="an edit seen by polling")
    wait_for(lambda: "web/app.js" not in project.files(), what="a deletion seen by polling")
    assert project.wait_until_idle(30)
    assert_index_matches_disk(project)


def test_a_virtual_environment_created_while_watching_is_never_indexed(
    tmp_path: Path, make_project: MakeProject
) -> None:
    root = write_tree(tmp_path / "p", {"main.py": "x = 1\n"})
    project, recorder = watching(make_project, root)
    (root / "env" / "lib").mkdir(parents=True)
    (root / "env" / "lib" / "installed.py").write_text("def installed_package():\n    pass\n")
    (root / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # the marker arrives last
    (root / "marker.py").write_text("done = True\n")
    wait_for(lambda: "marker.py" in project.files(), what="the batch")
    assert project.wait_until_idle(30)
    assert project.files() == ["main.py", "marker.py"]
    assert not any(p.startswith("env/") for p in recorder.paths)


def test_a_changed_gitignore_is_applied(tree: Path, make_project: MakeProject) -> None:
    project, _ = watching(make_project, tree)
    (tree / ".gitignore").write_text("*.log\nsecret/\n!keep.log\n*.txt\n")
    wait_for(lambda: "notes/todo.txt" not in project.files(), what="newly ignored files to leave")
    (tree / ".gitignore").write_text("")
    wait_for(lambda: {"secret/key.txt", "debug.log"} <= set(project.files()), what="un-ignored files to come")
    (tree / "secret" / "later.txt").write_text("now watched\n")
    wait_for(lambda: "secret/later.txt" in project.files(), what="the folder to be watched once un-ignored")
    assert project.wait_until_idle(30)
    assert_index_matches_disk(project)


@linux_only
def test_no_inotify_watches_inside_ignored_folders(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {"src/a/b/c.py": "x = 1\n", "docs/d.md": "# D\n"})
    for i in range(300):
        (root / "node_modules" / f"pkg{i}" / "lib").mkdir(parents=True)
    for i in range(50):
        (root / "venvish" / "lib" / f"p{i}").mkdir(parents=True)
    (root / "venvish" / "pyvenv.cfg").write_text("home = /usr\n")
    before = inotify_watch_count()
    project, _ = watching(make_project, root)
    assert inotify_watch_count() - before == 5  # the root, src, src/a, src/a/b and docs
    (root / "node_modules" / "late" / "deeper").mkdir(parents=True)
    (root / "src" / "new").mkdir()
    (root / "src" / "new" / "n.py").write_text("def newcomer():\n    pass\n")
    wait_for(searchable(project, "newcomer", "src/new/n.py"), what="a file in a new folder")
    assert inotify_watch_count() - before == 6
    project.stop()
    assert inotify_watch_count() == before


@linux_only
def test_the_watch_limit_falls_back_to_polling_and_says_so_once(tree: Path, make_project: MakeProject) -> None:
    project, _ = watching(make_project, tree, max_watches=3, poll_interval=0.2)
    assert project.watch_mode == "polling"
    assert project.notice is not None and project.notice.count("limit on watched folders") == 1
    (tree / "java" / "Main.java").write_text("class Polled { void zigzag() {} }\n")
    wait_for(searchable(project, "zigzag", "java/Main.java"), what="a change seen by polling")
    (tree / "java" / "Main.java").unlink()
    wait_for(lambda: "java/Main.java" not in project.files(), what="a deletion seen by polling")
    assert project.notice.count("limit on watched folders") == 1
    assert project.wait_until_idle(30)
    assert_index_matches_disk(project)


@linux_only
def test_reaching_the_limit_later_also_falls_back(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {"a/x.py": "x = 1\n"})
    project, _ = watching(make_project, root, max_watches=2, poll_interval=0.2)
    assert project.watch_mode == "inotify"  # the root and a/
    (root / "b").mkdir()
    (root / "b" / "y.py").write_text("def beyond_limit():\n    pass\n")
    wait_for(lambda: project.watch_mode == "polling", what="the switch to polling")
    wait_for(searchable(project, "beyond_limit", "b/y.py"), what="the file in the unwatched folder")
    assert project.notice is not None and project.notice.count("limit on watched folders") == 1
    assert project.wait_until_idle(30)
    assert_index_matches_disk(project)


def test_polling_mode_keeps_the_index_current(tree: Path, make_project: MakeProject) -> None:
    project, recorder = watching(make_project, tree, force_polling=True, poll_interval=0.2)
    assert project.watch_mode == "polling" and project.notice is None
    assert [a.name for a in project.watch_attempts] == ["polling"]
    (tree / "src" / "lib.rs").write_text("pub fn polled_fn() {}\n")
    (tree / "node_modules" / "lib" / "index.js").write_text("ignored anyway\n")
    wait_for(searchable(project, "polled_fn", "src/lib.rs"), what="a change seen by polling")
    assert project.wait_until_idle(30)
    assert "node_modules/lib/index.js" not in recorder.paths
    assert_index_matches_disk(project)


def test_the_project_folder_deleted_while_open(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree)
    project.open()
    notices: list[str] = []
    project.start_watching(on_notice=notices.append)
    assert project.wait_until_idle(30)
    shutil.rmtree(tree)
    wait_for(lambda: project.files() == [], what="the index to empty")
    wait_for(lambda: project.notice is not None and "was deleted or moved" in (project.notice or ""), what="notice")
    assert project.wait_until_idle(30)
    assert_index_matches_disk(project)
    assert notices == [f"The project folder {tree} was deleted or moved; reopen it to use it as context again."]
    project.stop()
    project.stop()


def test_a_data_folder_inside_the_project_is_not_watched_into_a_loop(tree: Path, make_project: MakeProject) -> None:
    project, recorder = watching(make_project, tree, data_dir=tree / "quillpad-data")
    assert project.index_path.is_relative_to(tree)
    (tree / "README.md").write_text("# Inside\n")
    wait_for(searchable(project, "inside", "README.md"), what="the edit")
    assert project.wait_until_idle(30)
    assert recorder.batches == [["README.md"]]
    assert not any(p.startswith("quillpad-data/") for p in project.files())
    assert_index_matches_disk(project)


def test_watching_a_folder_that_is_gone_is_refused(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree)
    project.open()
    shutil.rmtree(tree)
    with pytest.raises(ProjectFolderError, match=r"cannot watch .* for changes"):
        project.start_watching()
    assert project.watch_mode == "stopped"


def test_stop_is_idempotent_and_restartable(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree)
    project.stop()  # never started
    project.open()
    project.start_watching()
    project.stop()
    project.stop()
    assert project.watch_mode == "stopped"
    project.start_watching()
    (tree / "README.md").write_text("# Restarted watcher\n")
    wait_for(searchable(project, "restarted", "README.md"), what="the restarted watcher")


def permissions_scenario(base: Path) -> None:
    """A folder made unreadable while watched, one unreadable from the start, both opened again later.

    Runs as an unprivileged user (see ``run_as_nobody``); the checks that depend on permissions are skipped
    only in the warm-up run as root, where permission bits do not apply.
    """
    bound = os.geteuid() != 0  # root reads everything: only another user sees the folders close
    files = {
        "a.py": "x = 1\n",
        "locked/b.py": "def behind_the_lock():\n    pass\n",
        "locked/inner/c.py": "y = 2\n",
        "closed/d.py": "def closed_from_the_start():\n    pass\n",
    }
    root = write_tree(base / "proj", files)
    os.chmod(root / "closed", 0)
    with Project(root, base / "data") as project:
        project.open()
        project.start_watching()
        assert project.wait_until_idle(30)
        assert ("closed/d.py" in project.files()) is not bound
        assert_index_matches_disk(project)
        os.chmod(root / "locked", 0)
        if bound:
            wait_for(lambda: not any(p.startswith("locked/") for p in project.files()), what="the locked files to go")
        (root / "new.py").write_text("def still_watched():\n    pass\n")
        wait_for(searchable(project, "still_watched", "new.py"), what="a file beside the locked folder")
        assert project.wait_until_idle(30)
        assert_index_matches_disk(project)
        os.chmod(root / "locked", 0o755)
        os.chmod(root / "closed", 0o755)
        wait_for(lambda: {"locked/b.py", "locked/inner/c.py", "closed/d.py"} <= set(project.files()), what="unlocked")
        (root / "closed" / "e.py").write_text("def watched_once_readable():\n    pass\n")
        wait_for(searchable(project, "watched_once_readable", "closed/e.py"), what="a file in the opened folder")
        assert project.wait_until_idle(30)
        assert_index_matches_disk(project)


def test_permissions_removed_from_a_subfolder(tmp_path: Path) -> None:
    run_as_nobody(permissions_scenario, tmp_path)
