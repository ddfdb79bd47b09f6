"""Real temporary repositories for the git tests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

GitRunner = Callable[..., str]


def run_git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; returns stdout."""
    env_args = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    env_args += ["-c", "commit.gpgsign=false", "-c", "protocol.file.allow=always"]
    done = subprocess.run(["git", *env_args, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def make_repo(path: Path, files: dict[str, str] | None = None, commit: bool = True) -> Path:
    """A repository at ``path`` with ``files`` (committed unless ``commit`` is False)."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(path, "init", "-q")
    run_git(path, "config", "user.name", "Test")
    run_git(path, "config", "user.email", "test@example.com")
    run_git(path, "config", "commit.gpgsign", "false")
    for name, text in (files or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    if commit and files:
        run_git(path, "add", "-A")
        run_git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """A repository with two committed files and a .gitignore."""
    return make_repo(
        tmp_path / "repo",
        {"app.py": "print('hello')\n", "lib/util.py": "def f():\n    return 1\n", ".gitignore": "build/\n*.log\n"},
    )


@pytest.fixture
def git() -> GitRunner:
    return run_git
