"""Checking a worked solution: the entry point the plugin and the CLI use.

The text is split into steps here (no SymPy in this process); the SymPy
session runs in a ``CheckWorker``. A step whose request overruns is "not
checkable", the worker is replaced, and the steps after it are checked
against what can still be known.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from app.core.mathcheck.extract import StepText, extract_steps, problem_formula
from app.core.mathcheck.pool import CheckWorker, RequestTimeout
from app.core.mathcheck.report import AnswerResult, Badge, CheckReport, Mark, StepResult

DEFAULT_LIMIT = 2.0  # seconds for each SymPy call
STEP_BUDGET = 8.0  # at least this many seconds for one step, whatever the limit
DEFAULT_TOTAL = 40.0


@dataclass(frozen=True)
class CheckOptions:
    """How long checks may run."""

    limit: float = DEFAULT_LIMIT
    total: float = DEFAULT_TOTAL  # seconds for a whole solution; later steps are left unchecked

    @property
    def step_timeout(self) -> float:
        """The most one step may take before the worker is killed."""
        return max(STEP_BUDGET, self.limit * 6)


def _begin(worker: CheckWorker, options: CheckOptions, problem: str) -> None:
    worker.request("begin", {"limit": options.limit}, options.step_timeout)
    if not problem.strip():
        return
    formula = problem_formula(problem)
    if formula:
        worker.request("step", {"words": problem, "math": [formula]}, options.step_timeout)
    else:
        worker.request("words", {"words": problem}, options.step_timeout)


def _replay(worker: CheckWorker, options: CheckOptions, problem: str, done: list[StepText]) -> bool:
    """Rebuild the session in a fresh worker after a kill; False if that overran too."""
    try:
        _begin(worker, options, problem)
        for step in done:
            worker.request("step", {"words": step.prose, "math": list(step.math)}, options.step_timeout)
    except RequestTimeout:
        return False
    return True


def verify_solution(
    text: str,
    *,
    problem: str = "",
    worker: CheckWorker | None = None,
    options: CheckOptions | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> CheckReport:
    """Mark every step of ``text`` and give its final answer a badge.

    ``problem`` is the question when it is not the first line of ``text``
    (``/steps``). A ``worker`` may be passed to reuse one process for many
    solutions; otherwise one is started and ended here. ``cancelled`` is
    asked while waiting (from this thread): once True, the worker process is
    killed at once and ``CheckCancelled`` raised, so Stop never waits for SymPy.
    """
    options = options or CheckOptions()
    own = worker is None
    worker = worker or CheckWorker()
    before, worker.cancelled = worker.cancelled, cancelled
    started = time.perf_counter()
    try:
        return _verify(text, problem, worker, options, started)
    finally:
        worker.cancelled = before
        if own:
            worker.close()


def _verify(text: str, problem: str, worker: CheckWorker, options: CheckOptions, started: float) -> CheckReport:
    extraction = extract_steps(text)
    results: list[StepResult] = []
    done: list[StepText] = []
    healthy = True
    try:
        _begin(worker, options, problem)
    except RequestTimeout:
        healthy = _replay(worker, options, "", [])
    for step in extraction.steps:
        mark, reason = "unchecked", "the checker had to be restarted"
        if time.perf_counter() - started > options.total:
            mark, reason = "unchecked", f"checking stopped after {options.total:g} s for the whole solution"
        elif healthy:
            try:
                mark, reason = worker.request(
                    "step", {"words": step.prose, "math": list(step.math)}, options.step_timeout
                )
            except RequestTimeout:
                mark, reason = "unchecked", f"took longer than {options.step_timeout:g} s, so it was not checked"
                healthy = _replay(worker, options, problem, done)
        wrong_before = next((r.index for r in results if r.mark == "wrong"), 0)
        if wrong_before and mark == "verified":
            # A step can be right from the line before and still rest on a mistake: no tick for it.
            mark, reason = "follows", f"follows from step {wrong_before}, which is wrong"
        results.append(StepResult(step.index, step.line, step.text, cast(Mark, mark), reason))
        done.append(step)
    answer = _answer(worker, options, extraction.boxed, extraction.steps, healthy)
    if answer.badge == "consistent" and any(result.mark == "wrong" for result in results):
        answer = AnswerResult("unchecked", answer.answer, "it follows from working that has a wrong step")
    return CheckReport(tuple(results), answer, time.perf_counter() - started)


def _answer(
    worker: CheckWorker, options: CheckOptions, boxed: str, steps: tuple[StepText, ...], healthy: bool
) -> AnswerResult:
    shown = boxed
    if not boxed:
        if not steps:
            return AnswerResult("missing", "", "no mathematics was found")
        # "so $x = 4$ or $x = -2$": every formula of the last line is the answer.
        shown = ", ".join(m.lstrip("= ") for m in steps[-1].math)
    if not healthy:
        return AnswerResult("unchecked", shown, "the checker had to be restarted")
    try:
        badge, reason = worker.request("answer", {"answer": shown}, options.step_timeout)
    except RequestTimeout:
        return AnswerResult("unchecked", shown, "checking it took too long")
    if not boxed:
        reason = (reason + "; " if reason else "") + "taken from the last line, as nothing was boxed"
    return AnswerResult(cast(Badge, badge), shown, reason)
