"""Evaluation reports: whether each code answer reproduces indexed code (a contamination hint).

When an installed package ships a benchmark's solutions (HumanEval, MBPP),
an answer matching it suggests the model may have seen them. A hint, not
proof either way: only code on this computer is compared.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from app.core.paths import AppPaths
from app.core.refs.index import existing_index
from app.core.refs.matcher import RefMatch

log = logging.getLogger(__name__)

CODE_KINDS = frozenset({"humaneval", "mbpp"})
NOTE = (
    "Answers compared with the code-reference index of this computer: a match means the answer reproduces "
    "installed code (perhaps the benchmark's own solutions); no match is not proof the model never saw the task."
)


def add_reference_hints(report: dict[str, Any], check: Callable[[str], list[RefMatch]]) -> dict[str, Any]:
    """Mark each code task whose answer matches indexed code; adds ``report["references"]``."""
    if report.get("kind") not in CODE_KINDS:
        return report
    matching: list[dict[str, Any]] = []
    for record in report.get("tasks", []):
        code = record.get("extracted")
        if not isinstance(code, str) or not code.strip():
            continue
        matches = check(code)
        if matches:
            record["references"] = [match.to_dict() for match in matches[:3]]
            matching.append({"task_id": record["task_id"], "seed": record["seed"], "match": matches[0].describe()})
    report["references"] = {"note": NOTE, "matching": matching}
    return report


@contextlib.contextmanager
def index_check(paths: AppPaths) -> Iterator[Callable[[str], list[RefMatch]] | None]:
    """A check against the app's index while the block runs; None when there is no index to check against."""
    with existing_index(paths) as index:
        yield index.check if index is not None else None
