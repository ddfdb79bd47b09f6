"""Formula text of a step to SymPy expressions and relations; runs in the check worker.

The LaTeX itself is read by the shared reader (``app.core.symbolic.reader``),
strictly: anything it does not understand is "not checkable". Here a step's
formula is cut into relations (``a = b = c``, statements joined by
``\\implies``, ``\\Rightarrow``, ``\\therefore``) and bare formulas such as
``2x + 3 = 7`` are read too.
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    rationalize,
    standard_transformations,
)

from app.core.mathcheck.extract import PLAIN_NAMES, is_plain_formula
from app.core.symbolic.reader import PRIMARY, Reading, Resolver, Unreadable, exact, read_latex

Unparseable = Unreadable  # the checker's name for it


def _parse_plain(text: str) -> Any:
    names = {word: sympy.Symbol(word) for word in re.findall(r"[A-Za-z]+", text) if len(word) == 1}
    names["e"] = sympy.E
    names["ln"] = sympy.log
    transformations = (*standard_transformations, implicit_multiplication_application, convert_xor, rationalize)
    return parse_expr(text, local_dict=names, transformations=transformations, evaluate=True)


def parse_math(text: str, reading: Reading = PRIMARY, resolve: Resolver | None = None) -> Any:
    """One side of a relation as a SymPy expression; raises ``Unparseable``."""
    text = text.strip()
    if not text:
        raise Unparseable("empty")
    if "\\" not in text and "{" not in text and len(text) < 300 and is_plain_formula(text + " + 0"):
        try:
            return exact(_parse_plain(text))
        except Exception as err:  # SymPy raises many kinds for bad input
            raise Unparseable(str(err)) from err
    expr = read_latex(text, reading=reading, resolve=resolve)
    allowed = re.compile(r"[A-Za-z]_\{?\w+\}?|PM|dollars|[A-Za-z]+")
    if any(len(s.name) > 1 and not allowed.fullmatch(s.name) for s in expr.free_symbols):
        raise Unparseable("unrecognised name")
    return expr


_TOP_SPLIT = re.compile(
    r"\\Rightarrow|\\implies|\\iff|\\Leftrightarrow|\\therefore|\\because|\\to(?![A-Za-z])(?=[^}]*$)|"
    r"\\text\{\s*(?:and|or|so|then|hence|thus)\s*\}|\\q?quad\b|\\(?:text|mathrm)\{\s*\}"
)


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
    segment = re.sub(r"\\[,;:!]", " ", segment)  # thin spaces, not separators
    if r"\lim" in segment:
        pieces = [p for p in re.split(r"\\Rightarrow|\\implies|\\therefore|\\q?quad\b", segment) if p and p.strip()]
    else:
        pieces = [p for p in _TOP_SPLIT.split(segment) if p and p.strip()]
    out: list[str] = []
    for piece in pieces:
        parts = split_top(piece, ",;")
        if len(parts) > 1 and all(re.search(r"=|<|>|\\[lg]e|\\approx", p) for p in parts):
            out.extend(parts)
        else:
            out.append(piece)
    cleaned = [re.sub(r"^(?:\\[,;:! ]|\s)+|(?:\\[,;:! ]|\s)+$", "", p) for p in out]
    return [p for p in cleaned if p]


INEQUALITY = re.compile(r"\\(?:leq?|geq?|lt|gt)(?![A-Za-z])|[<>]")
OTHER_RELATION = re.compile(r"\\(?:neq?|in|subset|notin|cup|cap|approx)(?![A-Za-z])")


def sides(relation: str) -> list[str]:
    """The sides of a chain ``a = b = c``; an inequality or other relation raises ``Unparseable``."""
    if INEQUALITY.search(relation) or OTHER_RELATION.search(relation):
        raise Unparseable("not an equation")
    return [s.strip() for s in split_top(relation, "=")]


def is_inequality(relation: str) -> bool:
    """Whether the relation is an inequality, an interval statement or a set of intervals."""
    return bool(INEQUALITY.search(relation) or re.search(r"\\in(?![A-Za-z])|\\cup", relation)) and (
        r"\approx" not in relation
    )


def approx_sides(relation: str) -> tuple[str, str] | None:
    """``a \\approx b`` as its two sides, or None."""
    parts = re.split(r"\\approx", relation)
    if len(parts) != 2:
        return None
    return parts[0].strip(), parts[1].strip()


def plain_names() -> frozenset[str]:
    """The function names a bare formula may use."""
    return PLAIN_NAMES
