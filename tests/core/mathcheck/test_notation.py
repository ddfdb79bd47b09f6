"""Each notation of issue 21, once written correctly and once with a mistake.

The correct example must get no ✗ and its checked step a ✓; in the wrong
example the marked step must be ✗ and nothing after it may get a ✓.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.mathcheck import CheckWorker, verify_solution

# notation: (correct solution, the same with one mistake, the number of the step that is wrong)
CASES: dict[str, tuple[str, str, int]] = {
    "derivative operator (…)": (
        "Differentiate $x^3 \\sin x$.\n\n$\\frac{d}{dx}\\left(x^3 \\sin x\\right) = "
        "\\frac{d}{dx}\\left(x^3\\right)\\sin x + x^3 \\frac{d}{dx}\\left(\\sin x\\right)$\n\n"
        "$= 3x^2\\sin x + x^3\\cos x$\n",
        "Differentiate $x^3 \\sin x$.\n\n$\\frac{d}{dx}\\left(x^3 \\sin x\\right) = "
        "\\frac{d}{dx}\\left(x^3\\right)\\sin x + x^3 \\frac{d}{dx}\\left(\\sin x\\right)$\n\n"
        "$= 3x^2\\sin x - x^3\\cos x$\n",
        3,
    ),
    "derivative operator […]": (
        "Find $\\frac{d}{dx}\\left[(3x-1)^4\\right]$.\n\n$= 4(3x-1)^3 \\cdot \\frac{d}{dx}\\left[3x-1\\right]$\n\n"
        "$= 12(3x-1)^3$\n",
        "Find $\\frac{d}{dx}\\left[(3x-1)^4\\right]$.\n\n$= 4(3x-1)^3 \\cdot \\frac{d}{dx}\\left[3x-1\\right]$\n\n"
        "$= 4(3x-1)^3$\n",
        3,
    ),
    "Leibniz dy/dx": (
        "Given $y = x\\ln x$, find $\\frac{dy}{dx}$.\n\n$\\frac{dy}{dx} = \\ln x + 1$\n",
        "Given $y = x\\ln x$, find $\\frac{dy}{dx}$.\n\n$\\frac{dy}{dx} = \\ln x$\n",
        2,
    ),
    "primes": (
        "Let $f(x) = x^3 - x$.\n\n$f'(x) = 3x^2 - 1$\n\n$f''(x) = 6x$\n\n$f''(2) = 12$\n",
        "Let $f(x) = x^3 - x$.\n\n$f'(x) = 3x^2 - 1$\n\n$f''(x) = 6x^2$\n\n$f''(2) = 24$\n",
        3,
    ),
    "partial derivatives": (
        "For $f(x, y) = x^2 y^3$ find the partials.\n\n$\\frac{\\partial f}{\\partial x} = 2xy^3$\n\n"
        "$f_y = 3x^2 y^2$\n\n$f_{xy} = \\frac{\\partial}{\\partial y}\\left(2xy^3\\right) = 6xy^2$\n",
        "For $f(x, y) = x^2 y^3$ find the partials.\n\n$\\frac{\\partial f}{\\partial x} = 2xy^3$\n\n"
        "$f_y = 3x^2 y^3$\n\n$f_{xy} = \\frac{\\partial}{\\partial y}\\left(2xy^3\\right) = 6xy^2$\n",
        3,
    ),
    "substitution": (
        "Evaluate $\\int 3x^2 \\cos(x^3)\\,dx$.\n\nLet $u = x^3$, $du = 3x^2\\,dx$.\n\n"
        "$= \\int \\cos u\\,du$\n\n$= \\sin u + C$\n\n$= \\sin(x^3) + C$\n",
        "Evaluate $\\int 3x^2 \\cos(x^3)\\,dx$.\n\nLet $u = x^3$, $du = 3x^2\\,dx$.\n\n"
        "$= \\int \\cos u\\,du$\n\n$= -\\sin u + C$\n\n$= -\\sin(x^3) + C$\n",
        4,
    ),
    "definite integral with bracket": (
        "Evaluate $\\int_1^2 3x^2\\,dx$.\n\n$= \\left[x^3\\right]_1^2$\n\n$= 8 - 1 = 7$\n",
        "Evaluate $\\int_1^2 3x^2\\,dx$.\n\n$= \\left[x^3\\right]_1^2$\n\n$= 8 + 1 = 9$\n",
        3,
    ),
    "plus-minus": (
        "Solve $(x+2)^2 = 16$.\n\n$x + 2 = \\pm 4$\n\n$x = 2$ or $x = -6$\n",
        "Solve $(x+2)^2 = 16$.\n\n$x + 2 = \\pm 4$\n\n$x = 2$ or $x = -2$\n",
        3,
    ),
    "inequality and interval": (
        "Solve $5 - 2x > 1$.\n\n$-2x > -4$\n\n$x < 2$\n\n$\\boxed{(-\\infty, 2)}$\n",
        "Solve $5 - 2x > 1$.\n\n$-2x > -4$\n\n$x > 2$\n\n$\\boxed{(2, \\infty)}$\n",
        3,
    ),
    "approx": (
        "Solve $10^x = 3$ to three decimal places.\n\n$x = \\frac{\\ln 3}{\\ln 10}$\n\n$x \\approx 0.477$\n",
        "Solve $10^x = 3$ to three decimal places.\n\n$x = \\frac{\\ln 3}{\\ln 10}$\n\n$x \\approx 0.488$\n",
        3,
    ),
    "cdot times div": (
        "Work out $4 \\cdot 6 \\div 3 \\times 2$.\n\n$= 24 \\div 3 \\times 2$\n\n$= 8 \\times 2 = 16$\n",
        "Work out $4 \\cdot 6 \\div 3 \\times 2$.\n\n$= 24 \\div 6$\n\n$= 4$\n",
        2,
    ),
    "mixed numbers": (
        "Add $1\\frac{1}{2} + 2\\frac{1}{4}$.\n\n$= \\frac{3}{2} + \\frac{9}{4} = \\frac{15}{4} = 3\\frac{3}{4}$\n",
        "Add $1\\frac{1}{2} + 2\\frac{1}{4}$.\n\n$= \\frac{3}{2} + \\frac{9}{4} = \\frac{12}{4} = 3$\n",
        2,
    ),
    "percentages": (
        "Find 12% of 50.\n\n$12\\% \\times 50 = 6$\n",
        "Find 12% of 50.\n\n$12\\% \\times 50 = 60$\n",
        1,
    ),
    "units": (
        "A cyclist rides 45 km in 1.5 hours.\n\n$\\frac{45\\ \\text{km}}{1.5\\ \\text{h}} = 30\\ \\text{km/h}$\n",
        "A cyclist rides 45 km in 1.5 hours.\n\n$\\frac{45\\ \\text{km}}{1.5\\ \\text{h}} = 35\\ \\text{km/h}$\n",
        1,
    ),
    "chain a = b = c": (
        "Simplify $(x+1)^2 - (x-1)^2$.\n\n$= x^2 + 2x + 1 - (x^2 - 2x + 1) = 4x$\n",
        "Simplify $(x+1)^2 - (x-1)^2$.\n\n$= x^2 + 2x + 1 - (x^2 - 2x + 1) = 2$\n",
        2,
    ),
    "therefore": (
        "Solve $3x - 4 = 11$.\n\n$3x = 15$\n\n$\\therefore x = 5$\n",
        "Solve $3x - 4 = 11$.\n\n$3x = 15$\n\n$\\therefore x = 45$\n",
        3,
    ),
    "implies": (
        "Solve $\\frac{x}{4} = 3$.\n\n$\\frac{x}{4} = 3 \\implies x = 12$\n",
        "Solve $\\frac{x}{4} = 3$.\n\n$\\frac{x}{4} = 3 \\implies x = \\frac{3}{4}$\n",
        2,
    ),
    "Rightarrow": (
        "Solve $x^2 - 16 = 0$.\n\n$x^2 = 16 \\Rightarrow x = \\pm 4$\n",
        "Solve $x^2 - 16 = 0$.\n\n$x^2 = 16 \\Rightarrow x = \\pm 8$\n",
        2,
    ),
}


@pytest.fixture
def worker() -> Iterator[CheckWorker]:
    with CheckWorker() as shared:
        yield shared


@pytest.mark.parametrize("notation", sorted(CASES))
def test_the_correct_example_is_verified_and_the_wrong_one_caught(notation: str, worker: CheckWorker) -> None:
    right, wrong, step = CASES[notation]
    report = verify_solution(right, worker=worker)
    assert [s for s in report.steps if s.mark == "wrong"] == []
    assert report.steps[step - 1].mark == "verified", report.steps[step - 1]
    report = verify_solution(wrong, worker=worker)
    assert report.steps[step - 1].mark == "wrong", report.steps[step - 1]
    assert all(s.mark != "verified" for s in report.steps[step:])
