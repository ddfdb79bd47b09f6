"""Paths a tool may touch: inside the project folder, whatever the model writes."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from app.core.errors import QuillpadError


def project_path(root: Path, requested: str) -> Path:
    """``requested`` (relative to ``root``) as a resolved path inside ``root``.

    Refuses, with one sentence, an absolute path, one climbing out with
    ``..``, and one whose resolved target (through symbolic links) is outside
    the project.
    """
    text = requested.strip() or "."
    if "\0" in text:
        raise QuillpadError("The path contains a NUL character; give a path relative to the project folder.")
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise QuillpadError(f"{requested} is an absolute path; give a path relative to the project folder.")
    if ".." in PurePosixPath(text.replace("\\", "/")).parts:
        raise QuillpadError(f"{requested} leads out of the project folder; give a path inside it.")
    base = root.resolve()
    target = (base / text).resolve()
    if target != base and base not in target.parents:
        raise QuillpadError(f"{requested} points outside the project folder (through a link); it was not opened.")
    return target


def relative_name(root: Path, path: Path) -> str:
    """``path`` as the model should write it: relative to the project, with forward slashes."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return path.name
