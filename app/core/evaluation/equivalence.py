"""Is a model's answer the same as the reference? Small and self-contained.

Three steps, cheapest first: the normalised LaTeX strings match; both are
numbers within a tolerance; SymPy finds the difference of the two parsed
expressions to be zero. SymPy runs in the math checker's worker process
(``app.core.mathcheck.pool``) under a time limit, because ``simplify`` can
take unbounded time on hostile input and a thread cannot be stopped. The
LaTeX is read by the reader the math checker uses (``app.core.symbolic.reader``,
loosely: any construct SymPy's ANTLR parser knows), needing ``antlr4-python3-runtime`` 4.11.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from fractions import Fraction

from app.core.mathcheck.pool import CheckerError, CheckWorker, RequestTimeout

REL_TOLERANCE = 1e-6
ABS_TOLERANCE = 1e-9
SYMPY_SECONDS = 5.0

_TEXT = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox|mathbf|operatorname)\s*\{([^{}]*)\}")
_UNIT_WORDS = re.compile(
    r"(?:\s*\b(?:units?|cm|centimeters?|meters?|m|km|inches|inch|in|feet|foot|ft|miles?|hours?|minutes?|mins?|"
    r"seconds?|days?|weeks?|years?|dollars?|cents?|degrees?|square|sq|cubic|mph|pounds?|lbs?|grams?|kg|g|"
    r"people|students|apples)\b\.?)+\s*$"
)
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+)(?![\d])")


@dataclass(frozen=True)
class Verdict:
    """Whether two answers agree, and which check decided it."""

    equal: bool
    how: str  # "same text", "numeric", "sympy", "sympy timed out", "different", ...


def normalize(answer: str) -> str:
    """A canonical spelling of a LaTeX answer: no dollars, spacing, \\left/\\right, units, degrees."""
    s = answer.strip()
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"\\[,;:! ]|~", "", s)
    s = s.replace("\\left", "").replace("\\right", "")
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = s.replace("\\displaystyle", "")
    s = re.sub(r"\^\s*\{?\s*\\circ\s*\}?", "", s).replace("°", "").replace("\\circ", "")
    s = s.replace("\\%", "").replace("%", "")
    # Units written as text after a value go; a bare \text{...} answer is unwrapped.
    s = re.sub(r"(?<=[\d}])\s*" + _TEXT.pattern + r"\s*$", "", s)
    s = _TEXT.sub(r"\1", s)
    s = _UNIT_WORDS.sub("", s) if re.search(r"\d", s) else s
    # "x = 5", "k=2": the value is what counts.
    m = re.fullmatch(r"\s*[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(.+)", s)
    if m:
        s = m.group(1)
    s = _THOUSANDS.sub(lambda g: g.group(1).replace(",", ""), s)
    s = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*\{([^{}]*)\}\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\sqrt\s*(\d+|[a-z])", r"\\sqrt{\1}", s)
    s = s.replace("\\{", "{").replace("\\}", "}")
    s = re.sub(r"\s+", "", s)
    s = s.rstrip(".")
    s = re.sub(r"(?<![\d])\.(\d)", r"0.\1", s)
    if re.fullmatch(r"-?\d+\.\d+", s):
        s = s.rstrip("0").rstrip(".")
    return s


def as_number(text: str) -> float | None:
    """``text`` as a number if it plainly is one (``-3``, ``2.5``, ``3/4``, ``\\frac{3}{4}``)."""
    s = normalize(text)
    frac = re.fullmatch(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}", s)
    if frac:
        s = f"{frac.group(1)}{frac.group(2)}/{frac.group(3)}"
    try:
        if re.fullmatch(r"-?\d+/\d+", s):
            return float(Fraction(s))
        if re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", s):
            return float(s)
    except (ValueError, ZeroDivisionError):
        return None
    return None


def numbers_equal(a: float, b: float) -> bool:
    """Equal within the evaluation's tolerance (relative 1e-6, absolute 1e-9)."""
    return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)


def _split_top_level(s: str) -> list[str] | None:
    """Items of a tuple/interval/list ``(a,b)``, ``[a,b)``, ``a,b``; ``None`` if not one."""
    depth = 0
    parts: list[str] = []
    current: list[str] = []
    for char in s:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == (1 if s[:1] in "([{" and s[-1:] in ")]}" else 0):
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    if len(parts) < 2:
        return None
    if s[:1] in "([{" and s[-1:] in ")]}":
        parts[0], parts[-1] = parts[0][1:], parts[-1][:-1]
    return parts


def _brackets(s: str) -> str:
    """The enclosing bracket pair of a list (``"()"``, ``"[)"``, ``"{}"``), or ``""`` for a bare list."""
    return s[0] + s[-1] if len(s) > 1 and s[0] in "([{" and s[-1] in ")]}" else ""


class AnswerJudge:
    """Decides answer equivalence; owns the SymPy child process (use as a context manager).

    Thread-safe: one SymPy question at a time goes to the child.
    """

    def __init__(self, sympy_seconds: float = SYMPY_SECONDS) -> None:
        self.sympy_seconds = sympy_seconds
        self._lock = threading.Lock()
        # The math checker's worker process: started on the first SymPy question, killed and
        # replaced when one overruns.
        self.worker = CheckWorker()

    def __enter__(self) -> AnswerJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the SymPy child, if it was started."""
        with self._lock:
            self.worker.close()

    def equivalent(self, answer: str | None, reference: str, *, symbolic: bool = True) -> Verdict:
        """Whether ``answer`` means ``reference`` (``symbolic=False``: text and numbers only)."""
        if answer is None or not answer.strip():
            return Verdict(False, "no answer")
        a, b = normalize(answer), normalize(reference)
        if a == b:
            return Verdict(True, "same text")
        x, y = as_number(a), as_number(b)
        if x is not None and y is not None:
            return Verdict(numbers_equal(x, y), "numeric")
        items_a, items_b = _split_top_level(a), _split_top_level(b)
        if items_a is not None and items_b is not None:
            if len(items_a) != len(items_b) or _brackets(a) != _brackets(b):
                return Verdict(False, "different tuples")
            if _brackets(a)[:1] in ("(", "["):  # points, tuples and intervals: order matters
                verdicts = [self.equivalent(p, q, symbolic=symbolic) for p, q in zip(items_a, items_b, strict=True)]
                return Verdict(all(v.equal for v in verdicts), "element-wise")
            # "all solutions, separated by commas" and sets: any order.
            return Verdict(self._same_items(items_a, items_b, symbolic), "as a set")
        if not symbolic:
            return Verdict(False, "different")
        return self._sympy(a, b)

    def _same_items(self, items_a: list[str], items_b: list[str], symbolic: bool) -> bool:
        unmatched = list(items_b)
        for item in items_a:
            match = next(
                (i for i, other in enumerate(unmatched) if self.equivalent(item, other, symbolic=symbolic).equal), None
            )
            if match is None:
                return False
            unmatched.pop(match)
        return True

    def _sympy(self, a: str, b: str) -> Verdict:
        with self._lock:
            try:
                equal, how = self.worker.request("equivalent", {"a": a, "b": b}, timeout=self.sympy_seconds)
            except RequestTimeout:
                return Verdict(False, "sympy timed out")
            except CheckerError:
                return Verdict(False, "sympy failed")
            return Verdict(bool(equal), str(how))
