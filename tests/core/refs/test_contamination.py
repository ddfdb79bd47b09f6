from __future__ import annotations

from typing import Any

import jinja2.utils

from app.core.paths import app_paths
from app.core.refs.contamination import add_reference_hints, index_check
from app.core.refs.index import RefIndex
from tests.core.refs.test_index import WRITTEN, _longest_function


def _report(kind: str, answers: list[str]) -> dict[str, Any]:
    tasks = [
        {"task_id": f"HumanEval/{n}", "seed": 1, "passed": True, "extracted": code, "method": "code block"}
        for n, code in enumerate(answers)
    ]
    return {"kind": kind, "tasks": tasks}


def test_answers_matching_indexed_code_are_marked(real_index: RefIndex) -> None:
    copied = _longest_function(jinja2.utils.__file__ or "")
    report = add_reference_hints(_report("humaneval", [copied, WRITTEN]), real_index.check)
    matching = report["references"]["matching"]
    assert [m["task_id"] for m in matching] == ["HumanEval/0"]
    assert "jinja2/utils.py" in matching[0]["match"]
    assert report["tasks"][0]["references"][0]["package"] == "Jinja2"
    assert "references" not in report["tasks"][1]
    assert "not proof" in report["references"]["note"]


def test_math_reports_and_missing_indexes_are_left_alone(real_index: RefIndex) -> None:
    report = add_reference_hints(_report("gsm8k", ["42"]), real_index.check)
    assert "references" not in report
    with index_check(app_paths()) as check:  # the isolated home has no index
        assert check is None
