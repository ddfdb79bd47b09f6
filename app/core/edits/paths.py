"""Turning a path a model wrote into a file inside the project, or refusing it.

Models give paths relative to the project, absolute, with Windows
separators, prefixed with the project folder's own name, or as a bare file
name. All of these are accepted when they land inside the project root;
anything that leaves it (``..``, an absolute path elsewhere, a symbolic link
pointing out, ``~``) is refused, and so is the ``.git`` folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.core.errors import QuillpadError

_MAX_PATH_CHARS = 1024
_PROTECTED_PARTS = frozenset({".git"})


class UnsafePathError(QuillpadError):
    """A path an edit may not touch; the message names it and says why."""


@dataclass(frozen=True)
class ProjectPath:
    """A file inside the project: its real absolute path and its project-relative name."""

    path: Path
    relative: str

    @property
    def exists(self) -> bool:
        return _exists(self.path)


def _clean(raw: str) -> str:
    text = raw.strip().strip("\"'`").strip()
    return text.replace("\\", "/")


def _encodable(text: str) -> bool:
    try:
        os.fsencode(text)
    except UnicodeError:
        return False
    return True


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the file system, say
        return False


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _real(path: Path) -> Path:
    # realpath follows every symbolic link, including in parts that exist
    # only as links to missing targets, and leaves missing tail parts as they are.
    return Path(os.path.realpath(path))


def resolve_project_path(
    raw: str,
    root: Path,
    *,
    current: Path | None = None,
    known_files: Iterable[str] = (),
) -> ProjectPath:
    """Where ``raw`` points inside ``root``; raises ``UnsafePathError`` if outside.

    ``current`` (the open file) and ``known_files`` (project-relative names)
    resolve bare or misremembered names: ``main.py`` means the current file
    when it has that name, or the one project file with that name.
    """
    text = _clean(raw)
    shown = raw.strip()[:80] or "(empty)"
    if not text or len(text) > _MAX_PATH_CHARS or "\x00" in text or not _encodable(text):
        raise UnsafePathError(f"The edit's file path {shown!r} is not a usable path; nothing was written there.")
    if text.startswith("~"):
        raise UnsafePathError(f"The edit's file path {shown!r} points into a home folder, outside the project.")
    try:
        real_root = _real(root)
        candidate = Path(text)
        if not candidate.is_absolute():
            candidate = _relative_candidate(text, real_root, current, known_files)
        real = _real(real_root / candidate)
    except (OSError, ValueError) as err:
        raise UnsafePathError(f"The edit's file path {shown!r} cannot be used ({err}); nothing was written.") from None
    if not _inside(real, real_root):
        raise UnsafePathError(
            f"The edit's file path {shown!r} is outside the project folder {real_root}; it was refused."
        )
    relative = real.relative_to(real_root)
    if real == real_root or not relative.parts:
        raise UnsafePathError(f"The edit's file path {shown!r} names the project folder itself, not a file.")
    if _PROTECTED_PARTS.intersection(relative.parts):
        raise UnsafePathError(f"The edit's file path {shown!r} is inside the .git folder, which edits never touch.")
    return ProjectPath(real, relative.as_posix())


def _relative_candidate(text: str, root: Path, current: Path | None, known_files: Iterable[str]) -> Path:
    """Pick the most likely meaning of a relative path that the model wrote."""
    pure = PurePosixPath(text)
    if _exists(root / pure):
        return Path(pure)
    # "myproject/app/x.py" when the project folder is myproject.
    if len(pure.parts) > 1 and pure.parts[0] == root.name and _exists(root.joinpath(*pure.parts[1:])):
        return Path(*pure.parts[1:])
    if len(pure.parts) == 1:
        if current is not None and current.name == pure.name:
            return current
        matches = [name for name in known_files if PurePosixPath(name).name == pure.name]
        if len(matches) == 1:
            return Path(matches[0])
    return Path(pure)
