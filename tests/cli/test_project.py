"""``quillpad index``, ``search`` and ``context`` through their argparse handlers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.cli import project as cli_project
from app.core.errors import QuillpadError
from tests.fixtures.project_tree import INDEXED, write_tree


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="quillpad")
    cli_project.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "proj")


def test_index_prints_its_figures_and_updates_incrementally(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["index", str(tree)]) == 0
    out = capsys.readouterr().out
    assert f"Files    {len(INDEXED)}" in out and "Chunks" in out and "Bytes" in out and "Seconds" in out
    (tree / "app/engine.py").write_text("x = 1\n")
    assert run(["index", str(tree), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["files"] == len(INDEXED) and data["updated"] == 1 and data["added"] == 0
    assert {"chunks", "bytes", "seconds", "root", "index"} <= data.keys()


def test_search_prints_ranked_chunks(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["search", str(tree), "load engine retries"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(" 1. app/engine.py:") and "score" in first
    assert run(["search", str(tree), "Point norm", "--json", "--k", "1"]) == 0
    [hit] = json.loads(capsys.readouterr().out)
    assert hit["path"] == "src/lib.rs" and hit["start_line"] == 1 and "norm" in hit["text"]
    assert run(["search", str(tree), "zzzunknownword"]) == 0
    assert capsys.readouterr().out == "No matches.\n"


def test_context_prints_the_exact_block(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["context", str(tree), "how does the watcher use @app/engine.py?", "--budget", "3000"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Context from the project proj") and "### app/engine.py (mentioned)" in captured.out
    assert "of 3,000 tokens" in captured.err
    assert run(["context", str(tree), "see @nope.py", "--budget", "40", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "@nope.py is not a file in the project; check the name." in data["dropped"]
    assert data["total_tokens"] <= 40


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "{tree}", "x", "--k", "0"], "Use --k of at least 1"),
        (["search", "{tree}", "!"], "no words to search for"),
        (["context", "{tree}", "x", "--budget", "0"], "Use --budget of at least 1 token"),
        (["index", "{tree}/missing"], "does not exist; choose an existing project folder."),
    ],
)
def test_refusals_are_one_sentence(tree: Path, argv: list[str], message: str) -> None:
    with pytest.raises(QuillpadError, match=message) as caught:
        run([a.replace("{tree}", str(tree)) for a in argv])
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)
