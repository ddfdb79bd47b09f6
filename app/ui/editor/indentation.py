"""Indentation rules for the editor (no Qt): what a new line starts with, indent units."""

from __future__ import annotations

import re
from collections import Counter

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_PYTHON_DEDENT = re.compile(r"(return|pass|break|continue|raise)\b.*")


def leading_whitespace(line: str) -> str:
    """The spaces and tabs a line starts with."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def visual_width(whitespace: str, tab_width: int = 4) -> int:
    """Columns taken by leading whitespace, tabs counted to the next tab stop."""
    column = 0
    for char in whitespace:
        column = column + tab_width - column % tab_width if char == "\t" else column + 1
    return column


def guess_indent_unit(text: str, default: str = "    ") -> str:
    """The indentation a file uses: a tab, or the most common step between indentation levels."""
    tabs = 0
    steps: Counter[int] = Counter()
    previous = 0
    for line in text.splitlines()[:2000]:
        if not line.strip():
            continue
        if line.startswith("\t"):
            tabs += 1
            continue
        width = len(line) - len(line.lstrip(" "))
        if width > previous:
            steps[width - previous] += 1
        previous = width
    spaced = sum(steps.values())
    if tabs > spaced:
        return "\t"
    if not steps:
        return default
    step, seen = steps.most_common(1)[0]
    # One indented line says little (it may be a continuation): trust a step seen twice.
    return " " * step if seen >= 2 and step in (2, 3, 4, 8) else default


def strip_python_comment(line: str) -> str:
    """``line`` without a trailing ``#`` comment (quotes are respected; not docstrings)."""
    quote = ""
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def new_line_indent(before_cursor: str, unit: str, python: bool, colon_opens: bool | None = None) -> str:
    """The indentation for a line started by pressing Enter after ``before_cursor``.

    It keeps the current line's indentation, adds ``unit`` after an opening
    bracket and, where ``colon_opens`` (Python and YAML; by default when
    ``python``), after a ``:``; in Python it removes one after ``return``,
    ``pass``, ``break``, ``continue`` and ``raise``. ``#`` comments are ignored.
    """
    colon_opens = python if colon_opens is None else colon_opens
    indent = leading_whitespace(before_cursor)
    code = (strip_python_comment(before_cursor) if python or colon_opens else before_cursor).rstrip()
    if code.endswith(tuple(_OPENERS)) or (colon_opens and code.endswith(":")):
        return indent + unit
    if python and _PYTHON_DEDENT.fullmatch(code.strip()):
        return dedent_once(indent, unit)
    return indent


def dedent_once(indent: str, unit: str) -> str:
    """``indent`` with one level removed from its end: a tab, or spaces back to the previous multiple of the unit."""
    if indent.endswith("\t"):
        return indent[:-1]
    spaces = len(indent) - len(indent.rstrip(" "))
    width = max(len(unit), 1)
    return indent[: len(indent) - min(spaces, spaces % width or width)]


def closing_bracket(opener: str) -> str | None:
    """The bracket that closes ``opener``, if it is one."""
    return _OPENERS.get(opener)
