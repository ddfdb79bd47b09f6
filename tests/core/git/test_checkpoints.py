"""Checkpoints of AI edits and exact undo, in repositories and plain folders."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.core.git import CHECKPOINT_REF, CheckpointError, CheckpointStore
from tests.core.git.conftest import GitRunner, make_repo


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    found = {}
    for path in root.rglob("*"):
        if ".git" in path.relative_to(root).parts or not path.is_file():
            continue
        found[path.relative_to(root).as_posix()] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return found


def _user_git_state(root: Path, git: GitRunner) -> tuple[str, ...]:
    """Everything of the user's that checkpoints must leave alone."""
    index = (root / ".git" / "index").read_bytes() if (root / ".git" / "index").exists() else b""
    return (
        git(root, "status", "--porcelain=v1"),
        git(root, "for-each-ref", "refs/heads", "refs/tags", "refs/stash"),
        git(root, "stash", "list"),
        str(hash(index)),
    )


def _edit_session(store: CheckpointStore, root: Path) -> list[dict[str, tuple[bytes, int]]]:
    """Three AI edits (modify, create in a new folder, make executable and modify again); the states before each."""
    before = []
    before.append(_snapshot(root))
    store.record(["app.py"], "Rename the greeting", model="tiny.gguf")
    (root / "app.py").write_bytes(b"print('hi')\r\n# crlf kept\r\n\xff\xfe raw bytes\n")
    before.append(_snapshot(root))
    store.record(["app.py", "pkg/sub/new.py"], "Add a module")
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "sub" / "new.py").write_text("NEW = True\n")
    (root / "app.py").write_text("import pkg\n")
    before.append(_snapshot(root))
    store.record([root / "app.py"], "Make it a script")
    (root / "app.py").write_text("#!/usr/bin/env python\n")
    os.chmod(root / "app.py", 0o755)
    return before


def test_undo_in_a_repository_is_exact_and_survives_a_restart(repo_dir: Path, tmp_path: Path, git: GitRunner) -> None:
    (repo_dir / "app.py").write_text("print('unsaved user work')\n")  # uncommitted, and it must come back too
    git(repo_dir, "add", "lib/util.py")
    user_state = _user_git_state(repo_dir, git)
    store = CheckpointStore.for_folder(repo_dir, tmp_path / "data")
    assert store.in_repository
    before = _edit_session(store, repo_dir)
    assert git(repo_dir, "rev-list", "--count", CHECKPOINT_REF).strip() == "3"
    # "Restart": a new store over the same folder sees the same history.
    store = CheckpointStore.for_folder(repo_dir, tmp_path / "data")
    changes = store.ai_changes()
    assert [c.checkpoint.label for c in changes] == ["Make it a script", "Add a module", "Rename the greeting"]
    assert changes[0].checkpoint.model is None and changes[2].checkpoint.model == "tiny.gguf"
    result = store.undo_last()
    assert result.restored == ("app.py",)
    assert _snapshot(repo_dir) == before[2]
    result = store.undo_last()
    assert result.deleted == ("pkg/sub/new.py",) and not (repo_dir / "pkg").exists()
    assert _snapshot(repo_dir) == before[1]
    result = store.undo_last()
    assert _snapshot(repo_dir) == before[0]
    assert (repo_dir / "app.py").read_text() == "print('unsaved user work')\n"
    with pytest.raises(CheckpointError, match="no AI change left"):
        store.undo_last()
    assert all(change.undone for change in store.ai_changes())
    # The user's index, branches, stash and status were never touched by checkpoints.
    assert _user_git_state(repo_dir, git) == user_state
    assert not (repo_dir / ".git" / "refs" / "stash").exists()


def test_restoring_an_earlier_change_takes_back_the_later_ones(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "app.py").write_text("original\n")
    store = CheckpointStore.for_folder(folder, tmp_path / "data")
    assert not store.in_repository
    before = _edit_session(store, folder)
    store = CheckpointStore.for_folder(folder, tmp_path / "data")  # after a restart
    oldest = store.ai_changes()[-1].checkpoint
    result = store.restore(oldest.id)
    assert len(result.undone) == 3
    assert _snapshot(folder) == before[0]
    with pytest.raises(CheckpointError, match="already undone"):
        store.restore(oldest.id)
    # The undo itself was checkpointed: what it overwrote is kept.
    safety = next(c for c in store.checkpoints() if c.id == result.safety)
    saved = {state.path: store.content(state) for state in safety.files}
    assert saved["app.py"] == b"#!/usr/bin/env python\n" and saved["pkg/sub/new.py"] == b"NEW = True\n"


def test_a_new_repository_without_commits(tmp_path: Path, git: GitRunner) -> None:
    folder = make_repo(tmp_path / "fresh", {"a.py": "a = 1\n"}, commit=False)
    store = CheckpointStore.for_folder(folder, tmp_path / "data")
    store.record(["a.py"], "Change a")
    (folder / "a.py").write_text("a = 2\n")
    store.undo_last()
    assert (folder / "a.py").read_text() == "a = 1\n"
    # Still no commit on the user's branch, nothing staged.
    assert git(folder, "status", "--porcelain=v1") == "?? a.py\n"
    assert git(folder, "for-each-ref", "refs/heads") == ""


def test_refusals(tmp_path: Path, repo_dir: Path) -> None:
    store = CheckpointStore.for_folder(repo_dir, tmp_path / "data")
    with pytest.raises(CheckpointError, match="outside"):
        store.record([tmp_path / "elsewhere.py"], "x")
    with pytest.raises(CheckpointError, match="not a regular file"):
        store.record(["lib"], "x")
    with pytest.raises(CheckpointError, match="not in this project"):
        store.restore("0" * 40)


@pytest.mark.parametrize("in_repo", [True, False])
def test_unsaved_editor_texts_come_back_after_a_restart(
    in_repo: bool, repo_dir: Path, tmp_path: Path, git: GitRunner
) -> None:
    root = repo_dir if in_repo else tmp_path / "plain"
    if not in_repo:
        root.mkdir()
        (root / "app.py").write_text("print('hello')\n")
    user_state = _user_git_state(repo_dir, git)
    disk = (root / "app.py").read_bytes()
    typed = "print('hello')\n# typed, never saved 🙂\n"
    store = CheckpointStore.for_folder(root, tmp_path / "data")
    assert store.in_repository is in_repo
    checkpoint = store.record(
        ["app.py", "new.py"],
        "AI edit",
        buffers={root / "app.py": typed, root / "other.py": "not touched", tmp_path / "elsewhere.py": "outside"},
    )
    by_path = {f.path: f for f in checkpoint.files}
    assert by_path["app.py"].buffer is not None and by_path["new.py"].buffer is None
    (root / "new.py").write_text("created by the model\n")
    if in_repo:
        git(root, "gc", "-q", "--prune=now")  # the ref's tree holds the text, so gc keeps it
        tree = git(root, "ls-tree", "-r", "--name-only", CHECKPOINT_REF)
        assert tree == "buffers/app.py\nfiles/app.py\nmanifest.json\n"
    restarted = CheckpointStore.for_folder(root, tmp_path / "data")
    result = restarted.undo_last(buffers={root / "app.py": "the AI's text, unsaved"})
    assert dict(result.buffers) == {"app.py": typed}
    assert (root / "app.py").read_bytes() == disk and not (root / "new.py").exists()
    # The undo's own safety checkpoint kept the text it replaces in the tab.
    safety = next(c for c in restarted.checkpoints() if c.kind == "undo")
    state = next(f for f in safety.files if f.path == "app.py")
    assert state.buffer is not None and restarted.backend.get(state.buffer).decode() == "the AI's text, unsaved"
    if in_repo:
        assert _user_git_state(repo_dir, git) == user_state
