"""The shared LaTeX reader: notation rewritten, ambiguous readings, refusals with reasons."""

from __future__ import annotations

import pytest
import sympy

from app.core.symbolic.reader import PM, Reading, Unreadable, ambiguous, read_answer, read_latex

x, u = sympy.symbols("x u")


def test_the_derivative_operator_acts_on_its_bracket_only() -> None:
    expr = read_latex(r"\frac{d}{dx}\left(x^3\right)\sin x + x^3 \frac{d}{dx}\left[\sin x\right]")
    assert sympy.simplify(expr.doit() - (3 * x**2 * sympy.sin(x) + x**3 * sympy.cos(x))) == 0


def test_partial_operator_bracket_mixed_number_units_and_pm() -> None:
    y = sympy.Symbol("y")
    assert read_latex(r"\frac{\partial}{\partial y}\left(y e^{xy}\right)").doit() == sympy.diff(y * sympy.exp(x * y), y)
    assert read_latex(r"\frac{1}{2}\left[\frac{u^4}{4}\right]_1^2") == sympy.Rational(15, 8)
    assert read_latex(r"\Big[-\cos x\Big]_0^{\pi}") == 2
    assert sympy.nsimplify(read_latex(r"2\frac{1}{3}")) == sympy.Rational(7, 3)
    assert sympy.nsimplify(read_latex(r"2\frac{1}{3}", reading=Reading(mixed_numbers=False))) == sympy.Rational(2, 3)
    speed = read_latex(r"\frac{180\ \text{km}}{2.5\ \text{h}}")
    assert speed / read_latex(r"72\,\text{km/h}") == 1
    assert PM in read_latex(r"2 \pm \sqrt{3}").free_symbols
    assert sympy.simplify(read_latex(r"30\% \text{ of } 250") - 75) == 0
    assert read_latex(r"\int_1^3 2x\,dx").doit() == 8  # not \int_1^{32}


def test_ambiguity_is_noticed() -> None:
    assert ambiguous(r"\sin x^2") and ambiguous(r"3\frac{1}{2}") and ambiguous(r"x(x+1)^3")
    assert not ambiguous(r"\frac{x}{2} + 1")
    assert read_latex(r"\sin x^2", reading=Reading(power_inside_trig=False)) == sympy.sin(x) ** 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (r"\frac{1}{2", "unbalanced"),
        (r"\foo x", "unsupported LaTeX"),
        ("x + " * 2000 + "1", "too long"),
        (r"10^{10^{10}}", "too large"),
        (r"\frac{3}{0}", "zero"),
        (r"\frac{dy}{dx}", "does not define"),
    ],
)
def test_what_cannot_be_read_says_why(text: str, reason: str) -> None:
    with pytest.raises(Unreadable, match=reason):
        read_latex(text)


def test_loose_reading_for_the_evaluation_accepts_more() -> None:
    assert read_answer(r"\sqrt2") == sympy.sqrt(2)
    assert sympy.simplify(read_answer(r"\dfrac{1}{2}") - sympy.Rational(1, 2)) == 0
