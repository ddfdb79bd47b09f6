"""Code-aware ranking on a real (small) project: definitions, dotted paths, tests below code, recency."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.project import Project
from app.core.project.ranking import is_secondary, parse_question
from tests.fixtures.project_tree import write_tree

MakeProject = Callable[..., Project]

ENGINE = '''"""The engine."""


class Engine:
    """Runs a model."""

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False


def load_engine(path: str) -> Engine:
    """Load an engine from ``path``."""
    return Engine()
'''
TESTS = "\n\n".join(
    f"def test_load_engine_{i}():\n    engine = load_engine('m{i}')\n"
    "    assert isinstance(engine, Engine)\n    engine.start()"
    for i in range(30)
)
FILES = {
    "pkg/__init__.py": "",
    "pkg/core/__init__.py": "",
    "pkg/core/engine.py": ENGINE,
    "pkg/app.py": "from pkg.core.engine import Engine, load_engine\n\n\ndef main():\n    return load_engine('x')\n",
    "pkg/cli.py": "from .core import engine\n\n\ndef run():\n    return engine.load_engine('y')\n",
    "pkg/other/engine.py": "class Engine:\n    '''A different engine, for cars.'''\n",
    "pkg/other/__init__.py": "",
    "tests/test_engine.py": "from pkg.core.engine import Engine, load_engine\n\n\n" + TESTS,
    "benchmarks/bench_engine.py": "from pkg.core.engine import load_engine\n\n"
    "for _ in range(9):\n    load_engine('b')\n",
    "pkg/long.py": "\n\n".join(f"def stop_{i}():\n    '''stop the engine {i}'''\n    return {i}" for i in range(80)),
}


def opened(make_project: MakeProject, root: Path) -> Project:
    project = make_project(root)
    project.open()
    return project


def test_the_question_is_read_for_identifiers() -> None:
    question = parse_question("where is def load_engine and class Engine, and Repo.clone_from in git.repo.base?")
    found = {i.name: i for i in question.identifiers}
    assert found["load_engine"].kind == "function"
    assert found["Engine"].kind == "type"
    assert found["clone_from"].container == "Repo"
    assert found["base"].folders == ("git", "repo")
    assert not parse_question("how is a lexer found for foo.py").identifiers  # a file name is not a member
    assert [i.name for i in parse_question("integrate").identifiers] == ["integrate"]  # a bare name is one
    assert parse_question("which tests cover the engine").about_tests
    assert not parse_question("how does the engine start").about_tests


def test_tests_examples_benchmarks_and_vendored_code_are_secondary() -> None:
    for path in (
        "tests/test_a.py",
        "a/tests/b.py",
        "pkg/test_x.py",
        "x_test.go",
        "web/a.spec.ts",
        "conftest.py",
        "examples/demo.py",
        "benchmarks/bench_a.py",
        "vendor/lib.c",
        "pip/_vendor/rich/x.py",
    ):
        assert is_secondary(path), path
    for path in ("pkg/core/engine.py", "testament.py", "src/contest/x.py", "latest/a.py"):
        assert not is_secondary(path), path


def test_a_named_definition_comes_before_tests_and_benchmarks(tmp_path: Path, make_project: MakeProject) -> None:
    project = opened(make_project, write_tree(tmp_path / "p", FILES))
    for question in ("def load_engine", "load_engine", "where is load_engine defined?"):
        hits = project.search(question, 5)
        assert hits[0].path == "pkg/core/engine.py", question
        assert hits[0].is_definition and "load_engine" in hits[0].definitions
        assert hits[0].reasons[0] == "definition of load_engine, named in the question"
    # Plain bm25 puts the test file, which says load_engine thirty times, first: that is what this fixes.
    assert project.search_words("load_engine", 5)[0].path == "tests/test_engine.py"
    # ... and a question about tests does not push them down.
    about_tests = [hit.path for hit in project.search("which tests call load_engine", 5)]
    assert about_tests[:2] == ["pkg/core/engine.py", "tests/test_engine.py"]


def test_dotted_paths_and_kinds_pick_the_right_one_of_two(tmp_path: Path, make_project: MakeProject) -> None:
    project = opened(make_project, write_tree(tmp_path / "p", FILES))
    assert project.search("pkg.other.engine.Engine", 3)[0].path == "pkg/other/engine.py"
    assert project.search("pkg.core.engine.Engine", 3)[0].path == "pkg/core/engine.py"
    # Without a path, the engine that the rest of the project imports wins (centrality).
    assert project.search("class Engine", 3)[0].path == "pkg/core/engine.py"
    method = project.search("Engine.stop", 3)[0]
    assert method.path == "pkg/core/engine.py" and "stop" in method.definitions


def test_one_long_file_cannot_fill_the_results(tmp_path: Path, make_project: MakeProject) -> None:
    project = opened(make_project, write_tree(tmp_path / "p", FILES))
    hits = project.search("stop the engine", 10)
    assert sum(1 for hit in hits if hit.path == "pkg/long.py") <= 2
    assert len({hit.path for hit in hits}) >= 3


def test_recently_touched_files_and_their_neighbours_rank_higher(tmp_path: Path, make_project: MakeProject) -> None:
    project = opened(make_project, write_tree(tmp_path / "p", FILES))
    project.note_file("pkg/cli.py", "edited")
    hits = project.search("run the engine", 10)
    by_path = {hit.path: hit for hit in hits}
    assert "recently edited" in by_path["pkg/cli.py"].reasons
    assert "related by references" in by_path["pkg/core/engine.py"].reasons
    assert project.recent_files() == ["pkg/cli.py"]
    # The current file counts as opened for the question asked with it.
    current = project.search("start", 10, current_file="pkg/app.py")
    assert all("recently" not in r or hit.path == "pkg/app.py" for hit in current for r in hit.reasons)


def test_a_question_without_words_finds_nothing(tmp_path: Path, make_project: MakeProject) -> None:
    project = opened(make_project, write_tree(tmp_path / "p", FILES))
    assert project.search("?! ...", 5) == []
