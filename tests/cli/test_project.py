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


PRICING = {
    "shop/__init__.py": "",
    "shop/pricing.py": "def compute_discount(total, rate):\n    '''The discount on an order.'''\n"
    "    return round(total * rate, 2)\n\n\ndef other():\n    return 1\n",
    "shop/cart.py": "from shop.pricing import compute_discount\n\n\ndef pay(total):\n"
    "    return total - compute_discount(total, 0.1)\n",
    "tests/test_pricing.py": "from shop.pricing import compute_discount\n\n\n"
    + "\n\n".join(f"def test_{i}():\n    assert compute_discount({i}, 0.5) == {i / 2}" for i in range(40)),
    "benchmarks/bench_pricing.py": "from shop.pricing import compute_discount\n\n"
    + "".join(f"compute_discount({i}, 0.1)\n" for i in range(40)),
}


def test_where_is_x_defined_attaches_its_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], qwen3_gguf: Path
) -> None:
    root = write_tree(tmp_path / "shop", PRICING)
    question = "where is compute_discount defined?"
    argv = ["context", str(root), question, "--budget", "400", "--model", str(qwen3_gguf)]
    assert run(argv) == 0
    captured = capsys.readouterr()
    assert "### shop/pricing.py, lines 1-" in captured.out and "(defines compute_discount)" in captured.out
    assert "def compute_discount(total, rate):" in captured.out
    assert "counted by tiny-qwen3.gguf" in captured.err or f"counted by {qwen3_gguf.name}" in captured.err
    assert "definition of compute_discount, named in the question" in captured.err
    assert run([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    first_chunk = next(item for item in data["items"] if item["kind"] == "chunk")
    assert first_chunk["label"].startswith("shop/pricing.py:") and first_chunk["definitions"] == ["compute_discount"]
    assert first_chunk["reasons"][0] == "definition of compute_discount, named in the question"
    # The search marks it too.
    assert run(["search", str(root), "compute_discount", "--k", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(" 1. shop/pricing.py:1-") and "[definition: compute_discount]" in out[0]


def test_search_and_index_summaries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_tree(tmp_path / "shop", PRICING)
    (root / "blob.txt").write_bytes(b"\x00" * 64)
    (root / "yarn.lock").write_text("lock\n")
    assert run(["index", str(root)]) == 0
    assert "Skipped  1 binary, 1 generated (minified or lock files)" in capsys.readouterr().out
    assert run(["search", str(root), "compute_discount", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["definition"] is True and hits[0]["reasons"]
    assert all(not hit["definition"] for hit in hits[1:] if hit["path"].startswith(("tests/", "benchmarks/")))


def test_a_model_that_is_not_there_is_one_sentence(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "shop", PRICING)
    with pytest.raises(QuillpadError, match=r"does not exist; give the path of a \.gguf file\."):
        run(["context", str(root), "x", "--budget", "100", "--model", str(tmp_path / "none.gguf")])
