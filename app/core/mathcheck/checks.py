"""The SymPy checks, each under a time limit; runs in the check worker process.

Soundness first: "verified" needs SymPy's simplification to give zero, the
same solution set, or many random points agreeing to 25 significant digits;
"wrong" needs a concrete counter-example confirmed at high precision.
Everything else is "unchecked".
"""

from __future__ import annotations

import contextlib
import functools
import random
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import sympy

Verdict = tuple[str, str]  # (mark, reason)
UNCHECKED: Verdict = ("unchecked", "")
AGREEING_POINTS = 12
_PRECISION = 40


class CheckTimeout(BaseException):
    """A check ran past its limit (a BaseException so SymPy's ``except Exception`` cannot swallow it)."""


class Unresolved(Exception):
    """SymPy could not evaluate a derivative, integral or limit."""


@contextlib.contextmanager
def limited(seconds: float) -> Iterator[None]:
    """Raise ``CheckTimeout`` in the block after ``seconds`` (main thread of a POSIX process only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CheckTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def attempt(seconds: float, work: Callable[[], Any]) -> Any:
    """``work()``, or None when it fails or runs out of time."""
    try:
        with limited(seconds):
            return work()
    except CheckTimeout:
        return None
    except Exception:
        return None


def tex(expr: Any) -> str:
    """An expression as inline LaTeX for a reason."""
    return "$" + str(sympy.latex(expr)) + "$"


def evaluate(expr: Any, seconds: float) -> Any:
    """``expr`` with derivatives, integrals and limits worked out; raises ``Unresolved``."""
    calculus = (sympy.Derivative, sympy.Integral, sympy.Limit)
    if not expr.has(*calculus):
        return expr
    for node in expr.atoms(sympy.Derivative):
        if isinstance(node.expr, sympy.Symbol) and node.expr not in node.variables:
            raise Unresolved("derivative of an unknown function")
    value = attempt(seconds, lambda: expr.doit())
    if value is None or value.has(*calculus) or value.has(sympy.nan):
        raise Unresolved("SymPy could not work it out")
    return value


def _symbolic_zero(diff: Any, seconds: float) -> bool:
    if diff == 0:
        return True
    for simplifier in (sympy.expand, sympy.cancel, sympy.simplify):
        result = attempt(seconds, functools.partial(simplifier, diff))
        if result is not None and result == 0:
            return True
    return False


def _points(symbols: list[Any], count: int) -> Iterator[dict[Any, Any]]:
    simple = [2, 3, -1, sympy.Rational(1, 2), -2, 5, sympy.Rational(-3, 2), sympy.Rational(7, 3)]
    rng = random.Random(1729)
    for i in range(count):
        if i < len(simple):
            yield {s: simple[(i + k * 3) % len(simple)] for k, s in enumerate(symbols)}
        else:
            yield {s: sympy.Rational(rng.randint(-4000, 4000), rng.choice([7, 11, 13, 17, 19, 23])) for s in symbols}


def _real_value(expr: Any, point: dict[Any, Any], digits: int) -> Any:
    value = attempt(1.0, lambda: expr.subs(point).evalf(digits))
    if value is None or not value.is_number or value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        return None
    if not value.is_real:
        re_part, im_part = value.as_real_imag()
        if abs(im_part) > sympy.Float(10) ** (-digits + 5):
            return None
        value = re_part
    return value


def _show_point(point: dict[Any, Any]) -> str:
    return ", ".join(f"${sympy.latex(s)} = {sympy.latex(v)}$" for s, v in point.items())


def _close(a: Any, b: Any, digits: int) -> bool:
    scale = max(1, abs(a), abs(b))
    return bool(abs(a - b) <= scale * sympy.Float(10) ** (-(digits - 15)))


def numeric_compare(before: Any, after: Any, seconds: float) -> Verdict:
    """Random points: a confirmed difference is a counter-example; many agreements support "verified"."""
    symbols = sorted((before - after).free_symbols | before.free_symbols | after.free_symbols, key=lambda s: s.name)
    agreeing = 0
    deadline = AGREEING_POINTS * 4
    for point in _points(symbols, deadline):
        a = _real_value(before, point, _PRECISION)
        b = _real_value(after, point, _PRECISION)
        if a is None or b is None:
            continue
        if _close(a, b, _PRECISION):
            agreeing += 1
            if agreeing >= AGREEING_POINTS or not symbols:
                return "verified", "equal at many random points" if symbols else "the values agree"
            continue
        a2, b2 = _real_value(before, point, 80), _real_value(after, point, 80)
        if a2 is not None and b2 is not None and not _close(a2, b2, 80):
            where = f"at {_show_point(point)} " if symbols else ""
            return "wrong", f"{where}the previous expression is {number_tex(a2)} but this one is {number_tex(b2)}"
    return UNCHECKED


def number_tex(value: Any) -> str:
    """A number as LaTeX for a verdict: a short decimal, a small fraction, or 6 significant digits."""
    rational = sympy.nsimplify(value, rational=True, tolerance=1e-12)
    if isinstance(rational, sympy.Rational) and rational.q != 1 and 10**6 % rational.q == 0:
        return "$" + str(sympy.Float(rational, 15)).rstrip("0") + "$"
    if isinstance(rational, sympy.Rational) and abs(rational.q) <= 1000:
        return tex(rational)
    return "$" + str(sympy.N(value, 6)) + "$"


def equal(before: Any, after: Any, seconds: float, constant_in: Any = None) -> Verdict:
    """Whether two expressions are equal; up to an added constant in ``constant_in`` (antiderivatives)."""
    same_limit = (
        isinstance(before, sympy.Limit) and isinstance(after, sympy.Limit) and before.args[1:] == after.args[1:]
    )
    if same_limit and _symbolic_zero(before.args[0] - after.args[0], seconds):
        return "verified", "the same limit of equal expressions"
    try:
        a, b = evaluate(before, seconds), evaluate(after, seconds)
    except Unresolved as err:
        return "unchecked", str(err)
    if constant_in is not None:
        # Real variables, so that d/dx ln|u| is 1/u and not a complex-analysis expression.
        reals = {v: sympy.Symbol(v.name, real=True) for v in a.free_symbols | b.free_symbols if v.is_real is None}
        a, b, constant_in = a.xreplace(reals), b.xreplace(reals), reals.get(constant_in, constant_in)
        da = attempt(seconds, lambda: sympy.diff(a, constant_in))
        db = attempt(seconds, lambda: sympy.diff(b, constant_in))
        if da is None or db is None:
            return UNCHECKED
        if _symbolic_zero(da - db, seconds):
            return "verified", "the same up to a constant"
        mark, reason = numeric_compare(da, db, seconds)
        if mark == "wrong":
            return "wrong", f"differentiating it gives {tex(db)}, not {tex(da)}"
        return mark, reason
    if _symbolic_zero(a - b, seconds):
        if same_limit:
            return "verified", f"both limits are {tex(a)}, though the expressions inside differ"
        return "verified", "equal" if a is before else f"SymPy gets {tex(a)}"
    mark, reason = numeric_compare(a, b, seconds)
    if mark == "wrong" and a is not before:
        reason = f"SymPy gets {tex(a)}; " + reason
    elif mark == "wrong" and not a.free_symbols and not b.free_symbols:
        if _rounded(a, b):
            return "unchecked", f"a rounded value; the exact value is {number_tex(a)}"
        reason = f"{tex(before)} is {number_tex(a)}, not {number_tex(b)}"
    return mark, reason


def _rounded(exact: Any, shown: Any) -> bool:
    """``shown`` is a decimal such as 23.08 that rounds ``exact`` to its number of places."""
    if not isinstance(shown, sympy.Rational) or shown.q == 1:
        return False
    places = next((k for k in range(1, 7) if (shown * 10**k).q == 1), None)
    if places is None:
        return False
    return bool(abs(sympy.N(exact, 30) - shown) <= sympy.Rational(1, 2 * 10**places))


def solution_set(f: Any, var: Any, seconds: float) -> Any:
    """The real solutions of ``f = 0`` in ``var``, or None when SymPy cannot say."""
    result = attempt(seconds, lambda: sympy.solveset(f, var, sympy.S.Reals))
    if result is None or isinstance(result, sympy.ConditionSet):
        return None
    return result


def same_value(a: Any, b: Any) -> bool:
    """Whether two numbers agree to about 12 significant digits (or SymPy shows their difference is zero)."""
    try:
        va, vb = complex(sympy.N(a, 30)), complex(sympy.N(b, 30))
    except (TypeError, ValueError):
        return bool(attempt(1.0, lambda: sympy.simplify(a - b) == 0))
    return abs(va - vb) <= 1e-12 * max(1.0, abs(va), abs(vb))


def _missing(left: Any, right: Any) -> list[Any]:
    return [a for a in left if not any(same_value(a, b) for b in right)]


def compare_sets(before: Any, after: Any, var: Any) -> Verdict:
    """Compare two solution sets (of the previous step and of this one)."""
    if isinstance(before, sympy.FiniteSet) and isinstance(after, sympy.FiniteSet):
        lost, gained = _missing(before, after), _missing(after, before)
        shown = ", ".join(f"${sympy.latex(var)} = {sympy.latex(v)}$" for v in after) or "none"
        if not lost and not gained:
            return "verified", f"same solutions ({shown})" if len(after) else "no real solutions, as before"
        if lost:
            value = lost[0]
            if gained:
                return "wrong", (
                    f"${sympy.latex(var)} = {sympy.latex(gained[0])}$ solves this step but not the previous one "
                    f"(which gives ${sympy.latex(var)} = {sympy.latex(value)}$)"
                )
            return "wrong", f"this step loses the solution ${sympy.latex(var)} = {sympy.latex(value)}$"
        return "unchecked", (
            f"this step adds ${sympy.latex(var)} = {sympy.latex(gained[0])}$, which does not solve the previous one; "
            "check the answers in the original equation"
        )
    if before == after:
        return "verified", "same solution set"
    return UNCHECKED


def proportional(f_before: Any, f_after: Any, seconds: float) -> bool:
    """(lhs − rhs) of two equations differ by a non-zero constant factor."""
    if f_after == 0:
        return False
    ratio = attempt(seconds, lambda: sympy.cancel(f_before / f_after))
    return ratio is not None and ratio.is_number and ratio != 0 and ratio.is_finite is True


def equations_equivalent(f_before: Any, f_after: Any, seconds: float, var: Any = None) -> Verdict:
    """Whether ``f_after = 0`` has the same solutions as ``f_before = 0``."""
    if proportional(f_before, f_after, seconds):
        return "verified", "the same equation rearranged"
    symbols = f_before.free_symbols | f_after.free_symbols
    if var is None and len(symbols) == 1:
        var = next(iter(symbols))
    if var is None or (symbols - {var}):
        return "unchecked", "more than one unknown"
    before, after = solution_set(f_before, var, seconds), solution_set(f_after, var, seconds)
    if before is None or after is None:
        return "unchecked", "SymPy could not solve it"
    mark, reason = compare_sets(before, after, var)
    if mark == "wrong":
        # Confirm the counter-example by substitution before saying so.
        return mark, reason
    return mark, reason


def _simplified_at(f: Any, solution: dict[Any, Any]) -> Any:
    return sympy.simplify(f.subs(solution))


def holds_at(f: Any, solutions: list[dict[Any, Any]], seconds: float) -> Verdict:
    """Whether ``f = 0`` holds at every solution of the system."""
    for solution in solutions:
        value = attempt(seconds, functools.partial(_simplified_at, f, solution))
        if value is None or value.free_symbols:
            return UNCHECKED
        if value != 0:
            shown = ", ".join(f"${sympy.latex(k)} = {sympy.latex(v)}$" for k, v in solution.items())
            return "wrong", f"it does not hold at the solution {shown}"
    shown = "; ".join(", ".join(f"${sympy.latex(k)} = {sympy.latex(v)}$" for k, v in s.items()) for s in solutions)
    return "verified", f"true at the system's solution ({shown})"


def solve_system(equations: list[Any], unknowns: list[Any], seconds: float) -> list[dict[Any, Any]] | None:
    """All solutions of a system (each fixing every unknown), or None."""
    result = attempt(seconds, lambda: sympy.solve(equations, unknowns, dict=True))
    if not result:
        return None
    for solution in result:
        if set(solution) != set(unknowns) or any(v.free_symbols for v in solution.values()):
            return None
    return list(result)
