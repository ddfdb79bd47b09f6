"""Staging, unstaging and committing, through the git command (so hooks and
the user's configuration apply as they would in a terminal)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from app.core.git.gitcmd import GitCommandError
from app.core.git.repository import GitRepo


class NothingStagedError(GitCommandError):
    """A commit was asked for with nothing staged."""


class ConflictsError(GitCommandError):
    """A commit was asked for while conflicts are unresolved."""


def stage(repo: GitRepo, paths: Sequence[str | Path]) -> None:
    """``git add`` (deletions included)."""
    if paths:
        repo.run("Staging", "add", "-A", "--", *(repo.relative(p) for p in paths))


def unstage(repo: GitRepo, paths: Sequence[str | Path]) -> None:
    """Take ``paths`` out of the index again (the working tree is left alone)."""
    if not paths:
        return
    rels = [repo.relative(p) for p in paths]
    if repo.head_commit() is None:
        repo.run("Unstaging", "rm", "--cached", "-r", "-q", "--ignore-unmatch", "--", *rels)
    else:
        repo.run("Unstaging", "reset", "-q", "HEAD", "--", *rels)


def has_staged(repo: GitRepo) -> bool:
    """Whether the index differs from HEAD."""
    base = "HEAD" if repo.head_commit() is not None else repo.empty_tree()
    return bool(repo.run("Reading the index", "diff", "--cached", "--name-only", base))


def commit(repo: GitRepo, message: str, *, allow_empty: bool = False) -> str:
    """Commit the index with ``message`` (used verbatim, no comment stripping); returns the new commit id."""
    state = repo.state()
    if state.conflicts:
        raise ConflictsError(
            f"{len(state.conflicts)} file(s) still have merge conflicts ({', '.join(state.conflicts[:3])}); "
            "resolve and stage them, then commit."
        )
    if not message.strip():
        raise GitCommandError("The commit message is empty; write a summary line first.")
    if not allow_empty and not state.merging and not has_staged(repo):
        raise NothingStagedError("Nothing is staged; stage the files to commit first.")
    handle, name = tempfile.mkstemp(prefix="quillpad-commit-", suffix=".txt")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(message.rstrip() + "\n")
        extra = ["--allow-empty"] if allow_empty else []
        repo.run("Committing", "commit", "--quiet", "--cleanup=whitespace", "-F", name, *extra)
    finally:
        os.unlink(name)
    head = repo.head_commit()
    assert head is not None
    return head


def commit_paths(repo: GitRepo, paths: Sequence[str | Path], message: str) -> str:
    """Commit exactly ``paths`` as they are on disk, leaving whatever else the user staged staged.

    Used for the auto-commit of accepted AI edits: ``git commit --only`` takes
    just these paths, whatever the index holds for other files.
    """
    state = repo.state()
    if state.conflicts or state.merging:
        raise ConflictsError("A merge is in progress; the AI edit was not committed automatically.")
    rels = [repo.relative(p) for p in paths]
    repo.run("Staging the AI edit", "add", "-A", "--", *rels)
    handle, name = tempfile.mkstemp(prefix="quillpad-commit-", suffix=".txt")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(message.rstrip() + "\n")
        repo.run(
            "Committing the AI edit", "commit", "--quiet", "--cleanup=whitespace", "-F", name, "--only", "--", *rels
        )
    finally:
        os.unlink(name)
    head = repo.head_commit()
    assert head is not None
    return head
