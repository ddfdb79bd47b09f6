"""Finding git and importing gitpython without crashing when git is missing.

gitpython looks for the ``git`` program when it is imported and raises if it
is not found, unless ``GIT_PYTHON_REFRESH`` says to stay quiet. Quillpad
must run without git (git features are then hidden with a notice), so every
module imports gitpython through ``load_git()``, which checks for the program
first and turns its absence into ``GitUnavailableError``.
"""

from __future__ import annotations

import os
import shutil
from types import ModuleType

from app.core.errors import QuillpadError

GIT_MISSING = "Git features need the git program, which was not found on PATH; install git and restart Quillpad."


class GitUnavailableError(QuillpadError):
    """The git executable is not on PATH."""


class GitCommandError(QuillpadError):
    """A git command failed; the message says which and why."""


def git_executable() -> str | None:
    """The git program gitpython will use, or None when there is none."""
    configured = os.environ.get("GIT_PYTHON_GIT_EXECUTABLE")
    if configured:
        return shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
    return shutil.which("git")


def git_available() -> bool:
    """Whether git features can work on this machine."""
    return git_executable() is not None


def load_git() -> ModuleType:
    """The ``git`` module (gitpython); raises ``GitUnavailableError`` without a git program."""
    if not git_available():
        raise GitUnavailableError(GIT_MISSING)
    # Quiet: we checked above, and a failed refresh must never raise at import.
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    import git

    return git


def command_error(action: str, err: Exception) -> GitCommandError:
    """A one-sentence error for a failed git command (its own stderr, shortened)."""
    stderr = str(getattr(err, "stderr", "") or "").strip()
    for prefix in ("stderr: ", "'", "fatal: ", "error: "):
        stderr = stderr.removeprefix(prefix)
    stderr = stderr.rstrip("'").strip()
    first = stderr.splitlines()[0].strip() if stderr else str(err).splitlines()[0]
    if "Please tell me who you are" in stderr or "empty ident" in stderr:
        return GitCommandError(
            f"{action} failed because git does not know who you are; set user.name and user.email "
            '(git config --global user.name "Your Name") and try again.'
        )
    return GitCommandError(f"{action} failed: {first.rstrip('.')}. Check the repository in a terminal.")
