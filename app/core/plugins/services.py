"""The app's services as plugins see them: small protocols, so the real
implementations and test fakes are interchangeable.

``ModelClient`` lives in ``app.core.engine.model_client`` (git and the
evaluation use it too) and is re-exported here. ``ProjectAccess`` is what the project index offers.
``GitAccess`` is met by ``app.core.git.access.RepoGitAccess`` while the open
folder is in a git repository. ``Sandbox`` is provisional: nothing
implements it yet, so the context gives plugins ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from app.core.engine.model_client import ModelClient as ModelClient  # re-exported: part of the plugin API

if TYPE_CHECKING:
    from app.core.git.repository import RepoState

NoticeLevel = Literal["info", "warning", "error"]


class SearchHit(Protocol):
    """One result of a project search."""

    @property
    def path(self) -> Path:
        """The file, relative to the project root."""
        ...

    @property
    def text(self) -> str:
        """The matching part of the file."""
        ...


@runtime_checkable
class ProjectAccess(Protocol):
    """The open project folder."""

    @property
    def root(self) -> Path:
        """The project folder (absolute)."""
        ...

    def files(self) -> Sequence[Path]:
        """Project-relative paths of the project's files (ignored files left out)."""
        ...

    def search(self, query: str, k: int = 8) -> Sequence[SearchHit]:
        """The ``k`` best matches for ``query``."""
        ...

    def assemble_context(self, query: str, max_chars: int) -> str:
        """Context about the project for a message about ``query``, within ``max_chars``."""
        ...


class GitAccess(Protocol):
    """The open folder's git repository, read-only (``PluginContext.git``; None outside a repository)."""

    @property
    def root(self) -> Path:
        """The repository's working tree (absolute)."""
        ...

    def status(self) -> Sequence[tuple[str, str]]:
        """(two-letter porcelain status code, repository-relative path) per changed or untracked file."""
        ...

    def diff(self, path: Path | None = None) -> str:
        """Unstaged changes (working tree against the index), for one file or all."""
        ...

    def staged_diff(self) -> str:
        """What the next commit would record (the index against HEAD)."""
        ...

    def state(self) -> RepoState:
        """Branch (None when detached), HEAD, merge in progress and conflicted files, submodule."""
        ...


class RunResult(Protocol):
    """Provisional: the outcome of a sandboxed run."""

    @property
    def exit_code(self) -> int | None:
        """The exit code; None if the run was stopped."""
        ...

    @property
    def output(self) -> str:
        """What the command printed."""
        ...


class Sandbox(Protocol):
    """Provisional: runs commands in the sandbox (not provided yet)."""

    def run(self, argv: Sequence[str], cwd: Path, timeout: float) -> RunResult:
        """Run ``argv`` and wait for it, at most ``timeout`` seconds."""
        ...


class Notifier(Protocol):
    """Shows the user a short notice."""

    def notify(self, message: str, level: NoticeLevel = "info") -> None:
        """Show ``message`` (one sentence) at ``level``; callable from any thread."""
        ...


class SettingsSection(Protocol):
    """A plugin's own settings: JSON values under string keys, saved at once."""

    def get(self, key: str, default: Any = None) -> Any:
        """The value for ``key``, or ``default``."""
        ...

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-compatible) and save; raises ``QuillpadError`` otherwise."""
        ...

    def values(self) -> dict[str, Any]:
        """A copy of every stored value."""
        ...


@runtime_checkable
class RepoMapAccess(Protocol):
    """A project that can also draw its repository map (the app's own project does)."""

    def repo_map(self, query: str = "", budget_tokens: int = 1024) -> str:
        """The files and their main symbols, ranked for ``query``, within ``budget_tokens``."""
        ...
