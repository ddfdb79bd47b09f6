"""Which Python runs a project's tests: its own virtual environment if it has one."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.frozen import is_frozen, system_python

VENV_NAMES = (".venv", "venv", "env", ".env")


class InterpreterError(QuillpadError):
    """The configured interpreter cannot be used."""


@dataclass(frozen=True)
class ProjectPython:
    """An interpreter and why it was chosen."""

    path: str
    source: str  # "configured" | "project venv" | "active venv" | "Quillpad's own" | "Python on PATH"


def _python_in(venv: Path) -> Path | None:
    for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_project_python(root: str | Path, configured: str | None = None) -> ProjectPython:
    """The configured interpreter, else the project's venv, else an active one, else ours
    (in the desktop binary, which has no interpreter: Python 3 from PATH)."""
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise InterpreterError(
                f"The configured Python {path} does not exist or cannot run; fix it in the settings."
            )
        return ProjectPython(str(path), "configured")
    for name in VENV_NAMES:
        found = _python_in(Path(root) / name)
        if found:
            return ProjectPython(str(found), "project venv")
    active = os.environ.get("VIRTUAL_ENV")
    if active and (found := _python_in(Path(active))):
        return ProjectPython(str(found), "active venv")
    if not is_frozen():
        return ProjectPython(sys.executable, "Quillpad's own")
    python = system_python()
    if python is None:
        raise InterpreterError(
            "Running tests needs a Python 3 interpreter; install Python 3 (with pytest), "
            "or set the project's Python in the settings."
        )
    return ProjectPython(python, "Python on PATH")
