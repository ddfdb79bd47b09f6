"""Finding the steps of a worked solution in Markdown/LaTeX text (no SymPy here).

A step is a logical line that carries mathematics: inline ``$…$`` or ``\\(…\\)``,
display ``$$…$$`` or ``\\[…\\]`` (which may span lines), one row of an
``align``/``aligned`` environment, or a bare line that is nothing but a formula
(``2x + 3 = 7``). Prose around the mathematics is kept for keywords such as
"solve" or "or". The ``\\boxed{…}`` content is the final answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.symbolic.text import find_boxed

_FRONT_MATTER = re.compile(r"\A(\+\+\+|---)\s*\n.*?\n\1\s*(\n|\Z)", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.S)
_ENV = re.compile(r"\\begin\{(align\*?|aligned|gather\*?|equation\*?|cases)\}(.*?)\\end\{\1\}", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$|\\\((.+?)\\\)")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)]|#+|>)\s+")
_LABEL = re.compile(r"^\s*(?:step\s*\d+|[a-z][a-z ]{0,30})\s*:\s*", re.I)
_PLAIN_CHARS = re.compile(r"^[0-9A-Za-z+\-*/^()., =\s]+$")
PLAIN_NAMES = frozenset({"sin", "cos", "tan", "sqrt", "ln", "log", "exp", "pi"})
_WORD = re.compile(r"[A-Za-z]+")
_PLACEHOLDER = "\x00{}\x00"


@dataclass(frozen=True)
class StepText:
    """One step as found in the text: where it is, its formulas and the prose around them."""

    index: int
    line: int
    text: str
    math: tuple[str, ...]
    prose: str


@dataclass(frozen=True)
class Extraction:
    """The steps of a solution and its boxed answer ("" when none)."""

    steps: tuple[StepText, ...]
    boxed: str
    boxed_step: int = 0  # the index of the step holding the boxed answer, 0 when none


def strip_front_matter(text: str) -> str:
    """Drop a leading ``+++``/``---`` front-matter block."""
    return _FRONT_MATTER.sub("", text, count=1)


def is_plain_formula(line: str) -> bool:
    """A bare line such as ``2x + 3 = 7``: formula characters only, no prose words."""
    line = line.strip().rstrip(".")
    if not line or not _PLAIN_CHARS.match(line) or not re.search(r"[=+\-*/^]", line):
        return False
    if not re.search(r"\d|\b[a-zA-Z]\b", line):
        return False
    return all(len(word) == 1 or word in PLAIN_NAMES for word in _WORD.findall(line))


def _unbox(text: str) -> str:
    for start, end, content in reversed(find_boxed(text)):
        text = text[:start] + content + text[end:]
    return text


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with display maths and environments joined onto one line each (their rows apart)."""
    stash: list[str] = []

    def keep(match: re.Match[str]) -> str:
        stash.append(match.group(0))
        return _PLACEHOLDER.format(len(stash) - 1)

    joined = _ENV.sub(keep, text)
    joined = _DISPLAY.sub(keep, joined)
    out: list[tuple[int, str]] = []
    line_no = 1
    for raw in joined.split("\n"):
        pieces = re.split(r"\x00(\d+)\x00", raw)
        rebuilt = ""
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                rebuilt += piece
                continue
            block = stash[int(piece)]
            env = _ENV.fullmatch(block)
            if env is not None:
                # Each row of an align is a step of its own.
                rows = [row for row in re.split(r"\\\\", env.group(2)) if row.strip()]
                if rebuilt.strip():
                    out.append((line_no, rebuilt))
                    rebuilt = ""
                if env.group(1).startswith("cases"):
                    out.append((line_no, "$" + r" \quad\text{and}\quad ".join(r.replace("&", "") for r in rows) + "$"))
                else:
                    for row in rows:
                        out.append((line_no, "$" + " ".join(row.replace("&", " ").split()) + "$"))
                line_no += block.count("\n")
            else:
                inner = block[2:-2]
                rebuilt += "$" + " ".join(inner.split()) + "$"
                line_no += block.count("\n")
        out.append((line_no, rebuilt))
        line_no += 1
    return out


def _math_of(line: str) -> tuple[list[str], str]:
    math = [m.group(1) if m.group(1) is not None else m.group(2) for m in _INLINE.finditer(line)]
    prose = _INLINE.sub(" ; ", line)
    if math:
        return [m.strip() for m in math if m.strip()], prose
    body = _LIST_MARK.sub("", line)
    body = _LABEL.sub("", body).strip().rstrip(".")
    if is_plain_formula(body):
        return [body], line[: len(line) - len(body)] if line.endswith(body) else ""
    return [], line


def extract_steps(text: str) -> Extraction:
    """The steps of a worked solution and its boxed answer."""
    text = strip_front_matter(text.replace("\r\n", "\n"))
    boxes = find_boxed(text)
    boxed = boxes[-1][2].strip() if boxes else ""
    steps: list[StepText] = []
    boxed_step = 0
    for line_no, raw in _logical_lines(text):
        if not raw.strip():
            continue
        had_box = bool(find_boxed(raw))
        line = _unbox(raw)
        math, prose = _math_of(line)
        if not math:
            continue
        steps.append(StepText(len(steps) + 1, line_no, raw.strip(), tuple(math), prose))
        if had_box:
            boxed_step = len(steps)
    return Extraction(tuple(steps), boxed, boxed_step)


_LEADING_WORD = re.compile(r"^([A-Za-z]{2,})\b[\s,:]*")


def _drop_leading_words(text: str) -> str:
    text = text.strip()
    while (match := _LEADING_WORD.match(text)) and match.group(1) not in PLAIN_NAMES:
        text = text[match.end() :]
    return text


def problem_formula(problem: str) -> str:
    """The formula of a problem typed as text: ``Solve 2x+3=7`` gives ``2x+3=7``.

    LaTeX in ``$…$`` is used as it is; otherwise the leading words are dropped
    and what remains is used when it is a bare formula.
    """
    math, _ = _math_of(problem)
    if math and "$" in problem:
        return " , ".join(math)
    for candidate in (problem, _drop_leading_words(problem)):
        candidate = re.sub(r"\s+(?:for|with respect to)\s+[a-z]\s*\.?$", "", candidate.strip()).rstrip(".?")
        if is_plain_formula(candidate) or "\\" in candidate:
            return candidate
    return ""
