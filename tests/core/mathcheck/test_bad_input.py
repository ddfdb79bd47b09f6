"""Bad input to the checker: each is "not checkable" with a reason, quickly, never "wrong", never a crash."""

from __future__ import annotations

import pytest

from app.core.mathcheck import CheckOptions, CheckWorker, verify_solution


def _nested(depth: int) -> str:
    text = "x"
    for _ in range(depth):
        text = "\\frac{1}{" + text + "}"
    return text


BAD_STEPS = {
    "unbalanced braces": ("\\frac{x + 1{2}", "unbalanced braces"),
    "unknown commands": ("\\wp(x) + \\aleph", "unsupported LaTeX"),
    "5,000 characters": (" + ".join(f"{i}x^{{{i % 7}}}" for i in range(500)), "too long"),
    "\\frac nested 200 deep": (_nested(200), "nested"),
    "a huge exponent": ("10^{10^{10}}", "too large"),
    "division by zero": ("\\frac{1}{0}", "divides by zero"),
}


@pytest.mark.timeout(120)  # a hang guard; each step is bounded by CheckOptions.limit itself
@pytest.mark.parametrize("name", sorted(BAD_STEPS))
def test_a_bad_step_is_not_checkable_with_a_reason(name: str) -> None:
    step, reason = BAD_STEPS[name]
    text = f"Simplify $x + 1$.\n\n$= {step}$\n\n$= x + 1$\n"
    with CheckWorker() as worker:
        report = verify_solution(text, worker=worker, options=CheckOptions(limit=1.0))
    assert report.steps[1].mark == "unchecked" and reason in report.steps[1].reason
    assert all(s.mark != "wrong" for s in report.steps)
    assert report.answer.badge != "wrong"


@pytest.mark.timeout(120)  # a hang guard; the step is bounded by CheckOptions.limit itself
def test_a_step_sympy_cannot_finish_is_cut_off_and_the_rest_is_checked() -> None:
    hard = "\\int_0^1 e^{t^{3}} \\sin(t^{7})\\,dt"
    text = f"Simplify $x + 1$.\n\n$= x + 1 + {hard} - {hard}$\n\n$= 1 + x$\n"
    with CheckWorker() as worker:
        report = verify_solution(text, worker=worker, options=CheckOptions(limit=1.0))
    assert report.steps[1].mark == "unchecked" and report.steps[1].reason
    assert report.steps[2].mark != "wrong"


def test_division_by_zero_in_a_claimed_answer_is_not_wrong() -> None:
    with CheckWorker() as worker:
        report = verify_solution("Simplify $\\frac{1}{x}$.\n\n$\\frac{5}{0} = 3$\n", worker=worker)
    assert report.steps[1].mark == "unchecked" and "zero" in report.steps[1].reason
    assert report.answer.badge == "unchecked"
