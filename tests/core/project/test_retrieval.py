"""Assembling the context for a message: priorities, the budget, truncation, @path mentions, what was dropped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.project import AssembledContext, InvalidQueryError, Project, estimate_tokens
from app.core.project.mentions import find_mentions
from app.core.project.retrieval import TRUNCATION_MARK
from tests.fixtures.project_tree import wait_for, write_tree

MakeProject = Callable[..., Project]


def words(text: str) -> int:
    """A stand-in tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def opened(make_project: MakeProject, root: Path) -> Project:
    project = make_project(root)
    project.open()
    return project


def check_budget(context: AssembledContext, budget: int, count: Callable[[str], int] = estimate_tokens) -> None:
    assert context.total_tokens <= budget
    assert context.total_tokens == (
        context.header_tokens + sum(i.tokens for i in context.items) if context.items else 0
    )
    assert count(context.render()) <= budget


def test_everything_fits_in_priority_order(tree: Path, make_project: MakeProject) -> None:
    project = opened(make_project, tree)
    context = project.assemble_context(
        "Why does load_engine retry? Compare with @app/watcher.py.",
        current_file="app/engine.py",
        selection=None,
        budget_tokens=8000,
    )
    kinds = [item.kind for item in context.items]
    assert kinds[:2] == ["file", "mention"] and kinds[-1] == "repo_map" and "chunk" in kinds
    assert context.labels()[:2] == ["app/engine.py", "@app/watcher.py"]
    chunk_paths = {item.path for item in context.items if item.kind == "chunk"}
    assert chunk_paths and not chunk_paths & {"app/engine.py", "app/watcher.py"}  # already attached whole
    text = context.render()
    assert text.startswith("Context from the project proj, attached by Quillpad")
    assert "### Current file app/engine.py\n```python\n" in text
    assert "### app/watcher.py (mentioned)\n```python\n" in text
    assert "### Repository map" in text and "class Engine" in text
    assert context.dropped == [] and not any(item.truncated for item in context.items)
    check_budget(context, 8000)


def test_a_selection_comes_first_and_replaces_the_file(tree: Path, make_project: MakeProject) -> None:
    project = opened(make_project, tree)
    context = project.assemble_context(
        "explain this",
        current_file="app/engine.py",
        selection="return Engine(path)",
        budget_tokens=4000,
        selection_lines=(25, 25),
    )
    assert context.items[0].kind == "selection" and "file" not in [i.kind for i in context.items]
    assert context.items[0].render().startswith("### Selected text in app/engine.py, lines 25-25\n```python\n")


def test_a_tight_budget_truncates_one_item_and_lists_the_rest(tree: Path, make_project: MakeProject) -> None:
    (tree / "app/long.py").write_text("".join(f"def step_{i}(value):\n    return value + {i}\n\n" for i in range(200)))
    project = opened(make_project, tree)
    message = "how is the engine restarted? @README.md @app/long.py"
    full = project.assemble_context(
        message, current_file=None, selection=None, budget_tokens=10_000, count_tokens=words
    )
    assert full.labels()[:2] == ["@README.md", "@app/long.py"]
    budget = full.header_tokens + full.items[0].tokens + 100  # room for part of the second mention only
    context = project.assemble_context(
        message, current_file=None, selection=None, budget_tokens=budget, count_tokens=words
    )
    assert [i.kind for i in context.items] == ["mention", "mention"]
    cut = context.items[1]
    assert cut.truncated and cut.text.endswith(TRUNCATION_MARK) and "(truncated)" in cut.heading()
    assert cut.text.startswith("def step_0(value):") and cut.end_line is None
    dropped = " ".join(context.dropped)
    assert "repo map did not fit" in dropped and f"{budget:,}-token" in dropped
    assert any(d.startswith(("web/", "app/", "cmd/", "src/", "java/", "native/")) for d in context.dropped)
    check_budget(context, budget, words)


@pytest.mark.parametrize("budget", [1, 10, 40, 90, 200, 450, 900, 2000, 5000])
def test_any_budget_is_respected(tree: Path, make_project: MakeProject, budget: int) -> None:
    project = opened(make_project, tree)
    context = project.assemble_context(
        "engine watcher render Point @README.md @java/Main.java",
        current_file="app/engine.py",
        selection=None,
        budget_tokens=budget,
    )
    check_budget(context, budget)
    if not context.items:
        assert context.render() == "" and context.dropped


def test_removing_an_item_before_sending(tree: Path, make_project: MakeProject) -> None:
    project = opened(make_project, tree)
    context = project.assemble_context("see @README.md", current_file=None, selection=None, budget_tokens=3000)
    smaller = context.without("@README.md")
    assert "@README.md" not in smaller.labels() and "(mentioned)" not in smaller.render()
    assert smaller.total_tokens == context.total_tokens - context.items[0].tokens
    assert context.without("no such label") is context
    assert smaller.without(smaller.labels()[0]).items == smaller.items[1:]


def test_mentions_resolve_or_are_refused_with_a_reason(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "app/util.py": "def util(): pass\n",
            "lib/util.py": "def util2(): pass\n",
            "app/only_here.py": "def only(): pass\n",
            "docs/my notes.md": "# Notes\n",
            "node_modules/x/index.js": "x\n",
            "debug.log": "log\n",
            ".gitignore": "*.log\n",
            "big.txt": "x" * 3000,
        },
    )
    (root / "data.bin2").write_bytes(b"\x00\x01\x02" * 10)
    (tmp_path / "outside.py").write_text("secret = 1\n")
    project = make_project(root, max_file_bytes=2000)
    project.open()
    message = (
        'look at @app/only_here.py, @only_here.py and @"docs/my notes.md"; also @util.py, @lib/util.py, '
        "@../outside.py, @/etc/hostname, @node_modules/x/index.js, @debug.log, @app, @big.txt, @data.bin2, "
        "@nope.py. Ignore @property and write to me@example.com"
    )
    mentions = {m.raw: m for m in project.mentions(message)}
    assert mentions["app/only_here.py"].path == "app/only_here.py"
    assert mentions["only_here.py"].path == "app/only_here.py"
    assert mentions["docs/my notes.md"].path == "docs/my notes.md"
    assert mentions["lib/util.py"].path == "lib/util.py"
    problems = {raw: m.problem for raw, m in mentions.items() if m.problem}
    assert problems["util.py"] == "@util.py matches 2 files (app/util.py, lib/util.py); write more of its path."
    assert problems["../outside.py"].endswith("is outside the project folder; only files inside it can be attached.")
    assert "outside the project" in problems["/etc/hostname"]
    assert "node_modules folders are never indexed" in problems["node_modules/x/index.js"]
    assert "ignored by a .gitignore file" in problems["debug.log"]
    assert problems["app"] == "@app is a folder; mention a file inside it."
    assert "over the 2.0 KB limit" in problems["big.txt"]
    assert problems["nope.py"] == "@nope.py is not a file in the project; check the name."
    assert "property" not in mentions and "example.com" not in " ".join(mentions)

    context = project.assemble_context(message, current_file=None, selection=None, budget_tokens=5000)
    assert {"@app/only_here.py", "@docs/my notes.md", "@lib/util.py"} <= set(context.labels())
    assert context.labels().count("@app/only_here.py") == 1
    assert "@data.bin2 cannot be attached because it is a binary file." in context.dropped
    assert problems["util.py"] in context.dropped
    for reason in context.dropped:
        assert reason.endswith(".") and reason.count(". ") == 0, reason  # one sentence each


def test_find_mentions_strips_punctuation_and_duplicates() -> None:
    assert find_mentions("see @a/b.py, then @a/b.py. (@c.md) `@d.txt`!") == ["a/b.py", "c.md", "d.txt"]
    assert find_mentions('mail x@y.com, @"with space.py" and @`tick name.md`') == ["with space.py", "tick name.md"]


def test_the_current_file_unsaved_outside_or_binary(tree: Path, make_project: MakeProject, tmp_path: Path) -> None:
    project = opened(make_project, tree)
    unsaved = project.assemble_context(
        "x",
        current_file=str(tree / "app/engine.py"),
        selection=None,
        budget_tokens=2000,
        current_text="def not_saved_yet():\n    pass\n",
    )
    assert unsaved.items[0].label == "app/engine.py" and "not_saved_yet" in unsaved.items[0].text
    elsewhere = tmp_path / "scratch.py"
    elsewhere.write_text("print('outside the project')\n")
    outside = project.assemble_context("x", current_file=str(elsewhere), selection=None, budget_tokens=2000)
    assert outside.items[0].label == str(elsewhere)
    binary = project.assemble_context("x", current_file="assets/logo.png", selection=None, budget_tokens=2000)
    assert binary.dropped[0] == "The current file assets/logo.png cannot be attached because it is a binary file."


def test_changes_since_the_last_message(tree: Path, make_project: MakeProject) -> None:
    project = opened(make_project, tree)
    project.start_watching()
    assert project.wait_until_idle(30)
    (tree / "app/watcher.py").write_text((tree / "app/watcher.py").read_text().replace("return engine", "return None"))
    (tree / "app/added.py").write_text("def added():\n    return 1\n")
    (tree / "notes/todo.txt").unlink()
    wait_for(lambda: len(project.changed_since_last_message()) == 3, what="three changes")
    context = project.assemble_context("what changed?", current_file=None, selection=None, budget_tokens=4000)
    [changes] = [item for item in context.items if item.kind == "changes"]
    assert changes.text.splitlines() == [
        "added app/added.py (2 lines)",
        "modified app/watcher.py:",
        "@@ -5,3 +5,3 @@",
        "     engine = load_engine(folder)",
        "-    return engine",
        "+    return None",
        " ",
        "deleted notes/todo.txt",
    ]
    assert "### Changed since your last message\n```diff\n" in context.render()
    project.mark_message_sent()
    later = project.assemble_context("what changed?", current_file=None, selection=None, budget_tokens=4000)
    assert "changes" not in [item.kind for item in later.items]


def test_a_budget_must_be_positive(tree: Path, make_project: MakeProject) -> None:
    project = opened(make_project, tree)
    with pytest.raises(InvalidQueryError, match="positive number of tokens"):
        project.assemble_context("x", current_file=None, selection=None, budget_tokens=0)
    with pytest.raises(InvalidQueryError, match="at least 1"):
        project.search("x", 0)
    assert project.search("!!!") == []


def test_a_big_current_file_is_attached_around_the_cursor(tmp_path: Path, make_project: MakeProject) -> None:
    body = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n" for i in range(400))
    root = write_tree(tmp_path / "p", {"big.py": body, "small.py": "def tiny():\n    return 1\n"})
    project = opened(make_project, root)
    context = project.assemble_context(
        "what does this do", current_file="big.py", selection=None, budget_tokens=1500, cursor_line=601
    )
    first = context.items[0]
    assert first.kind == "file" and first.label == "big.py:561-641" and (first.start_line, first.end_line) == (561, 641)
    assert "def helper_200(x):" in first.text and "def helper_0(x)" not in first.text
    assert first.reasons == ("around the cursor in the current file",)
    assert first.heading() == "### Current file big.py, lines 561-641"
    # A file that fits in half the budget is still attached whole, cursor or not.
    small = project.assemble_context("x", current_file="small.py", selection=None, budget_tokens=1500, cursor_line=1)
    assert small.items[0].label == "small.py" and small.items[0].reasons == ("the current file",)
