"""Fixtures for the project-context tests: projects that are always closed, so no watcher thread outlives a test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.project import Project
from tests.fixtures.project_tree import write_tree


@pytest.fixture
def make_project(isolated_home: Path) -> Iterator[Callable[..., Project]]:
    """Create projects on real folders with the test's own data folder; all are closed at the end."""
    made: list[Project] = []

    def make(root: Path, **options: Any) -> Project:
        project = Project(root, options.pop("data_dir", isolated_home / "data"), **options)
        made.append(project)
        return project

    yield make
    for project in made:
        project.close()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The sample multi-language project."""
    return write_tree(tmp_path / "proj")
