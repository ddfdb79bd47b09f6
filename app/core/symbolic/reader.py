"""LaTeX to SymPy: the one reader behind the math checker and the evaluation's answer comparison.

Strict reading (the checker) accepts only constructs it understands: SymPy's
parser quietly turns an unknown command such as ``\\pm`` into a product of
symbols, which could make a wrong step look right, so anything outside the
known set raises ``Unreadable`` with the reason in words. Loose reading (the
evaluation) parses anything SymPy can.

Notation the parser does not know is rewritten first, each piece read on its
own and put back as a placeholder symbol: the derivative operator
``\\frac{d}{dx}(…)`` and ``\\frac{\\partial}{\\partial x}(…)``, evaluation
brackets ``[F]_a^b``, Leibniz and partial derivatives of named functions,
primes, units and ``\\$``, percentages, ``\\pm`` (a symbol ``PM`` that is +1 or
−1), mixed numbers. Ambiguous notation is read as ``Reading`` says, so that a
caller can try every plausible reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.parsing.latex import parse_latex

from app.core.symbolic.text import balanced, clean_latex, nesting

MAX_CHARS = 1500  # longer expressions are not read: SymPy's parser is slow and recursive on them
MAX_NESTING = 30
PM = sympy.Symbol("PM")  # a ± b is read as a + PM·b, PM being +1 or −1
CONSTANT = sympy.Symbol("C")
UNITS = frozenset(
    [
        "km",
        "m",
        "cm",
        "mm",
        "h",
        "hr",
        "hrs",
        "hours",
        "min",
        "s",
        "sec",
        "kg",
        "g",
        "mg",
        "l",
        "ml",
        "L",
        "mL",
        "mph",
        "ft",
        "in",
        "mi",
        "lb",
        "oz",
    ]
)
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
        "xi",
    ]
)
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)")
_SCRIPT = re.compile(r"([_^])\s*([0-9A-Za-z])")
_HUGE = re.compile(r"\^\s*\{\s*[\d.]+\s*\^|\^\s*\{?\s*\d{5,}")
_MIXED = re.compile(r"(?<![\w.}^_)|])(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}")
_GROUP_POWER = re.compile(r"[A-Za-z]\s*\([^()]*\)\s*\^")
_TRIG_POWER = re.compile(r"\\(sin|cos|tan|sec|csc|cot)\s*([a-zA-Z])\s*\^\s*(\{[^{}]*\}|\w)")
_OPERATOR = re.compile(
    r"\\frac\{\s*(d|\\partial)\s*(?:\^\s*\{?(\d)\}?)?\s*\}\{\s*((?:(?:d|\\partial)\s*[a-zA-Z]\s*(?:\^\s*\{?\d\}?)?\s*)+)\}"
)
_LEIBNIZ = re.compile(
    r"\\frac\{\s*(d|\\partial)\s*(?:\^\s*\{?(\d)\}?)?\s*([a-zA-Z])\s*\}"
    r"\{\s*((?:(?:d|\\partial)\s*[a-zA-Z]\s*(?:\^\s*\{?\d\}?)?\s*)+)\}"
)
_PRIME = re.compile(r"(?<![\\A-Za-z])([a-zA-Z])\s*('+|\^\s*\{?\s*\\prime\s*\}?)(?:\s*\(([^()]*)\))?")
_SUBSCRIPT_PARTIAL = re.compile(r"(?<![\\A-Za-z])([a-zA-Z])_\{?([a-z]{1,3})\}?")
_TEXT = re.compile(r"\\(?:text|mathrm|textrm|mbox)\s*\{([^{}]*)\}")


class Unreadable(Exception):
    """The text is not mathematics this reader can read (the message says why, in words)."""


@dataclass(frozen=True)
class Reading:
    """How ambiguous notation is read: ``2\\frac{1}{3}`` as a mixed number, ``\\sin x^2`` as sin(x²)."""

    mixed_numbers: bool = True
    power_inside_trig: bool = True
    power_on_last_factor: bool = True  # x(x + 1)^3 is x·(x + 1)³, not (x(x + 1))³


PRIMARY = Reading()
ALTERNATIVES = (
    Reading(mixed_numbers=False),
    Reading(power_inside_trig=False),
    Reading(power_on_last_factor=False),
)

# A resolver gives the derivative of a named function: (name, variables, order, point text) -> expression or None.
Resolver = Callable[[str, tuple[str, ...], int, str | None], Any]


def ambiguous(text: str) -> bool:
    """Whether ``text`` holds notation with more than one plausible reading."""
    return bool(_MIXED.search(text) or _TRIG_POWER.search(text) or _GROUP_POWER.search(text))


@dataclass
class _Slots:
    """Pieces read apart, standing in the text as placeholder symbols ``\\xi_{97…}``."""

    values: dict[sympy.Symbol, Any] = field(default_factory=dict)

    def stash(self, value: Any) -> str:
        number = 97000 + len(self.values)
        self.values[sympy.Symbol(f"xi_{{{number}}}")] = value
        return rf" \xi_{{{number}}} "


def _group_end(text: str, start: int) -> int:
    """The index just past the bracket group opening at ``start``."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opening, closing = text[start], pairs[text[start]]
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
            if depth == 0:
                return i + 1
    raise Unreadable("unbalanced brackets")


def _operand_end(text: str, start: int) -> int:
    """Where an operator without brackets stops: the next + or − (or relation) outside brackets."""
    depth = 0
    i = start
    while i < len(text) and text[i] == " ":
        i += 1
    first = True
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and ch in "+-=<>," and not first:
            return i
        first = False
        i += 1
    return i


def _variables(spec: str) -> list[tuple[sympy.Symbol, int]]:
    found = re.findall(r"(?:d|\\partial)\s*([a-zA-Z])\s*(?:\^\s*\{?(\d)\}?)?", spec)
    return [(sympy.Symbol(name), int(power or 1)) for name, power in found]


class _Reader:
    def __init__(self, reading: Reading, resolve: Resolver | None, strict: bool) -> None:
        self.reading, self.resolve, self.strict = reading, resolve, strict
        self.slots = _Slots()

    def read(self, text: str) -> Any:
        text = text.strip()
        if not text:
            raise Unreadable("empty")
        if not balanced(text):
            raise Unreadable("unbalanced braces")
        if nesting(text) > MAX_NESTING:
            raise Unreadable(f"nested more than {MAX_NESTING} levels deep")
        if len(text) > MAX_CHARS:
            raise Unreadable(f"too long to check ({len(text)} characters)")
        if _HUGE.search(text):
            raise Unreadable("a number too large to work with (a tower of powers or a huge exponent)")
        cleaned = self.rewrite(clean_latex(text))
        if self.strict:
            unknown = {name for name in _COMMAND.findall(cleaned) if name not in ALLOWED_COMMANDS}
            if unknown:
                raise Unreadable("unsupported LaTeX: " + ", ".join(sorted("\\" + n for n in unknown)))
        try:
            expr = parse_latex(cleaned)
        except Exception as err:  # LaTeXParsingError, and assorted errors of the ANTLR runtime
            raise Unreadable(_parse_error(err)) from err
        except RecursionError as err:  # pragma: no cover - guarded by MAX_NESTING
            raise Unreadable("nested too deeply") from err
        if isinstance(expr, sympy.Basic) and not isinstance(expr, sympy.Expr):
            raise Unreadable("not an expression")
        if not isinstance(expr, sympy.Basic):
            raise Unreadable("not an expression")
        if expr.has(sympy.zoo, sympy.nan) or any(p.base == 0 and p.exp.is_negative for p in expr.atoms(sympy.Pow)):
            raise Unreadable("it divides by zero")
        expr = exact(expr)
        if self.slots.values:
            expr = expr.xreplace(self.slots.values)
        return expr

    def sub(self, text: str) -> Any:
        """A piece read on its own with the same reading and resolver."""
        inner = _Reader(self.reading, self.resolve, self.strict)
        inner.slots = self.slots
        return inner.read(text)

    # -- rewriting ---------------------------------------------------------------

    def rewrite(self, text: str) -> str:
        text = _SCRIPT.sub(lambda m: f"{m.group(1)}{{{m.group(2)}}}", text)
        text = self._brackets(text)
        text = self._operators(text)
        text = self._named_derivatives(text)
        text = self._words(text)
        if "$" in text:
            dollar = self.slots.stash(sympy.Symbol("dollars", positive=True)).strip()
            text = text.replace(r"\$", "$").replace("$", rf" {dollar} \cdot ")
        text = re.sub(r"\\%", r"\\cdot\\frac{1}{100}", text).replace("%", r"\cdot\frac{1}{100}")
        if re.search(r"\\(?:pm|mp)(?![A-Za-z])", text):
            sign = self.slots.stash(PM).strip()
            text = re.sub(r"\\pm(?![A-Za-z])", lambda _: rf"+ {sign} \cdot ", text)
            text = re.sub(r"\\mp(?![A-Za-z])", lambda _: rf"- {sign} \cdot ", text)
        if self.reading.mixed_numbers:
            text = _MIXED.sub(lambda m: self._mixed(m), text)
        if not self.reading.power_inside_trig:
            text = _TRIG_POWER.sub(lambda m: rf"(\{m.group(1)}({m.group(2)}))^{m.group(3)}", text)
        text = _DECIMAL.sub(_decimal, text)
        return text

    def _mixed(self, match: re.Match[str]) -> str:
        whole, num, den = match.group(1), match.group(2), match.group(3)
        if int(num) >= int(den):
            return match.group(0)
        return rf"({whole} + \frac{{{num}}}{{{den}}})"

    def _brackets(self, text: str) -> str:
        """``[F]_a^b`` (and ``|_a^b``) become F(b) − F(a)."""
        for _ in range(20):
            match = re.search(r"\]\s*_\s*(\{[^{}]*\})\s*\^\s*(\{[^{}]*\})", text)
            if match is None:
                return text
            close = match.start()
            depth, start = 0, -1
            for i in range(close, -1, -1):
                depth += {"]": 1, "[": -1}.get(text[i], 0)
                if depth == 0:
                    start = i
                    break
            if start < 0:
                raise Unreadable("an evaluation bracket without its opening [")
            body = self.sub(text[start + 1 : close])
            low, high = self.sub(match.group(1)[1:-1]), self.sub(match.group(2)[1:-1])
            free = body.free_symbols - {CONSTANT, PM}
            if len(free) != 1:
                raise Unreadable("an evaluation bracket needs exactly one variable")
            var = next(iter(free))
            value = body.subs(var, high) - body.subs(var, low)
            text = text[:start] + "(" + self.slots.stash(value) + ")" + text[match.end() :]
        raise Unreadable("too many evaluation brackets")

    def _operators(self, text: str) -> str:
        """``\\frac{d}{dx}(…)``, ``\\frac{d}{dx}\\sin x``, ``\\frac{\\partial}{\\partial y}(…)``."""
        for _ in range(20):
            match = _OPERATOR.search(text)
            if match is None:
                return text
            rest = match.end()
            while rest < len(text) and text[rest] == " ":
                rest += 1
            if rest < len(text) and text[rest] in "([{":
                end = _group_end(text, rest)
                body_text = text[rest + 1 : end - 1]
            else:
                end = _operand_end(text, rest)
                body_text = text[rest:end]
            if not body_text.strip():
                raise Unreadable("a derivative operator with nothing to act on")
            body = self.sub(body_text)
            spec = _variables(match.group(3))
            args = [item for var, power in spec for item in (var, power)]
            value = sympy.Derivative(body, *args)
            text = text[: match.start()] + "(" + self.slots.stash(value) + ")" + text[end:]
        raise Unreadable("too many derivative operators")

    def _named_derivatives(self, text: str) -> str:
        """``\\frac{dy}{dx}``, ``\\frac{\\partial f}{\\partial x}``, ``f'(x)``, ``f_{xy}`` of defined functions."""

        def leibniz(match: re.Match[str]) -> str:
            spec = _variables(match.group(4))
            names = tuple(str(var) for var, power in spec for _ in range(power))
            value = self._resolve(match.group(3), names, len(names), None)
            if value is None:
                raise Unreadable(f"the derivative of {match.group(3)}, which the working does not define")
            return "(" + self.slots.stash(value) + ")"

        text = _LEIBNIZ.sub(leibniz, text)

        def prime(match: re.Match[str]) -> str:
            order = match.group(2).count("'") or 1
            value = self._resolve(match.group(1), (), order, match.group(3))
            if value is None:
                raise Unreadable(f"{match.group(1)}' of a function the working does not define")
            return "(" + self.slots.stash(value) + ")"

        text = _PRIME.sub(prime, text)

        def subscript(match: re.Match[str]) -> str:
            value = self._resolve(match.group(1), tuple(match.group(2)), len(match.group(2)), None)
            return match.group(0) if value is None else "(" + self.slots.stash(value) + ")"

        return _SUBSCRIPT_PARTIAL.sub(subscript, text) if self.resolve is not None else text

    def _resolve(self, name: str, variables: tuple[str, ...], order: int, at: str | None) -> Any:
        if self.resolve is None:
            return None
        return self.resolve(name, variables, order, at)

    def _words(self, text: str) -> str:
        """``\\text{…}``: "of" is a product, units and named quantities become symbols."""

        def word(match: re.Match[str]) -> str:
            content = match.group(1).strip()
            if content in ("of", "x", "by"):
                return r" \cdot "
            if content in ("", "d"):
                return " " + content + " "
            if content in UNITS or re.fullmatch(r"[A-Za-z]+(?:/[A-Za-z]+|\^\d)?", content):
                if "/" in content:
                    top, bottom = content.split("/")
                    return " (" + self._unit(top) + "/" + self._unit(bottom) + ") "
                return " " + self._unit(content) + " "
            raise Unreadable(f"words inside the formula ({content})")

        return _TEXT.sub(word, text)

    def _unit(self, name: str) -> str:
        # Units are positive symbols, so they cancel like units do; another word names a quantity.
        name = name.replace("^", "")
        return self.slots.stash(sympy.Symbol(name, positive=True) if name in UNITS else sympy.Symbol(name)).strip()


def _parse_error(err: Exception) -> str:
    message = str(err).strip().split("\n")[0]
    return message if message and len(message) < 120 else "SymPy could not parse it"


def _decimal(match: re.Match[str]) -> str:
    whole, frac = match.group(1), match.group(2)
    return r"(\frac{" + str(int(whole + frac)) + "}{" + "1" + "0" * len(frac) + "})"


def exact(expr: Any) -> Any:
    """Floats as exact rationals, and ``e`` and ``pi`` as the constants."""
    floats = expr.atoms(sympy.Float)
    if floats:
        expr = expr.xreplace({f: sympy.Rational(str(f)) for f in floats})
    named = {sympy.Symbol("e"): sympy.E, sympy.Symbol("pi"): sympy.pi}
    if named.keys() & expr.free_symbols:
        expr = expr.subs({k: v for k, v in named.items() if k in expr.free_symbols})
    return expr


def read_latex(text: str, *, reading: Reading = PRIMARY, resolve: Resolver | None = None, strict: bool = True) -> Any:
    """One LaTeX expression (one side of a relation) as SymPy; raises ``Unreadable`` with the reason."""
    return _Reader(reading, resolve, strict).read(text)


def read_answer(text: str) -> Any:
    """An answer for the evaluation: read loosely, any construct SymPy's parser knows."""
    cleaned = re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", text)
    try:
        return read_latex(cleaned, strict=False)
    except Unreadable:
        return parse_latex(cleaned)
