"""Unified diffs of a file or of the whole working tree, against HEAD or the index.

Users' diff settings that change the text (external diff tools, colour,
textconv) are switched off so the output is always a plain unified diff.
Before the first commit, HEAD is the empty tree; untracked files show as
wholly added.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from app.core.git.repository import GitRepo

DiffBase = Literal["head", "index", "staged"]
_PLAIN = ("--no-ext-diff", "--no-color", "--no-textconv")


def _head_or_empty(repo: GitRepo) -> str:
    return "HEAD" if repo.head_commit() is not None else repo.empty_tree()


def _untracked_diff(repo: GitRepo, rel: str) -> str:
    # --no-index exits 1 when the files differ, which is the normal case here.
    git = repo.repo.git
    output: str = git.execute(
        [git.GIT_PYTHON_GIT_EXECUTABLE or "git", "diff", "--no-index", *_PLAIN, "--", os.devnull, rel],
        with_exceptions=False,
        strip_newline_in_stdout=False,
    )
    return output


def _untracked(repo: GitRepo, rel: str | None) -> list[str]:
    """Untracked, not ignored files (those inside untracked folders one by one), under ``rel`` or everywhere."""
    args = ["ls-files", "--others", "--exclude-standard", "-z"]
    listed = repo.run("Listing untracked files", *args, *(["--", rel] if rel else []), strip=False)
    return [p for p in listed.split("\0") if p]


def diff_file(repo: GitRepo, path: str | Path, base: DiffBase = "head") -> str:
    """The diff of one file: working tree against HEAD or the index, or ``staged`` (index against HEAD)."""
    rel = repo.relative(path)
    if base == "staged":
        text = repo.run(
            "Reading the staged diff", "diff", "--cached", *_PLAIN, _head_or_empty(repo), "--", rel, strip=False
        )
        return text
    if base == "index":
        text = repo.run("Reading the diff", "diff", *_PLAIN, "--", rel, strip=False)
    else:
        text = repo.run("Reading the diff", "diff", *_PLAIN, _head_or_empty(repo), "--", rel, strip=False)
    if not text and (base == "head" or not _tracked(repo, rel)):
        text = "".join(_untracked_diff(repo, name) for name in _untracked(repo, rel))
    return text


def _tracked(repo: GitRepo, rel: str) -> bool:
    return bool(repo.run("Checking the file", "ls-files", "--", rel))


def diff_worktree(repo: GitRepo, base: DiffBase = "head") -> str:
    """The whole working tree's diff (untracked files included as added), or the staged diff."""
    if base == "staged":
        return staged_diff(repo)
    if base == "index":
        text = repo.run("Reading the diff", "diff", *_PLAIN, strip=False)
    else:
        text = repo.run("Reading the diff", "diff", *_PLAIN, _head_or_empty(repo), strip=False)
    return text + "".join(_untracked_diff(repo, rel) for rel in _untracked(repo, None))


def staged_diff(repo: GitRepo) -> str:
    """What a commit would record now: the index against HEAD."""
    return repo.run("Reading the staged diff", "diff", "--cached", *_PLAIN, _head_or_empty(repo), strip=False)


def split_by_file(diff: str) -> list[tuple[str, str]]:
    """(path, that file's part of ``diff``) for each file in a unified diff."""
    parts: list[tuple[str, str]] = []
    current: list[str] = []
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git ") and current:
            parts.append((_path_of(current[0]), "".join(current)))
            current = []
        current.append(line)
    if current:
        parts.append((_path_of(current[0]), "".join(current)))
    return parts


def _path_of(header: str) -> str:
    # "diff --git a/x b/x": the b side is the new name.
    marker = header.rfind(" b/")
    return header[marker + 3 :].strip() if marker >= 0 else header.strip()


def count_changes(part: str) -> tuple[int, int]:
    """(added, removed) lines in one file's diff."""
    added = removed = 0
    for line in part.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed
