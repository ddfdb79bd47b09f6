"""One evaluation task, whatever its dataset: plain, JSON-friendly data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TaskKind = Literal["humaneval", "mbpp", "gsm8k", "math"]
KINDS: tuple[TaskKind, ...] = ("humaneval", "mbpp", "gsm8k", "math")
CODE_KINDS: frozenset[str] = frozenset({"humaneval", "mbpp"})


@dataclass(frozen=True)
class EvalTask:
    """A problem to put to the model and how to check its answer.

    Code tasks carry ``tests`` (Python that must run without error after the
    solution) and a ``reference`` solution; answer tasks carry the reference
    ``answer`` and, in ``reference``, the worked solution it came from.
    """

    task_id: str
    kind: TaskKind
    prompt: str  # the problem as the dataset states it (HumanEval: the function stub)
    reference: str  # canonical solution code, or the reference worked solution
    answer: str = ""  # final answer (GSM8K, MATH)
    tests: str = ""  # code tasks: test code that raises on failure
    entry_point: str = ""  # HumanEval: the function under test
    setup: str = ""  # MBPP: test_setup_code
    test_list: tuple[str, ...] = ()  # MBPP: the assertions, shown in the prompt
    extra: dict[str, str] = field(default_factory=dict)  # level/type (MATH), kept in reports

    @property
    def is_code(self) -> bool:
        return self.kind in CODE_KINDS
