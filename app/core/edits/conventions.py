"""Keep a file's own conventions in a proposed edit: line endings, final newline, blank lines.

Models write code with ``\\n`` endings, no final newline and whatever spacing
they like; inserted as it is, a function lands glued to the code above it
and the file loses its final newline (``\\ No newline at end of file`` in the
diff). Every proposal passes through ``conform`` before it is shown, so the
diff the user reviews is the change as it will be saved.

Blank lines are only adjusted where the edit touched the file: between two
top-level statements of which one is a function or class definition (PEP 8:
two blank lines) and between methods of a class (one), when the lines in
between are all blank. The rest of the file is never reformatted, and a file
that does not parse is left as it is.
"""

from __future__ import annotations

import ast
import difflib
import itertools
from collections.abc import Sequence

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def newline_of(text: str) -> str:
    """The line ending most lines of ``text`` use (``\\n`` when it has none)."""
    crlf = text.count("\r\n")
    lone_cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    best = max((lf, "\n"), (crlf, "\r\n"), (lone_cr, "\r"), key=lambda item: item[0])
    return best[1] if best[0] else "\n"


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _changed_lines(original: Sequence[str], proposed: Sequence[str]) -> list[tuple[int, int]]:
    """For each change, the proposed lines (1-based, inclusive) it wrote, widened by one line on each side."""
    matcher = difflib.SequenceMatcher(None, list(original), list(proposed), autojunk=False)
    return [(j1, j2 + 1) for tag, _i1, _i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _start(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)])


def _gaps(body: Sequence[ast.stmt], nested: bool) -> list[tuple[int, int, int]]:
    """(last line of a statement, first line of the next, blank lines wanted) around definitions."""
    wanted: list[tuple[int, int, int]] = []
    for first, second in itertools.pairwise(body):
        if isinstance(first, _DEFINITIONS) or isinstance(second, _DEFINITIONS):
            end = first.end_lineno or first.lineno
            wanted.append((end, _start(second), 1 if nested else 2))
    for node in body:
        if isinstance(node, ast.ClassDef):
            wanted += _gaps(node.body, nested=True)
    return wanted


def _python_blank_lines(lines: list[str], changed: list[tuple[int, int]]) -> list[str]:
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return lines
    result = list(lines)
    # From the bottom up, so earlier line numbers stay valid while lines are added or removed.
    for end, start, wanted in sorted(_gaps(tree.body, nested=False), reverse=True):
        between = lines[end : start - 1]
        if any(line.strip() for line in between) or len(between) == wanted:
            continue  # comments in between, or already right
        if not any(lo <= start and hi >= end for lo, hi in changed):
            continue  # the edit did not touch these two statements
        result[end : start - 1] = [""] * wanted
    return result


def conform(original: str | None, proposed: str, *, python: bool = False) -> str:
    """``proposed`` with ``original``'s line endings, final newline and (Python) blank lines around definitions."""
    newline = newline_of(original) if original else "\n"
    text = _lf(proposed)
    before = _lf(original or "")
    if python and text.strip():
        ended = text.endswith("\n")
        lines = text[:-1].split("\n") if ended else text.split("\n")
        old_lines = before.split("\n")
        lines = _python_blank_lines(lines, _changed_lines(old_lines, lines))
        text = "\n".join(lines) + ("\n" if ended else "")
    keeps_final = before.endswith("\n") if before.strip() else True
    if text.strip() and keeps_final and not text.endswith("\n"):
        text += "\n"
    elif text.strip() and not keeps_final:
        text = text.rstrip("\n")
    return text.replace("\n", newline) if newline != "\n" else text
