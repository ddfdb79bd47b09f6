"""Paths from the model: accepted inside the project, refused outside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.edits.paths import UnsafePathError, resolve_project_path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print(1)\n")
    (root / ".git").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret\n")
    return root


@pytest.mark.parametrize(
    "raw",
    ["app/main.py", "./app/main.py", "'app/main.py'", "`app/main.py`", "app\\main.py", "proj/app/main.py"],
)
def test_relative_forms(project: Path, raw: str) -> None:
    found = resolve_project_path(raw, project)
    assert found.relative == "app/main.py" and found.exists


def test_absolute_inside(project: Path) -> None:
    assert resolve_project_path(str(project / "app" / "main.py"), project).relative == "app/main.py"


def test_bare_name_means_current_or_the_only_match(project: Path) -> None:
    current = project / "app" / "main.py"
    assert resolve_project_path("main.py", project, current=current).relative == "app/main.py"
    assert resolve_project_path("main.py", project, known_files=["app/main.py"]).relative == "app/main.py"
    assert resolve_project_path("main.py", project, known_files=["a/main.py", "b/main.py"]).relative == "main.py"


def test_new_file_inside(project: Path) -> None:
    found = resolve_project_path("tests/test_new.py", project)
    assert found.relative == "tests/test_new.py" and not found.exists


@pytest.mark.parametrize(
    "raw",
    ["../outside/secret.txt", "app/../../outside/secret.txt", "~/.bashrc", "/etc/passwd", "", "a\x00b", ".git/config"],
)
def test_refused(project: Path, raw: str) -> None:
    with pytest.raises(UnsafePathError) as err:
        resolve_project_path(raw, project)
    assert str(err.value).endswith((".", "refused."))


def test_absolute_elsewhere_refused(project: Path) -> None:
    with pytest.raises(UnsafePathError, match="outside the project"):
        resolve_project_path(str(project.parent / "outside" / "secret.txt"), project)


def test_symlinks_out_are_refused(project: Path) -> None:
    os.symlink(project.parent / "outside", project / "link")
    os.symlink(project.parent / "outside" / "secret.txt", project / "app" / "secret.py")
    os.symlink(project.parent / "nowhere.py", project / "dangling.py")
    for raw in ("link/secret.txt", "link/new.py", "app/secret.py", "dangling.py"):
        with pytest.raises(UnsafePathError, match="outside the project"):
            resolve_project_path(raw, project)


def test_symlink_inside_is_followed(project: Path) -> None:
    os.symlink(project / "app", project / "alias")
    assert resolve_project_path("alias/main.py", project).relative == "app/main.py"


def test_project_root_itself_and_odd_names(project: Path) -> None:
    for raw in (".", str(project), "x" * 2000, "\ud800.py"):
        with pytest.raises(UnsafePathError):
            resolve_project_path(raw, project)
