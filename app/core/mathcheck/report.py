"""The verifier's plain-data result: each step with a mark and a reason, and a badge for the answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mark = Literal["given", "verified", "wrong", "unchecked", "follows"]
Badge = Literal["verified", "wrong", "consistent", "unchecked", "missing"]

# "follows": the step is what an earlier wrong step gives, so it gets no tick.
MARK_SYMBOLS: dict[str, str] = {"given": "•", "verified": "✓", "wrong": "✗", "unchecked": "?", "follows": "↳"}
MARK_WORDS: dict[str, str] = {
    "given": "given",
    "verified": "verified",
    "wrong": "wrong",
    "unchecked": "not checkable",
    "follows": "follows from a wrong step",
}
BADGE_WORDS: dict[str, str] = {
    "verified": "✓ answer verified",
    "wrong": "✗ answer wrong",
    "consistent": "≈ answer follows from the working",
    "unchecked": "? answer not checkable",
    "missing": "? no final answer found",
}


@dataclass(frozen=True)
class StepResult:
    """One step of a worked solution: its text, the mark and why."""

    index: int  # 1-based, in the order the steps appear
    line: int  # 1-based line of the source text where the step starts
    text: str
    mark: Mark
    reason: str = ""


@dataclass(frozen=True)
class AnswerResult:
    """The final answer's badge: ``answer`` as written, ``reason`` says how it was judged."""

    badge: Badge
    answer: str = ""
    reason: str = ""


@dataclass(frozen=True)
class CheckReport:
    """Everything the verifier found about one solution."""

    steps: tuple[StepResult, ...]
    answer: AnswerResult
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def count(self, mark: Mark) -> int:
        """How many steps got ``mark``."""
        return sum(1 for step in self.steps if step.mark == mark)

    @property
    def first_wrong(self) -> StepResult | None:
        """The first step marked wrong, if any."""
        return next((step for step in self.steps if step.mark == "wrong"), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``quillpad math check --json``)."""
        return asdict(self)
