"""The repository a folder belongs to, and what state it is in.

``find_repository`` answers "is this folder in a git repository?" (None when
it is not); ``GitRepo.state()`` reports what the UI must know before it
offers anything: the branch or a detached HEAD, a repository without commits,
a merge in progress and its conflicted files, whether it is a submodule.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.git.gitcmd import GitCommandError, command_error, load_git

# Environment for every git command: never prompt, never page, stable output.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}


@dataclass(frozen=True)
class RepoState:
    """What the repository looks like right now."""

    root: Path
    branch: str | None  # None on a detached HEAD
    head: str | None  # the commit HEAD points at; None before the first commit
    merging: bool
    conflicts: tuple[str, ...] = field(default_factory=tuple)  # repository-relative paths
    submodule_of: Path | None = None  # the superproject's working tree

    @property
    def detached(self) -> bool:
        return self.branch is None

    @property
    def no_commits(self) -> bool:
        return self.head is None

    @property
    def can_commit(self) -> bool:
        """False while conflicts are unresolved."""
        return not self.conflicts

    def label(self) -> str:
        """The status-bar text, e.g. ``main``, ``main (no commits)``, ``detached at 1a2b3c4``."""
        if self.branch is None:
            text = f"detached at {self.head[:7]}" if self.head else "detached"
        else:
            text = self.branch + (" (no commits)" if self.head is None else "")
        if self.conflicts:
            text += f", {len(self.conflicts)} conflicted"
        elif self.merging:
            text += ", merging"
        if self.submodule_of is not None:
            text += " (submodule)"
        return text


class GitRepo:
    """A git working tree, through gitpython. Paths given to it may be absolute or root-relative."""

    def __init__(self, repo: Any) -> None:
        self.repo = repo
        self.root = Path(repo.working_tree_dir).resolve()
        self.git_dir = Path(repo.git_dir).resolve()
        # gitpython reads objects through one long-lived ``git cat-file`` process per repository;
        # two threads asking at once (the git panel's refresh, the commit dialog's) read each
        # other's answers and one waits forever. Every use of the object database holds this.
        self.objects_lock = threading.RLock()

    # -- running git ---------------------------------------------------------

    def run(self, action: str, *args: str, env: dict[str, str] | None = None, strip: bool = True) -> str:
        """``git ARGS`` in the working tree; a failure becomes ``GitCommandError`` naming ``action``."""
        git = load_git()
        try:
            output: str = self.repo.git.execute(
                [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *args],
                env={**GIT_ENV, **(env or {})},
                strip_newline_in_stdout=strip,
            )
        except git.GitCommandError as err:
            raise command_error(action, err) from None
        return output

    def relative(self, path: str | Path) -> str:
        """``path`` relative to the root, with forward slashes; raises if it is outside."""
        candidate = Path(path)
        if not candidate.is_absolute():
            return candidate.as_posix()
        resolved = Path(os.path.realpath(candidate))
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            raise GitCommandError(f"{path} is not inside the repository {self.root}; pick a file in it.") from None

    # -- state ---------------------------------------------------------------

    def head_commit(self) -> str | None:
        """HEAD's commit id, or None before the first commit."""
        with self.objects_lock:
            head = self.repo.head
            return str(head.commit.hexsha) if head.is_valid() else None

    def state(self) -> RepoState:
        """Branch, HEAD, merge and conflicts, submodule."""
        with self.objects_lock:
            head = self.repo.head
            branch = None if head.is_detached else str(head.reference.name)
        conflicts = self._conflicts()
        superproject = self.run("Finding the superproject", "rev-parse", "--show-superproject-working-tree")
        return RepoState(
            root=self.root,
            branch=branch,
            head=self.head_commit(),
            merging=(self.git_dir / "MERGE_HEAD").exists(),
            conflicts=conflicts,
            submodule_of=Path(superproject) if superproject.strip() else None,
        )

    def _conflicts(self) -> tuple[str, ...]:
        output = self.run("Listing conflicts", "diff", "--name-only", "--diff-filter=U", "-z")
        return tuple(sorted({p for p in output.split("\0") if p}))

    def empty_tree(self) -> str:
        """The id of the empty tree (what HEAD is compared with before the first commit)."""
        return self.run("Hashing the empty tree", "hash-object", "-t", "tree", os.devnull)


def find_repository(folder: str | Path) -> GitRepo | None:
    """The repository ``folder`` is in (its own or a parent's), or None when it is in none.

    Raises ``GitUnavailableError`` when git is not installed.
    """
    git = load_git()
    try:
        repo = git.Repo(str(folder), search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if repo.bare or repo.working_tree_dir is None:
        return None
    return GitRepo(repo)


def init_repository(folder: str | Path) -> GitRepo:
    """Create a repository in ``folder`` ("Initialise repository")."""
    git = load_git()
    try:
        repo = git.Repo.init(str(folder))
    except git.GitCommandError as err:
        raise command_error("Initialising the repository", err) from None
    return GitRepo(repo)


__all__ = ["GIT_ENV", "GitCommandError", "GitRepo", "RepoState", "find_repository", "init_repository"]
