"""Read access to the project's repository for plugins (``PluginContext.git``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.core.git.diff import diff_file, diff_worktree, staged_diff
from app.core.git.repository import GitRepo, RepoState
from app.core.git.status import read_status


class RepoGitAccess:
    """The ``GitAccess`` service over one repository: status, diffs and state, never writes."""

    def __init__(self, repo: GitRepo) -> None:
        self._repo = repo

    @property
    def root(self) -> Path:
        """The repository's working tree."""
        return self._repo.root

    def status(self) -> Sequence[tuple[str, str]]:
        """(porcelain code, repository-relative path) per changed or untracked file."""
        return [(entry.code, entry.path) for entry in read_status(self._repo, ignored=False)]

    def diff(self, path: Path | None = None) -> str:
        """Unstaged changes (working tree against the index), for one file or all."""
        if path is None:
            return diff_worktree(self._repo, "index")
        return diff_file(self._repo, path, "index")

    def staged_diff(self) -> str:
        """What the next commit would record."""
        return staged_diff(self._repo)

    def state(self) -> RepoState:
        """Branch, HEAD, merge and conflicts."""
        return self._repo.state()
