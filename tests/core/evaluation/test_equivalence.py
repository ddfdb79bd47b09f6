"""MATH answer equivalence: normalisation, numbers, tuples, SymPy with a time limit."""

from __future__ import annotations

import pytest

from app.core.evaluation.equivalence import AnswerJudge, as_number, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"\dfrac{1}{2}", r"\frac{1}{2}"),
        (r"\left( 1, 2 \right)", "(1,2)"),
        (r"$5\text{ cm}$", "5"),
        (r"90^\circ", "90"),
        (r"10\%", "10"),
        ("x = 3", "3"),
        ("1,000,000", "1000000"),
        (r"\frac12", r"\frac{1}{2}"),
        (r"\sqrt2", r"\sqrt{2}"),
        ("0.50", "0.5"),
        (".5", "0.5"),
        (r"\text{(B)}", "(B)"),
        ("12 dollars.", "12"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_numbers() -> None:
    assert as_number(r"\frac{3}{4}") == 0.75
    assert as_number("-3/4") == -0.75
    assert as_number("1e3") == 1000.0
    assert as_number(r"\pi") is None


EQUIVALENT = [
    ("0.5", r"\frac{1}{2}"),
    ("0.3333333333", r"\frac{1}{3}"),  # within the relative tolerance
    (r"\frac{\sqrt{3}}{2}", r"\dfrac{\sqrt3}{2}"),
    (r"2\pi", r"\pi \cdot 2"),
    (r"2\sqrt{2}", r"\sqrt{8}"),
    ("(x+1)^2", "x^2+2x+1"),
    (r"\left(2, 5\right)", "(2,5)"),
    ("(2, 0.5)", r"(2, \frac{1}{2})"),
    (r"9\pi", r"9 \pi"),
    ("-3, 2", "2,-3"),  # all solutions, any order
    (r"\{1, \frac{1}{2}\}", r"\{0.5, 1\}"),  # a set
]
DIFFERENT: list[tuple[str | None, str]] = [
    ("0.33", r"\frac{1}{3}"),  # outside the tolerance
    ("3", "4"),
    (r"\sqrt{3}", r"\sqrt{2}"),
    ("(2, 5)", "(5, 2)"),
    ("(2, 5)", "[2, 5]"),  # open and closed intervals differ
    ("(1, 2, 3)", "(1, 2)"),
    ("2, 2", "2, 3"),  # each item is matched once
    ("1, 2", "1, 2, 3"),
    (None, "3"),
    ("", "3"),
]


def test_equivalent_and_different_answers() -> None:
    # One judge (one SymPy child) for all cases: starting SymPy costs a second.
    with AnswerJudge() as judge:
        wrong = [(a, b) for a, b in EQUIVALENT if not judge.equivalent(a, b).equal]
        wrong += [(a, b) for a, b in DIFFERENT if judge.equivalent(a, b).equal]
    assert wrong == []


def test_gsm8k_style_comparison_never_needs_sympy() -> None:
    judge = AnswerJudge()
    assert judge.equivalent("1,234", "1234", symbolic=False).equal
    assert not judge.equivalent("x+1", "1+x", symbolic=False).equal
    assert not judge.worker.alive and judge.worker.restarts == 0  # no child was started


def test_sympy_time_limit_kills_and_replaces_the_child() -> None:
    with AnswerJudge(sympy_seconds=0.2) as judge:
        assert judge.equivalent(r"2\pi", r"\pi+\pi").how == "sympy"  # warm: SymPy imported
        # Parsing and simplifying this takes seconds (7 s here), far beyond 0.2 s.
        huge = r"\frac{(x+1)^{300}-(x-1)^{300}}{(x^2+3x+2)^{40}}"
        verdict = judge.equivalent(huge, "y")
        assert (verdict.equal, verdict.how) == (False, "sympy timed out")
        assert not judge.worker.alive and judge.worker.restarts == 1  # the child was killed
        assert judge.equivalent(r"\frac{\pi}{2}", r"0.5\pi").equal  # a new child answers
        assert judge.worker.alive
