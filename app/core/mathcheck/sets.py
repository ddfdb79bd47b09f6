"""Inequalities, intervals and their solution sets (worker side).

A statement such as ``-3 < x - 2 < 3``, ``x \\in [-2, 3]``, ``(-\\infty, -2) \\cup (2, \\infty)``
or ``x < -2`` or ``x > 2`` is read as a set of real numbers; two steps agree
when their sets are equal. A difference is only called wrong with a witness:
a number that satisfies one statement and not the other, checked exactly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import sympy

from app.core.mathcheck import checks
from app.core.mathcheck.parsing import Unparseable, split_top

_OPS = re.compile(r"\\leq?(?![A-Za-z])|\\geq?(?![A-Za-z])|\\lt(?![A-Za-z])|\\gt(?![A-Za-z])|<=|>=|<|>")
_MAKE = {"<": sympy.Lt, ">": sympy.Gt, "le": sympy.Le, "ge": sympy.Ge}


def _op(token: str) -> Any:
    token = token.strip()
    if token in ("<", r"\lt"):
        return sympy.Lt
    if token in (">", r"\gt"):
        return sympy.Gt
    if token in ("<=",) or token.startswith(r"\le"):
        return sympy.Le
    return sympy.Ge


def _interval(text: str, parse: Callable[[str], Any]) -> Any:
    """``(a, b]``, ``[a, \\infty)``, unions with ``\\cup``; None when the text is not one."""
    pieces = [p.strip() for p in re.split(r"\\cup(?![A-Za-z])", text)]
    sets = []
    for piece in pieces:
        match = re.fullmatch(r"([(\[])(.*)([)\]])", piece, re.S)
        if match is None:
            return None
        ends = split_top(match.group(2), ",")
        if len(ends) != 2:
            return None
        low, high = (parse(e) for e in ends)
        sets.append(sympy.Interval(low, high, match.group(1) == "(", match.group(3) == ")"))
    return sympy.Union(*sets)


def statement_set(text: str, var: Any, parse: Callable[[str], Any], seconds: float) -> Any:
    """The real numbers satisfying one statement about ``var``; raises ``Unparseable``."""
    text = text.strip().rstrip(".")
    member = re.split(r"\\in(?![A-Za-z])", text)
    if len(member) == 2:
        if parse(member[0]) != var:
            raise Unparseable("a set statement about something else")
        text = member[1].strip()
    if not _OPS.search(text):
        found = _interval(text, parse)
        if found is None:
            raise Unparseable("neither an inequality nor an interval")
        return found
    tokens = _OPS.split(text)
    ops = _OPS.findall(text)
    exprs = [parse(t) for t in tokens]
    result: Any = sympy.S.Reals
    for left, op, right in zip(exprs, ops, exprs[1:], strict=False):
        relation = _op(op)(left, right)
        solved = checks.attempt(seconds, functools.partial(sympy.solveset, relation, var, sympy.S.Reals))
        if solved is None or isinstance(solved, sympy.ConditionSet):
            raise Unparseable("SymPy could not solve the inequality")
        result = sympy.Intersection(result, solved)
    return result


def witness(a: Any, b: Any, seconds: float) -> Any:
    """A number in exactly one of the two sets, or None."""
    difference = checks.attempt(seconds, lambda: sympy.SymmetricDifference(a, b).simplify())
    if difference is None or difference == sympy.S.EmptySet:
        return None
    candidates: list[Any] = []
    parts = difference.args if isinstance(difference, sympy.Union) else (difference,)
    for part in parts:
        if isinstance(part, sympy.FiniteSet):
            candidates += list(part)
        elif isinstance(part, sympy.Interval):
            low, high = part.start, part.end
            if low.is_finite and high.is_finite:
                candidates.append((low + high) / 2)
            elif low.is_finite:
                candidates.append(low + 1)
            elif high.is_finite:
                candidates.append(high - 1)
            else:
                candidates.append(sympy.Integer(0))
    for point in candidates:
        in_a, in_b = a.contains(point), b.contains(point)
        if in_a in (sympy.true, sympy.false) and in_b in (sympy.true, sympy.false) and in_a != in_b:
            return point
    return None


def compare(before: Any, after: Any, var: Any, seconds: float) -> checks.Verdict:
    """Verified when the sets are equal; wrong with a confirmed witness; otherwise not checkable."""
    same = checks.attempt(seconds, lambda: sympy.SymmetricDifference(before, after).simplify() == sympy.S.EmptySet)
    if same:
        return "verified", f"the same solution set, ${sympy.latex(after)}$"
    point = witness(before, after, seconds)
    if point is None:
        return "unchecked", "SymPy could not compare the solution sets"
    name = sympy.latex(var)
    if before.contains(point) == sympy.true:
        return "wrong", f"${name} = {sympy.latex(point)}$ solves the previous step but not this one"
    return "wrong", f"${name} = {sympy.latex(point)}$ satisfies this step but not the previous one"
