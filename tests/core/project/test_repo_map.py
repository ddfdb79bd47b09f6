"""The repository map: ranked by the question and the open files, always within its budget."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.project import Project, estimate_tokens

MakeProject = Callable[..., Project]


def files_in(repo_map: str) -> list[str]:
    return [line.rstrip(":") for line in repo_map.splitlines() if line and not line.startswith(" ")]


def test_the_whole_map_of_a_small_project(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree)
    project.open()
    text = project.repo_map(budget_tokens=4000)
    assert "app/engine.py:\n  class Engine\n    def __init__(self, path: str) -> None\n" in text
    assert set(files_in(text)) == {
        "app/engine.py",
        "app/watcher.py",
        "web/app.js",
        "web/types.ts",
        "cmd/main.go",
        "src/lib.rs",
        "native/util.c",
        "native/shape.hpp",
        "java/Main.java",
        "README.md",
    }


def test_the_question_and_the_open_files_rank_first(tree: Path, make_project: MakeProject) -> None:
    project = make_project(tree)
    project.open()
    assert files_in(project.repo_map("where is the norm of a Point computed?"))[0] == "src/lib.rs"
    ranked = files_in(project.repo_map(open_files=["app/watcher.py"]))
    assert ranked[:2] == ["app/watcher.py", "app/engine.py"]  # the watcher calls load_engine and uses Engine
    assert files_in(project.repo_map(open_files=[str(tree / "java/Main.java")]))[0] == "java/Main.java"


@pytest.mark.parametrize("budget", [0, 5, 20, 60, 150])
def test_the_budget_is_respected(tree: Path, make_project: MakeProject, budget: int) -> None:
    project = make_project(tree)
    project.open()
    text = project.repo_map("engine", budget_tokens=budget)
    assert estimate_tokens(text) <= budget
    words = project.repo_map("engine", budget_tokens=budget, count_tokens=lambda s: len(s.split()))
    assert len(words.split()) <= budget
    if budget >= 60:
        assert files_in(text)[0] == "app/engine.py"


def test_a_big_outline_is_shortened_before_it_is_left_out(tmp_path: Path, make_project: MakeProject) -> None:
    methods = "".join(
        f"    def method_number_{i}(self, argument_{i}: int) -> int:\n        return {i}\n" for i in range(60)
    )
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "big.py").write_text(f"class Huge:\n{methods}\n\ndef top_level():\n    pass\n")
    project = make_project(tmp_path / "p")
    project.open()
    text = project.repo_map(budget_tokens=30)
    assert text == "big.py:\n  class Huge\n  def top_level()"
