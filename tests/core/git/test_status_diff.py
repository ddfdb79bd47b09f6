"""Status markers, repository states and diffs on real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.git import (
    ConflictsError,
    StatusMap,
    commit,
    diff_file,
    diff_worktree,
    find_repository,
    init_repository,
    read_status,
    stage,
    staged_diff,
    unstage,
)
from app.core.git.status import parse_porcelain
from tests.core.git.conftest import GitRunner, make_repo


def test_every_status_marker(repo_dir: Path, git: GitRunner) -> None:
    (repo_dir / "app.py").write_text("print('changed')\n")
    (repo_dir / "new.py").write_text("x = 1\n")
    git(repo_dir, "add", "new.py")
    (repo_dir / "scratch.txt").write_text("notes\n")
    (repo_dir / "build").mkdir()
    (repo_dir / "build" / "out.bin").write_text("binary\n")
    (repo_dir / "run.log").write_text("log\n")
    (repo_dir / "lib" / "util.py").unlink()
    repo = find_repository(repo_dir)
    assert repo is not None
    status = StatusMap(read_status(repo))
    assert status.kind_for("app.py") == "modified" and status.marker_for("app.py") == "M"
    assert status.kind_for("new.py") == "added" and status.marker_for("new.py") == "A"
    assert status.kind_for("scratch.txt") == "untracked" and status.marker_for("scratch.txt") == "U"
    assert status.kind_for("run.log") == "ignored"
    # An ignored folder is reported once; what is inside inherits its mark.
    assert status.kind_for("build/out.bin") == "ignored" and status.marker_for("build") == "I"
    assert status.kind_for("lib/util.py") == "deleted"
    assert status.kind_for("lib") == "modified"  # a tracked folder with a change inside
    assert status.marker_for(".gitignore") == ""
    staged = {e.path: (e.staged, e.unstaged) for e in read_status(repo, ignored=False)}
    assert staged["new.py"] == (True, False) and staged["app.py"] == (False, True)
    assert "run.log" not in staged


def test_conflict_marker_and_no_commit_until_resolved(repo_dir: Path, git: GitRunner) -> None:
    git(repo_dir, "checkout", "-q", "-b", "other")
    (repo_dir / "app.py").write_text("print('other')\n")
    git(repo_dir, "commit", "-q", "-am", "other")
    git(repo_dir, "checkout", "-q", "main")
    (repo_dir / "app.py").write_text("print('main')\n")
    git(repo_dir, "commit", "-q", "-am", "main")
    with pytest.raises(AssertionError):
        git(repo_dir, "merge", "other")
    repo = find_repository(repo_dir)
    assert repo is not None
    state = repo.state()
    assert state.merging and state.conflicts == ("app.py",) and not state.can_commit
    assert "1 conflicted" in state.label()
    assert StatusMap(read_status(repo)).marker_for("app.py") == "!"
    with pytest.raises(ConflictsError, match="conflicts"):
        commit(repo, "Merge other")
    (repo_dir / "app.py").write_text("print('both')\n")
    stage(repo, ["app.py"])
    state = repo.state()
    assert state.can_commit and state.merging and state.label() == "main, merging"
    head = commit(repo, "Merge other")
    assert len(git(repo_dir, "rev-list", "--parents", "-n", "1", head).split()) == 3  # a merge commit


def test_rename_parsing() -> None:
    entries = parse_porcelain("R  new.py\0old.py\0 M a b.py\0?? dir/\0")
    assert [(e.kind, e.path, e.orig_path) for e in entries] == [
        ("renamed", "new.py", "old.py"),
        ("modified", "a b.py", None),
        ("untracked", "dir/", None),
    ]


def test_diffs_against_head_index_and_whole_tree(repo_dir: Path) -> None:
    repo = find_repository(repo_dir)
    assert repo is not None
    (repo_dir / "app.py").write_text("print('staged')\n")
    stage(repo, ["app.py"])
    (repo_dir / "app.py").write_text("print('working')\n")
    (repo_dir / "extra.py").write_text("y = 2\n")
    against_head = diff_file(repo, repo_dir / "app.py", "head")
    assert "-print('hello')" in against_head and "+print('working')" in against_head
    against_index = diff_file(repo, "app.py", "index")
    assert "-print('staged')" in against_index and "+print('working')" in against_index
    assert "+print('staged')" in staged_diff(repo) and "working" not in staged_diff(repo)
    untracked = diff_file(repo, "extra.py", "head")
    assert "new file mode" in untracked and "+y = 2" in untracked
    whole = diff_worktree(repo)
    assert "a/app.py" in whole and "b/extra.py" in whole
    unstage(repo, ["app.py"])
    assert staged_diff(repo) == ""


def test_not_a_repository_and_initialising(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.txt").write_text("a\n")
    assert find_repository(folder) is None
    repo = init_repository(folder)
    assert find_repository(folder) is not None
    state = repo.state()
    assert state.no_commits and state.branch is not None and "(no commits)" in state.label()


def test_repository_without_commits(tmp_path: Path) -> None:
    folder = make_repo(tmp_path / "fresh", {"a.py": "a = 1\n"}, commit=False)
    repo = find_repository(folder)
    assert repo is not None
    assert StatusMap(read_status(repo)).marker_for("a.py") == "U"
    assert "+a = 1" in diff_file(repo, "a.py")
    stage(repo, ["a.py"])
    assert "+a = 1" in staged_diff(repo)
    assert StatusMap(read_status(repo)).marker_for("a.py") == "A"
    unstage(repo, ["a.py"])
    assert staged_diff(repo) == ""
    stage(repo, ["a.py"])
    first = commit(repo, "Add a")
    assert repo.head_commit() == first and not repo.state().no_commits


def test_detached_head(repo_dir: Path, git: GitRunner) -> None:
    head = git(repo_dir, "rev-parse", "HEAD").strip()
    git(repo_dir, "checkout", "-q", "--detach")
    repo = find_repository(repo_dir)
    assert repo is not None
    state = repo.state()
    assert state.detached and state.label() == f"detached at {head[:7]}"
    (repo_dir / "app.py").write_text("print('x')\n")
    stage(repo, ["app.py"])
    assert commit(repo, "On a detached head") != head


def test_submodule(tmp_path: Path, git: GitRunner) -> None:
    library = make_repo(tmp_path / "library", {"lib.py": "VALUE = 1\n"})
    outer = make_repo(tmp_path / "outer", {"main.py": "import lib\n"})
    git(outer, "submodule", "add", "-q", str(library), "vendor/library")
    git(outer, "commit", "-q", "-m", "add submodule")
    inner = outer / "vendor" / "library"
    (inner / "lib.py").write_text("VALUE = 2\n")
    repo = find_repository(inner)
    assert repo is not None and repo.root == inner.resolve()
    state = repo.state()
    assert state.submodule_of == outer.resolve() and state.label().endswith("(submodule)")
    assert StatusMap(read_status(repo)).marker_for("lib.py") == "M"
    assert "+VALUE = 2" in diff_file(repo, inner / "lib.py")
    stage(repo, ["lib.py"])
    commit(repo, "Change the value")
    outer_repo = find_repository(outer)
    assert outer_repo is not None
    assert StatusMap(read_status(outer_repo)).marker_for("vendor/library") == "M"


def test_plugins_read_the_repository_through_git_access(repo_dir: Path) -> None:
    from app.api import GitAccess, PluginContext, RepoState
    from app.core.git.access import RepoGitAccess
    from app.core.plugins.context import PluginHost
    from app.core.plugins.manager import PluginManager

    repo = find_repository(repo_dir)
    assert repo is not None
    access: GitAccess = RepoGitAccess(repo)
    host = PluginHost(git=access)
    context: PluginContext = PluginManager(host).context_for("p")
    assert context.has("git") and context.git is access
    (repo_dir / "app.py").write_text("print('bye')\n")
    (repo_dir / "lib" / "util.py").write_text("def f():\n    return 3\n")
    stage(repo, ["lib/util.py"])
    assert sorted(access.status()) == [(" M", "app.py"), ("M ", "lib/util.py")]
    assert "+print('bye')" in access.diff(repo_dir / "app.py") and "return 3" not in access.diff()
    assert "+    return 3" in access.staged_diff()
    state = access.state()
    assert isinstance(state, RepoState) and state.branch == "main" and access.root == repo_dir.resolve()


def test_diff_of_an_untracked_folder_lists_its_files(repo_dir: Path) -> None:
    repo = find_repository(repo_dir)
    assert repo is not None
    (repo_dir / "newpkg" / "deep").mkdir(parents=True)
    (repo_dir / "newpkg" / "a.py").write_text("A = 1\n")
    (repo_dir / "newpkg" / "deep" / "b.py").write_text("B = 2\n")
    (repo_dir / "newpkg" / "skip.log").write_text("ignored\n")
    assert [e.path for e in read_status(repo, ignored=False)] == ["newpkg/"]
    text = diff_file(repo, "newpkg/")
    assert "+A = 1" in text and "+B = 2" in text and "ignored" not in text
    assert diff_file(repo, "newpkg/a.py", "index").count("diff --git") == 1
