"""Which Python runs a project's tests: the project's own, never Quillpad's.

In order: the interpreter set for this project in the settings; the
project's virtual environment (``.venv``, ``venv``, ``env``, ``.env`` — uv's
project environment is ``.venv`` too); a Poetry environment (the project's
``pyproject.toml`` has ``[tool.poetry]`` and ``poetry env info -p`` names it);
a conda environment named in the project's ``environment.yml``; else
``python3`` on PATH. Quillpad's own interpreter is never chosen, not even
through PATH when the app was started from its activated venv: it has
Quillpad's packages, not the project's, and advice to install pytest there
would be wrong (issue 26).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.frozen import external_env, is_frozen

VENV_NAMES = (".venv", "venv", "env", ".env")
_TOOL_TIMEOUT_S = 10


class InterpreterError(QuillpadError):
    """The configured interpreter cannot be used, or there is none."""


@dataclass(frozen=True)
class ProjectPython:
    """An interpreter and why it was chosen."""

    path: str
    source: str  # "set in the settings" | "project venv" | "Poetry env" | "conda env NAME" | "python3 on PATH"

    def describe(self) -> str:
        """``/path/to/python (project venv)``."""
        return f"{self.path} ({self.source})"


def _python_in(env: Path) -> Path | None:
    for candidate in (env / "bin" / "python", env / "Scripts" / "python.exe", env / "python.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _own_environment() -> Path | None:
    """Quillpad's own venv (None when it runs from a system Python or the binary)."""
    if is_frozen() or sys.prefix == sys.base_prefix:
        return None
    return Path(sys.prefix).resolve()


def _poetry_env(root: Path) -> Path | None:
    pyproject = root / "pyproject.toml"
    poetry = shutil.which("poetry")
    if poetry is None or not pyproject.is_file() or "[tool.poetry" not in pyproject.read_text(errors="replace"):
        return None
    try:
        done = subprocess.run(
            [poetry, "env", "info", "--path"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_TOOL_TIMEOUT_S,
            check=False,
            env=external_env(),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    path = done.stdout.strip()
    return Path(path) if done.returncode == 0 and path else None


def _conda_env_name(root: Path) -> str | None:
    for name in ("environment.yml", "environment.yaml"):
        file = root / name
        if file.is_file():
            match = re.search(r"^name:\s*['\"]?([\w.-]+)", file.read_text(errors="replace"), re.MULTILINE)
            if match:
                return match.group(1)
    return None


def _conda_envs() -> list[Path]:
    """Environments conda knows (``conda env list --json``), else the usual folders."""
    conda = os.environ.get("CONDA_EXE") or shutil.which("conda") or shutil.which("mamba")
    if conda:
        try:
            done = subprocess.run(
                [conda, "env", "list", "--json"], capture_output=True, text=True, timeout=_TOOL_TIMEOUT_S, check=False
            )
            return [Path(p) for p in json.loads(done.stdout).get("envs", [])]
        except (OSError, subprocess.SubprocessError, ValueError, AttributeError):
            pass
    home = Path.home()
    bases = [home / "miniconda3", home / "anaconda3", home / "miniforge3", home / "mambaforge", home / ".conda"]
    return [env for base in bases if (base / "envs").is_dir() for env in (base / "envs").iterdir()]


def _conda_env(root: Path) -> tuple[str, Path] | None:
    name = _conda_env_name(root)
    if name is None:
        return None
    for env in _conda_envs():
        if env.name == name:
            return name, env
    return None


def _python_on_path() -> str | None:
    """``python3`` (or ``python``) on PATH, skipping Quillpad's own venv."""
    own = _own_environment()
    folders = [f for f in os.environ.get("PATH", "").split(os.pathsep) if f]
    if own is not None:
        folders = [f for f in folders if not Path(f).resolve().is_relative_to(own)]
    for name in ("python3", "python"):
        found = shutil.which(name, path=os.pathsep.join(folders))
        if found:
            return found
    return None


def detect_project_python(root: str | Path) -> ProjectPython | None:
    """The project's interpreter found without any setting, or None."""
    base = Path(root)
    for name in VENV_NAMES:
        found = _python_in(base / name)
        if found:
            return ProjectPython(str(found), "project venv")
    poetry = _poetry_env(base)
    if poetry is not None and (found := _python_in(poetry)):
        return ProjectPython(str(found), "Poetry env")
    conda = _conda_env(base)
    if conda is not None and (found := _python_in(conda[1])):
        return ProjectPython(str(found), f"conda env {conda[0]}")
    on_path = _python_on_path()
    return ProjectPython(on_path, "python3 on PATH") if on_path else None


def find_project_python(root: str | Path, configured: str | None = None) -> ProjectPython:
    """The configured interpreter (argument, else this project's setting), else the detected one."""
    if not configured:
        configured = configured_python(root)
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise InterpreterError(
                f"The Python set for this project ({path}) does not exist or cannot run; "
                "change it in Settings ▸ Project."
            )
        return ProjectPython(str(path), "set in the settings")
    found = detect_project_python(root)
    if found is None:
        raise InterpreterError(
            "Running tests needs the project's Python and none was found (no .venv or venv, Poetry or conda "
            "environment, or python3 on PATH); create the project's venv or set its Python in Settings ▸ Project."
        )
    return found


def project_key(root: str | Path) -> str:
    """How a project is named in the settings: its resolved folder."""
    return str(Path(root).expanduser().resolve())


def configured_python(root: str | Path) -> str | None:
    """The interpreter set for this project in the settings (None: detect)."""
    from app.core.paths import app_paths
    from app.core.settings import load_settings

    project = load_settings(app_paths()).settings.projects.get(project_key(root))
    return project.python if project is not None else None
