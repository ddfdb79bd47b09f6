"""The verifier on its own: extraction, soundness on hard cases, time limits, the worker's life."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from app.core.mathcheck import (
    CheckCancelled,
    CheckOptions,
    CheckWorker,
    extract_steps,
    problem_formula,
    report_markdown,
    verify_solution,
)
from app.core.mathcheck.checks import attempt
from app.core.mathcheck.pool import RequestTimeout


@pytest.fixture
def worker() -> Iterator[CheckWorker]:
    with CheckWorker() as shared:
        yield shared


def marks(text: str, worker: CheckWorker, problem: str = "") -> list[str]:
    return [step.mark for step in verify_solution(text, worker=worker, problem=problem).steps]


def test_steps_come_from_inline_display_align_and_bare_lines() -> None:
    text = (
        "+++\ntopic = 'x'\n+++\nSolve $2x + 3 = 7$.\n\n\\[\n2x = 4\n\\]\n"
        "\\begin{align*}\nx &= 4/2 \\\\\n  &= 2\n\\end{align*}\n"
        "Some prose without maths.\n3x = 6\n$\\boxed{x = 2}$\n"
    )
    extraction = extract_steps(text)
    assert [s.math for s in extraction.steps] == [
        ("2x + 3 = 7",),
        ("2x = 4",),
        ("x = 4/2",),
        ("= 2",),
        ("3x = 6",),
        ("x = 2",),
    ]
    assert extraction.boxed == "x = 2" and extraction.boxed_step == 6
    assert problem_formula("Solve 2x + 3 = 7 for x.") == "2x + 3 = 7"
    assert problem_formula("Differentiate $x^2$") == "x^2"


def test_wrong_algebra_gets_a_counter_example(worker: CheckWorker) -> None:
    report = verify_solution("Expand $(x+1)^2$.\n\n$= x^2 + 1$\n", worker=worker)
    step = report.steps[1]
    assert step.mark == "wrong" and "at $x = " in step.reason


def test_domain_traps_are_never_verified(worker: CheckWorker) -> None:
    # sqrt(x^2) is |x|, not x; log(x^2) is not 2 log x for negative x.
    assert marks("Simplify $\\sqrt{x^2}$.\n\n$= x$\n", worker)[1] == "wrong"
    assert marks("Simplify $\\frac{x^2 - 1}{x - 1}$.\n\n$= x + 1$\n", worker)[1] == "verified"
    assert marks("Simplify $|x|$.\n\n$= x$\n", worker)[1] == "wrong"


def test_equation_steps_compare_solution_sets(worker: CheckWorker) -> None:
    lost = marks("Solve $x^2 = 9$.\n\n$x = 3$\n", worker)
    assert lost[1] == "wrong"
    # Squaring adds a solution: not wrong in itself, not verified either.
    squared = verify_solution("Solve $\\sqrt{x} = x - 2$.\n\n$x = (x - 2)^2$\n", worker=worker)
    assert squared.steps[1].mark == "unchecked" and "adds" in squared.steps[1].reason
    claimed = verify_solution("Solve $x^2 = 9$.\n\n$x = 3$ or $x = -3$\n\n$\\boxed{x = 4}$\n", worker=worker)
    assert claimed.answer.badge == "wrong" and "does not satisfy" in claimed.answer.reason


def test_unreadable_latex_is_not_checkable(worker: CheckWorker) -> None:
    # \pm is understood now (issue 21); \oint and \aleph are not, and say so.
    report = verify_solution("Solve $x^2 = 4$.\n\n$x = \\pm 2$\n\n$\\oint f = \\aleph$\n", worker=worker)
    assert [s.mark for s in report.steps[1:]] == ["verified", "unchecked"]
    assert "unsupported LaTeX" in report.steps[2].reason


def test_problem_given_apart_and_independent_solve(worker: CheckWorker) -> None:
    answer = "The derivative is $2x\\cos(x^2)$.\n\n$\\boxed{2x\\cos(x^2)}$"
    report = verify_solution(answer, problem="Differentiate sin(x^2)", worker=worker)
    assert report.answer.badge == "verified"
    wrong = verify_solution("$\\boxed{\\cos(x^2)}$", problem="Differentiate $\\sin(x^2)$", worker=worker)
    assert wrong.answer.badge == "wrong" and "SymPy gets" in wrong.answer.reason
    system = verify_solution("$\\boxed{x = 1, y = 2}$", problem="Solve $x + y = 3$, $x - y = 1$", worker=worker)
    assert system.answer.badge == "wrong"


def test_a_sympy_call_is_cut_off_at_its_limit() -> None:
    beats: list[int] = []

    def slow() -> str:  # 100 heartbeats, 5 s when left alone
        for beat in range(100):
            beats.append(beat)
            time.sleep(0.05)
        return "finished"

    assert attempt(0.2, slow) is None
    assert 0 < len(beats) < 100  # it started, and was cut off before its end


def test_an_overrunning_request_kills_and_replaces_the_worker() -> None:
    with CheckWorker() as fresh:
        fresh.request("begin", {"limit": 2.0}, 30)
        with pytest.raises(RequestTimeout):
            fresh.request("step", {"words": "Simplify", "math": ["(x+1)^{40} - (x-1)^{40}"]}, 0.000_001)
        assert not fresh.alive and fresh.restarts == 1
        fresh.request("begin", {"limit": 2.0}, 30)
        assert fresh.request("step", {"words": "", "math": ["1 + 1 = 2"]}, 30) == ("verified", "equal")
    assert not fresh.alive


def test_the_report_shows_marks_and_badge(worker: CheckWorker) -> None:
    report = verify_solution("Solve $2x = 4$.\n\n$x = 3$\n\n$\\boxed{x = 3}$\n", worker=worker)
    markdown = report_markdown(report)
    assert "**✗ wrong**" in markdown and "✗ answer wrong" in markdown and "$x = 3$" in markdown
    assert report.to_dict()["answer"]["badge"] == "wrong"


def test_nothing_mathematical_gives_a_missing_badge(worker: CheckWorker) -> None:
    report = verify_solution("Just words here, nothing to check.", worker=worker)
    assert report.steps == () and report.answer.badge == "missing"


def test_model_style_working_is_read_fairly(worker: CheckWorker) -> None:
    # An evaluation bracket, facts listed side by side, and a rounded decimal.
    bracket = "Evaluate $\\int_0^1 (x^2 + 1)\\,dx = \\left[\\frac{x^3}{3} + x\\right]_0^1 = \\frac{4}{3}$."
    assert marks(bracket, worker, problem="Evaluate it") == ["verified"]
    facts = "The derivative of $x^2$ is $2x$ and that of $\\sin x$ is $\\cos x$."
    report = verify_solution(facts, problem="Differentiate x^2 sin(x)", worker=worker)
    assert report.steps[0].mark == "unchecked" and "separate" in report.steps[0].reason
    rounded = verify_solution("$\\frac{15}{65} \\times 100 = 23.08$\n\n$\\frac{15}{65} = 0.3$", worker=worker)
    assert [s.mark for s in rounded.steps] == ["unchecked", "wrong"]
    assert "rounded" in rounded.steps[0].reason
    assert rounded.answer.badge == "unchecked"  # never "follows from the working" when a step is wrong


def test_a_whole_solution_has_a_time_budget(worker: CheckWorker) -> None:
    report = verify_solution("Solve $2x = 4$.\n\n$x = 2$\n", worker=worker, options=CheckOptions(total=0.0))
    assert {s.mark for s in report.steps} == {"unchecked"} and "stopped after 0 s" in report.steps[1].reason


def test_a_cancelled_check_kills_the_worker_at_once() -> None:
    asked: list[bool] = []

    def cancelled() -> bool:
        # Say "stop" on the third look: while the first request is still waiting for the new worker.
        asked.append(True)
        return len(asked) >= 3

    worker = CheckWorker()
    with pytest.raises(CheckCancelled, match="stopped"):
        verify_solution("$x + x = 2x$\n$2x = 4$", worker=worker, cancelled=cancelled)
    assert not worker.alive and worker.cancelled is None and len(asked) == 3
    worker.close()
