"""LaTeX (and bare formula) text to SymPy expressions; runs in the check worker.

Only a known set of LaTeX commands is accepted: SymPy's parser quietly turns
an unknown command such as ``\\pm`` into a product of symbols, which could
make a wrong step look right. Anything outside the set is "not checkable".
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy.parsing.latex import parse_latex
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    rationalize,
    standard_transformations,
)

from app.core.mathcheck.extract import PLAIN_NAMES, is_plain_formula

ALLOWED_COMMANDS = frozenset(
    [
        "frac",
        "sqrt",
        "cdot",
        "times",
        "div",
        "sin",
        "cos",
        "tan",
        "sec",
        "csc",
        "cot",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "ln",
        "log",
        "exp",
        "pi",
        "int",
        "lim",
        "to",
        "infty",
        "theta",
        "alpha",
        "beta",
        "phi",
        "lambda",
        "mu",
        "sigma",
        "omega",
        "binom",
    ]
)
_SPACES = re.compile(r"\\[,;:! ]|\\q?quad\b|~|\\displaystyle\b|\\limits\b")
_TEXT = re.compile(r"\\(?:text|mathrm|textrm|mbox|operatorname)\s*\{([^{}]*)\}")
_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)")
_COMMAND = re.compile(r"\\([A-Za-z]+)")


class Unparseable(Exception):
    """The text is not mathematics this checker can read."""


def _decimal(match: re.Match[str]) -> str:
    whole, frac = match.group(1), match.group(2)
    return r"(\frac{" + str(int(whole + frac)) + "}{" + "1" + "0" * len(frac) + "})"


def clean_latex(text: str) -> str:
    """Normalise spacing, ``\\dfrac``, ``\\left``, percentages and decimals for the parser."""
    text = text.replace(r"\dfrac", r"\frac").replace(r"\tfrac", r"\frac")
    text = re.sub(r"\\left\b|\\right\b|\\[bB]ig+[lr]?\b", "", text)
    text = _TEXT.sub(lambda m: "d" if m.group(1).strip() == "d" else " ", text)
    text = _SPACES.sub(" ", text)
    text = text.replace("{,}", "")
    text = re.sub(r"\\%", r"\\cdot\\frac{1}{100}", text)
    text = _DECIMAL.sub(_decimal, text)
    text = text.replace(r"\lvert", "|").replace(r"\rvert", "|")
    return text.strip().rstrip(".,;")


def _exact(expr: Any) -> Any:
    floats = expr.atoms(sympy.Float)
    if floats:
        expr = expr.xreplace({f: sympy.Rational(str(f)) for f in floats})
    named = {sympy.Symbol("e"): sympy.E, sympy.Symbol("pi"): sympy.pi}
    if named.keys() & expr.free_symbols:
        expr = expr.subs({k: v for k, v in named.items() if k in expr.free_symbols})
    return expr


def _parse_plain(text: str) -> Any:
    names = {word: sympy.Symbol(word) for word in re.findall(r"[A-Za-z]+", text) if len(word) == 1}
    names["e"] = sympy.E
    names["ln"] = sympy.log
    transformations = (*standard_transformations, implicit_multiplication_application, convert_xor, rationalize)
    return parse_expr(text, local_dict=names, transformations=transformations, evaluate=True)


_BRACKET = re.compile(r"^\s*[\[(]\s*(.+?)\s*[\])]\s*_\s*(\{[^{}]*\}|\w)\s*\^\s*(\{[^{}]*\}|\w)\s*$")
_EVALUATED_AT = re.compile(r"[\])|]\s*_")


def _evaluation_bracket(text: str) -> Any:
    """``[F]_a^b`` (F between the limits): F(b) − F(a), or None when the text is not one."""
    match = _BRACKET.match(text)
    if match is None:
        return None
    body = parse_math(match.group(1))
    free = body.free_symbols
    if len(free) != 1:
        raise Unparseable("an evaluation bracket needs exactly one variable")
    var = next(iter(free))
    low, high = (parse_math(group.strip("{}")) for group in (match.group(2), match.group(3)))
    return body.subs(var, high) - body.subs(var, low)


def parse_math(text: str) -> Any:
    """One side of a relation as a SymPy expression; raises ``Unparseable``."""
    text = text.strip()
    if _EVALUATED_AT.search(clean_latex(text)):
        evaluated = _evaluation_bracket(clean_latex(text))
        if evaluated is None:
            raise Unparseable("an evaluation bracket inside a larger expression")
        return evaluated
    if not text:
        raise Unparseable("empty")
    if "\\" not in text and "{" not in text and is_plain_formula(text + " + 0"):
        try:
            return _exact(_parse_plain(text))
        except Exception as err:  # SymPy raises many kinds for bad input
            raise Unparseable(str(err)) from err
    cleaned = clean_latex(text)
    unknown = {name for name in _COMMAND.findall(cleaned) if name not in ALLOWED_COMMANDS}
    if unknown:
        raise Unparseable("unsupported LaTeX: " + ", ".join(sorted("\\" + n for n in unknown)))
    try:
        expr = parse_latex(cleaned)
    except Exception as err:  # LaTeXParsingError, and assorted errors of the ANTLR runtime
        raise Unparseable(str(err)) from err
    if isinstance(expr, sympy.Basic) and not isinstance(expr, sympy.Expr):
        raise Unparseable("not an expression")
    expr = _exact(expr)
    if any(len(s.name) > 1 and not re.fullmatch(r"[A-Za-z]_\{?\w+\}?", s.name) for s in expr.free_symbols):
        raise Unparseable("unrecognised name")
    return expr


_TOP_SPLIT = re.compile(r"\\Rightarrow|\\implies|\\iff|\\Leftrightarrow|\\text\{\s*(?:and|or|so|then)\s*\}|\\quad")


def split_top(text: str, seps: str) -> list[str]:
    """Split at characters of ``seps`` that are outside braces and parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        if ch in seps and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def relations(segment: str) -> list[str]:
    """A formula segment split into separate relations (``x = 6, y = 4`` gives two)."""
    pieces = [p for p in _TOP_SPLIT.split(segment) if p and p.strip()]
    out: list[str] = []
    for piece in pieces:
        parts = split_top(piece, ",;")
        if len(parts) > 1 and all("=" in p for p in parts):
            out.extend(parts)
        else:
            out.append(piece)
    return [p.strip() for p in out if p.strip()]


INEQUALITY = re.compile(r"\\(?:le|ge|leq|geq|neq|ne|approx|lt|gt|in|subset)\b|[<>]")


def sides(relation: str) -> list[str]:
    """The sides of a chain ``a = b = c``; an inequality raises ``Unparseable``."""
    if INEQUALITY.search(relation):
        raise Unparseable("inequalities are not checked")
    return [s.strip() for s in split_top(relation, "=")]


def plain_names() -> frozenset[str]:
    """The function names a bare formula may use."""
    return PLAIN_NAMES
