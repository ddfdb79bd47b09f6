"""Checking a solution step by step: the state carried from one step to the next (worker side).

Three kinds of working are told apart from the first formula and the
problem's words: an expression rewritten line by line (algebra, derivatives,
integrals, limits, arithmetic), one equation transformed until ``x = …``, and
a system of equations. Every relation in a step is checked against what came
before; the step's mark is the worst of its checks.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.core.function import AppliedUndef

from app.core.mathcheck import checks, sets
from app.core.mathcheck.parsing import (
    Unparseable,
    approx_sides,
    is_inequality,
    parse_math,
    relations,
    sides,
)
from app.core.symbolic.reader import ALTERNATIVES, PM, PRIMARY, Reading, ambiguous

Verdict = checks.Verdict
_EXPR_WORDS = re.compile(
    r"\b(simplif|expand|factor|evaluat|comput|calculat|work out|differentiat|derivative|integrat|integral|"
    r"antiderivative|limit|partial|d/dx|dy/dx)",
    re.I,
)
_DIFF_WORDS = re.compile(r"\b(differentiat|derivative|partial)|d/dx|dy/dx|\\frac\{d|\\partial", re.I)
_INT_WORDS = re.compile(r"\b(integrat|antiderivative|integral)", re.I)
_FACTOR_WORDS = re.compile(r"\bfactor", re.I)
_SOLVE_FOR = re.compile(r"\bfor\s+\$?([a-zA-Z])\$?", re.I)
_FUNC_DEF = re.compile(r"^([a-zA-Z])\s*\(\s*([a-zA-Z])\s*(?:,\s*[a-zA-Z]\s*)*\)$")
_FUNC_VARS = re.compile(r"[a-zA-Z]")
_DIFFERENTIAL = re.compile(r"^(.*?)\s*(?:\\,|\\;|\\ |\s)*d([a-z])$")
_READING_WORDS = {
    Reading(mixed_numbers=False): "a number before a fraction is read as a product",
    Reading(power_inside_trig=False): "sin x^2 is read as (sin x)^2",
    Reading(power_on_last_factor=False): "the power is read as applying to the whole product",
}
_PRIME = re.compile(r"^([a-zA-Z])\s*('+|\^\{?\s*\\prime\s*\}?)\s*(?:\(([^()]+)\))?$")
_SYMBOL_DEF = re.compile(r"^([a-zA-Z])$")
_RANK = {"wrong": 3, "unchecked": 2, "verified": 1, "given": 0}
_DECIMALS = re.compile(r"(-?\d+)(?:\.(\d+))?\s*$")


def _products(expr: Any, functions: dict[str, tuple[Any, Any]], reading: Reading = PRIMARY) -> Any:
    """``x(x + 1)`` is read by the parser as a function ``x`` applied to ``x + 1``; make it a product."""

    def undefined(n: Any) -> bool:
        return isinstance(n, AppliedUndef) and len(n.args) == 1 and n.func.__name__ not in functions

    # x(x + 1)^3 is x·(x + 1)³ as first read (a reciprocal from a fraction is always of the whole).
    expr = expr.replace(
        lambda n: (
            reading.power_on_last_factor
            and isinstance(n, sympy.Pow)
            and undefined(n.base)
            and n.exp.is_number
            and n.exp.is_positive
            and n.exp != 1
        ),
        lambda n: sympy.Symbol(n.base.func.__name__) * n.base.args[0] ** n.exp,
    )
    return expr.replace(undefined, lambda n: sympy.Symbol(n.func.__name__) * n.args[0])


def only_units(expr: Any) -> bool:
    """Every unknown of ``expr`` is a unit (units and ``$`` are read as positive symbols; unknowns are not)."""
    return all(s.is_positive for s in expr.free_symbols if s != PM)


def without_units(expr: Any) -> Any:
    """``expr`` with its units set to 1, for comparing a value written with or without them."""
    return expr.subs({s: 1 for s in expr.free_symbols if s.is_positive})


def worst(verdicts: list[Verdict]) -> Verdict:
    """The step's verdict: any wrong wins, then unchecked; verified only if every check verified."""
    if not verdicts:
        return checks.UNCHECKED
    return max(verdicts, key=lambda v: _RANK[v[0]])


@dataclass
class Session:
    """One solution being checked; ``limit`` is the time allowed for each SymPy call."""

    limit: float = 2.0
    mode: str = ""  # "expr", "equation", "system"
    words: str = ""  # the problem's words, for keywords
    given_expr: Any = None
    prev_expr: Any = None
    var: Any = None
    given_f: Any = None
    given_set: Any = None
    prev_f: Any = None
    system: list[Any] = field(default_factory=list)
    unknowns: list[Any] = field(default_factory=list)
    solutions: list[dict[Any, Any]] | None = None
    functions: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    integration_var: Any = None
    prev_set: Any = None  # solution set of the last equation, when SymPy found it
    last_lhs: Any = None
    last_value: Any = None
    started: bool = False
    point: dict[Any, Any] = field(default_factory=dict)
    reading: Reading = PRIMARY
    function_vars: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    substitution: tuple[Any, Any] | None = None  # (u, g(x)) while "u = g(x)" is in force
    given_ineq: Any = None  # the solution set of an inequality problem
    prev_ineq: Any = None
    sub_point: Any = None
    values: list[Any] = field(default_factory=list)  # every number the working has arrived at
    asked: Any = None  # what the problem asks for, when it names one thing (f''(1), dy/dx)

    # -- parsing with what the solution defined ---------------------------

    def _substitute(self, expr: Any) -> Any:
        if not self.functions:
            return expr

        def apply(node: Any) -> Any:
            name = node.func.__name__
            var, body = self.functions[name]
            own = self.function_vars.get(name, (var,))
            return body.subs(dict(zip(own, node.args, strict=True)), simultaneous=True)

        expr = expr.replace(
            lambda n: (
                isinstance(n, AppliedUndef)
                and n.func.__name__ in self.functions
                and len(n.args) == len(self.function_vars.get(n.func.__name__, (0,)))
            ),
            apply,
        )
        return expr.subs({sympy.Symbol(name): body for name, (_, body) in self.functions.items()})

    def _resolve(self, name: str, variables: tuple[str, ...], order: int, at: str | None) -> Any:
        """The derivative of a function the working defined (``f'``, ``dy/dx``, ``f_x``), or None."""
        if name not in self.functions:
            return None
        var, body = self.functions[name]
        own = self.function_vars.get(name, (var,))
        wanted = [sympy.Symbol(v) for v in variables] or [var] * order
        if any(w not in own for w in wanted):
            return None
        derivative = sympy.Derivative(body, *wanted)
        if at is None or at.strip() == str(var):
            return derivative
        point = parse_math(at, self.reading)
        value = checks.attempt(self.limit, lambda: derivative.doit().subs(var, point))
        if value is None:
            raise Unparseable("SymPy could not differentiate it")
        return value

    def _map_back(self, expr: Any) -> Any:
        """Under a substitution u = g(x): an indefinite integral in u becomes one in x, and u becomes g(x)."""
        if self.substitution is None:
            return expr
        u, g = self.substitution
        if u not in expr.free_symbols and not any(
            len(i.limits[0]) == 1 and i.limits[0][0] == u for i in expr.atoms(sympy.Integral)
        ):
            return expr
        free = sorted(g.free_symbols, key=lambda s: s.name)
        if len(free) != 1:
            return expr
        x = free[0]
        expr = expr.replace(
            lambda n: isinstance(n, sympy.Integral) and len(n.limits) == 1 and tuple(n.limits[0]) == (u,),
            lambda n: sympy.Integral(n.function.subs(u, g) * sympy.diff(g, x), x),
        )
        return expr.subs(u, g)

    def parse(self, text: str) -> Any:
        """A side of a relation, with defined functions, derivatives of them and substitutions resolved."""
        expr = parse_math(text, self.reading, self._resolve)
        expr = self._map_back(self._substitute(_products(expr, self.functions, self.reading)))
        if expr.atoms(AppliedUndef):
            raise Unparseable("an unknown function")
        if self.integration_var is None:
            for integral in expr.atoms(sympy.Integral):
                if any(len(limits) == 1 for limits in integral.limits):
                    self.integration_var = integral.limits[0][0]
        return expr

    # -- the first formula decides the kind of working --------------------

    def start(self, words: str, math: list[str]) -> Verdict | None:
        """Take the problem from the first step; None when the step is not a problem statement."""
        self.words = (self.words + " " + words + " " + " ".join(math)).strip()
        rels = [r for segment in math for r in relations(segment)]
        # Conditions such as "for x ≠ 1" say where the problem lives; they are not part of it.
        rels = [r for r in rels if not re.search(r"\\neq?(?![A-Za-z])", r)]
        inequalities = [r for r in rels if is_inequality(r)]
        if inequalities and len(inequalities) == len(rels):
            return self._start_inequality(inequalities[0])
        if any(re.match(r"\s*\\text\{", r) for r in rels):
            self.mode = "expr"
            return None  # "\text{speed} = …": working that names its quantities, not a problem statement
        rest = [r for r in rels if not self._define(r, first=True)]
        parsed: list[list[Any]] = []
        for rel in rest:
            parts = sides(rel)
            parsed.append([self.parse(p) if p else None for p in parts])
        if self.functions:
            asked = [p[0] for p in parsed if len(p) == 1 and p[0] is not None]
            if len(asked) == 1:
                self.asked = asked[0]
            # Other formulas here say where to evaluate, e.g. "at x = 4".
            for p in parsed:
                if len(p) == 2 and isinstance(p[0], sympy.Symbol) and p[1] is not None and not p[1].free_symbols:
                    self.point[p[0]] = p[1]
            return "given", ""
        if not parsed:
            return None
        equations = [p for p in parsed if len(p) == 2 and None not in p]
        if self._is_equation_problem(parsed, equations):
            return self._start_equations(equations)
        if len(parsed) == 1 and len(parsed[0]) == 1 and parsed[0][0] is not None:
            self.mode = "expr"
            free = sorted(parsed[0][0].free_symbols, key=lambda s: s.name)
            self.given_expr = self._wrap(parsed[0][0], free[0] if len(free) == 1 else None)
            self.prev_expr = self.given_expr
            return "given", ""
        self.mode = "expr"
        return None

    def _define(self, rel: str, first: bool) -> bool:
        """``f(x) = …``, ``f(x, y) = …`` or (in a problem) ``y = …``: a definition, stored; False otherwise."""
        if is_inequality(rel) or approx_sides(rel) is not None:
            return False
        parts = sides(rel)
        if len(parts) != 2 or not parts[1]:
            return False
        function = _FUNC_DEF.match(parts[0])
        symbol = _SYMBOL_DEF.match(parts[0])
        if function is not None:
            name = function.group(1)
            if name in self.functions and not first:
                return False
            inside = parts[0][parts[0].index("(") + 1 : parts[0].rindex(")")]
            own = tuple(sympy.Symbol(v) for v in _FUNC_VARS.findall(inside))
        elif (
            symbol is not None
            and first
            and (_EXPR_WORDS.search(self.words) or _DIFF_WORDS.search(self.words))
            and not re.search(r"\bsolve\b", self.words, re.I)
        ):
            name = symbol.group(1)
            own = ()
        else:
            return False
        body = self.parse(parts[1])
        if sympy.Symbol(name) in body.free_symbols:
            return False
        if not own:
            free = sorted(body.free_symbols - {PM}, key=lambda s: s.name)
            if not free:
                return False
            own = tuple(free) if len(free) > 1 else (free[0],)
            if sympy.Symbol("x") in own:
                own = (sympy.Symbol("x"), *[v for v in own if v != sympy.Symbol("x")])
        self.functions[name] = (own[0], body)
        self.function_vars[name] = own
        if first and self.given_expr is None:
            self.mode = "expr"
            self.given_expr = self._wrap(body, own[0])
            self.prev_expr = self.given_expr
        return True

    def _start_inequality(self, rel: str) -> Verdict:
        free = sorted(self.parse_side_symbols(rel), key=lambda s: s.name)
        if len(free) != 1:
            self.mode = "expr"
            return "unchecked", "an inequality in more than one unknown"
        self.mode = "inequality"
        self.var = free[0]
        self.given_ineq = self.prev_ineq = sets.statement_set(rel, self.var, self.parse, self.limit * 2)
        return "given", ""

    def parse_side_symbols(self, rel: str) -> set[Any]:
        """The unknowns of an inequality or interval statement."""
        pieces = re.split(r"\\leq?|\\geq?|<|>|\\in(?![A-Za-z])", rel)
        found: set[Any] = set()
        for piece in pieces:
            if piece.strip() and not re.match(r"\s*[(\[]", piece.strip()):
                found |= self.parse(piece).free_symbols
        return found - {PM}

    def _wrap(self, expr: Any, var: Any) -> Any:
        if var is None or expr.has(sympy.Derivative, sympy.Integral, sympy.Limit):
            return expr
        if _DIFF_WORDS.search(self.words):
            return sympy.Derivative(expr, var)
        if _INT_WORDS.search(self.words):
            self.integration_var = var
            return sympy.Integral(expr, var)
        return expr

    def _is_equation_problem(self, parsed: list[list[Any]], equations: list[Any]) -> bool:
        if not equations or len(equations) != len(parsed):
            return False
        if re.search(r"\bsolve\b", self.words, re.I):
            return True
        if _EXPR_WORDS.search(self.words):
            return False
        f = equations[0][0] - equations[0][1]
        if only_units(f):
            return False
        return bool(f.free_symbols) and checks.attempt(self.limit, lambda: sympy.expand(f) == 0) is False

    def _start_equations(self, equations: list[list[Any]]) -> Verdict:
        fs = [lhs - rhs for lhs, rhs in equations]
        unknowns = sorted(set().union(*(f.free_symbols for f in fs)), key=lambda s: s.name)
        wanted = _SOLVE_FOR.search(self.words)
        if len(unknowns) >= 2 and not wanted:
            self.mode = "system"
            self.system += fs
            self.unknowns = unknowns
            if len(self.system) >= len(unknowns):
                self.solutions = checks.solve_system(self.system, unknowns, self.limit * 2)
            return "given", ""
        self.mode = "equation"
        self.given_f = self.prev_f = fs[0]
        if wanted:
            self.var = sympy.Symbol(wanted.group(1))
        elif len(unknowns) == 1:
            self.var = unknowns[0]
        if self.var is not None:
            self.given_set = checks.solution_set(fs[0], self.var, self.limit * 2)
            self.prev_set = self.given_set
        return "given", ""

    # -- later steps -------------------------------------------------------

    def step(self, words: str, math: list[str]) -> Verdict:
        """Check one step against what came before; ambiguous notation is tried every plausible way."""
        before = self.copy()
        verdict = self.step_as_read(words, math)
        if verdict[0] != "wrong" or not any(ambiguous(m) for m in math):
            return verdict
        for reading in ALTERNATIVES:
            trial = before.copy()
            trial.reading = reading
            other = trial.step_as_read(words, math)
            if other[0] != "wrong":
                trial.reading = PRIMARY
                self.__dict__.update(trial.__dict__)
                return "unchecked", f"ambiguous: right if {_READING_WORDS[reading]}"
        return verdict

    def copy(self) -> Session:
        """A session that can go on from here without changing this one (to try another reading)."""
        twin = copy.copy(self)
        for name in ("system", "unknowns", "functions", "function_vars", "point"):
            setattr(twin, name, copy.copy(getattr(self, name)))
        return twin

    def step_as_read(self, words: str, math: list[str]) -> Verdict:
        """Check one step with ambiguous notation read only the current way (``self.reading``)."""
        if not self.started:
            self.started = True
            try:
                first = self.start(words, math)
            except Unparseable as err:
                self.mode = self.mode or "expr"
                return "unchecked", f"cannot read this: {err}"
            if first is not None:
                return first
        if self.mode == "system" and self.solutions is None and len(self.system) < len(self.unknowns):
            return self._more_system(math)
        try:
            if self.mode == "inequality":
                return self._inequality_step(words, math)
            rels = [r for segment in math for r in relations(segment)]
            verdicts: list[Verdict] = []
            remaining: list[str] = []
            for rel in rels:
                special = self._special(rel)
                if special is None:
                    remaining.append(rel)
                else:
                    verdicts.append(special)
            if not remaining:
                return worst(verdicts)
            if self.mode == "equation":
                verdicts.append(self._equation_step(words, remaining))
            elif self.mode == "system":
                verdicts += [self._system_relation(r) for r in remaining]
            elif sum(1 for r in remaining if len(sides(r)) == 1) >= 2:
                found = [self._earlier_value(r) for r in remaining if len(sides(r)) == 1]
                if all(found) and len(found) == len(remaining):
                    return "verified", "values worked out above"
                if len(remaining) == 2 and len(found) == 2:
                    verdicts.append(self._derivative_fact(words, remaining))
                    return worst(verdicts)
                # "the derivative of x^2 is 2x": separate facts, not a rewrite of the previous line.
                verdicts.append(("unchecked", "several separate expressions, not one rewritten"))
            else:
                verdicts += [self._expression_relation(words, r) for r in remaining]
            return worst(verdicts)
        except Unparseable as err:
            return "unchecked", f"cannot read this: {err}"

    # -- relations every kind of working may hold ----------------------------

    def _special(self, rel: str) -> Verdict | None:
        """Approximations, substitutions and new definitions; None for an ordinary relation."""
        approx = approx_sides(rel)
        if approx is not None:
            return self._approximation(*approx)
        if self._define(rel, first=False):
            return "given", "a definition"
        substitution = self._substitution(rel)
        if substitution is not None:
            return substitution
        return None

    def _value_of(self, text: str) -> Any:
        expr = self.parse(text)
        if self.var is not None and expr == self.var and self.prev_set is not None:
            if isinstance(self.prev_set, sympy.FiniteSet) and len(self.prev_set) == 1:
                return next(iter(self.prev_set))
            raise Unparseable("the unknown has no single value here")
        return expr

    def _approximation(self, left: str, right: str) -> Verdict:
        """``a ≈ b``: b must round a to the digits it shows."""
        if not right:
            raise Unparseable("an approximation with nothing after it")
        digits = _DECIMALS.search(re.sub(r"\\[,;! ]|\\text\{[^{}]*\}|\\\$", "", right).strip())
        shown = self.parse(right)
        exact = self._value_of(left) if left else self.prev_expr
        if exact is None:
            return "unchecked", "nothing to compare the approximation with"
        exact = checks.evaluate(exact, self.limit) if exact.has(sympy.Integral, sympy.Derivative) else exact
        if exact.free_symbols or shown.free_symbols:
            return "unchecked", "an approximation of an expression, not a number"
        places = len(digits.group(2) or "") if digits else 0
        half = sympy.Rational(1, 2 * 10**places)
        gap = checks.attempt(self.limit, lambda: abs(sympy.N(exact - shown, 50)))
        if gap is None:
            return "unchecked", "SymPy could not evaluate it"
        self._remember(shown)
        if gap <= half * (1 + sympy.Rational(1, 10**9)):
            return "verified", f"{checks.tex(exact)} is {checks.number_tex(sympy.N(exact, 12))} to that precision"
        if gap <= 2 * half:
            return "unchecked", f"the exact value is {checks.number_tex(sympy.N(exact, 12))}; this looks truncated"
        return "wrong", f"{checks.tex(exact)} is {checks.number_tex(sympy.N(exact, 12))}, not about {checks.tex(shown)}"

    def _substitution(self, rel: str) -> Verdict | None:
        """``u = g(x)``, ``du = g'(x) dx``, ``x dx = ½ du`` and the limits that follow a substitution."""
        parts = [re.sub(r"\\[,;:! ]|~", " ", p).strip() for p in rel.split("=")]
        if len(parts) != 2 or not parts[0] or not parts[1] or r"\int" in rel:
            return None
        integral = any(e is not None and e.has(sympy.Integral) for e in (self.given_expr, self.prev_expr))
        if not integral:
            return None
        left, right = _DIFFERENTIAL.match(parts[0]), _DIFFERENTIAL.match(parts[1])
        if self.substitution is None:
            symbol = _SYMBOL_DEF.match(parts[0])
            if symbol is None or symbol.group(1) in ("x", "C") or right is not None:
                return None
            g = self.parse(parts[1])
            u = sympy.Symbol(symbol.group(1))
            if u in g.free_symbols or len(g.free_symbols) != 1:
                return None
            self.substitution = (u, g)
            return "given", f"the substitution ${sympy.latex(u)} = {sympy.latex(g)}$"
        u, g = self.substitution
        x = next(iter(g.free_symbols))
        if left is not None and right is not None:
            a = sympy.Integer(1) if not left.group(1).strip() else self.parse(left.group(1))
            b = sympy.Integer(1) if not right.group(1).strip() else self.parse(right.group(1))
            da = sympy.diff(g, x) if left.group(2) == str(u) else sympy.Integer(1)
            db = sympy.diff(g, x) if right.group(2) == str(u) else sympy.Integer(1)
            mark, reason = checks.equal(a * da, b * db, self.limit)
            if mark == "verified":
                return "verified", f"the differential of ${sympy.latex(u)} = {sympy.latex(g)}$"
            return mark, reason
        point = _SYMBOL_DEF.match(parts[0])
        if point is None:
            return None
        value = self.parse(parts[1]) if parts[1] else None
        if value is None or value.free_symbols:
            return None
        if point.group(1) == str(x):
            self.sub_point = value
            return "given", ""
        if point.group(1) == str(u) and self.sub_point is not None:
            return checks.equal(g.subs(x, self.sub_point), value, self.limit)
        return None

    # -- inequalities --------------------------------------------------------

    def _inequality_step(self, words: str, math: list[str]) -> Verdict:
        statements = [r for segment in math for r in relations(segment)]
        if not statements:
            return "unchecked", "nothing to check"
        joined = " ".join(math) + " " + words
        either = bool(re.search(r"\bor\b", joined))
        found = [sets.statement_set(r, self.var, self.parse, self.limit * 2) for r in statements]
        result = sympy.Union(*found) if either else sympy.Intersection(*found)
        verdict = sets.compare(self.prev_ineq, result, self.var, self.limit * 2)
        self.prev_ineq = result
        return verdict

    def _more_system(self, math: list[str]) -> Verdict:
        try:
            for rel in (r for segment in math for r in relations(segment)):
                parts = sides(rel)
                if len(parts) != 2 or not parts[0]:
                    return "unchecked", "expected the rest of the system"
                self.system.append(self.parse(parts[0]) - self.parse(parts[1]))
        except Unparseable as err:
            return "unchecked", f"cannot read this: {err}"
        self.unknowns = sorted(set().union(*(f.free_symbols for f in self.system)), key=lambda s: s.name)
        if len(self.system) >= len(self.unknowns):
            self.solutions = checks.solve_system(self.system, self.unknowns, self.limit * 2)
        return "given", ""

    def _equal(self, a: Any, b: Any, constant_in: Any = None) -> Verdict:
        """``checks.equal``, on both branches when a ``±`` is in play."""
        if PM in a.free_symbols | b.free_symbols:
            return worst([checks.equal(a.subs(PM, s), b.subs(PM, s), self.limit, constant_in) for s in (1, -1)])
        return checks.equal(a, b, self.limit, constant_in)

    def _chain(self, first: Any, rest: list[str]) -> tuple[list[Verdict], Any]:
        verdicts: list[Verdict] = []
        current = first
        self._remember(first)
        for text in rest:
            nxt = self.parse(text)
            verdicts.append(self._equal(current, nxt, self.integration_var))
            current = nxt
            self._remember(nxt)
        return verdicts, current

    def _expression_relation(self, words: str, rel: str) -> Verdict:
        parts = sides(rel)
        if not parts[0]:
            if self.prev_expr is None:
                return "unchecked", "nothing before it to compare with"
            verdicts, self.prev_expr = self._chain(self.prev_expr, parts[1:])
            return worst(verdicts)
        named = self._named(parts)
        if named is not None:
            return named
        first = self.parse(parts[0])
        if len(parts) == 1:
            bare_ok = self.given_expr is not None or not re.sub(r"[\s;:=.,*\-+>]", "", words)
            if not without_units(first).free_symbols and self._earlier_value(parts[0]):
                return "verified", "the value worked out above"
            if self.prev_expr is None or not bare_ok:
                self.prev_expr = first
                return "unchecked", "nothing before it to compare with"
            verdict = self._equal(self.prev_expr, first, self.integration_var)
            self.prev_expr = first
            return verdict
        if self.given_expr is None and self.given_f is None and len(parts) == 2:
            second = self.parse(parts[1])
            f = first - second
            if f.free_symbols and not only_units(f) and not f.has(sympy.Derivative, sympy.Integral, sympy.Limit):
                identity = checks.attempt(self.limit, lambda: sympy.simplify(f) == 0)
                if identity is False:
                    # A word problem's working turns into an equation: solve it from here on.
                    self._start_equations([[first, second]])
                    return "unchecked", "taken as the equation to solve (the setting-up is not checked)"
        verdicts, self.prev_expr = self._chain(first, parts[1:])
        return worst(verdicts)

    def _derivative_fact(self, words: str, pair: list[str]) -> Verdict:
        """ "An antiderivative of $f$ is $F$", "the derivative of $F$ is $f$": checked by differentiating."""
        first, second = self.parse(pair[0]), self.parse(pair[1])
        free = sorted((first.free_symbols | second.free_symbols) - {PM}, key=lambda s: s.name)
        var = self.integration_var or (free[0] if len(free) == 1 else None)
        if var is None:
            return "unchecked", "several separate expressions, not one rewritten"
        if re.search(r"antiderivative|integral of|primitive", words, re.I):
            mark, reason = checks.equal(sympy.diff(second, var), first, self.limit)
        elif re.search(r"derivative of", words, re.I):
            mark, reason = checks.equal(sympy.diff(first, var), second, self.limit)
        else:
            return "unchecked", "several separate expressions, not one rewritten"
        return (mark, "differentiating checks it") if mark == "verified" else (mark, reason)

    def _earlier_value(self, text: str) -> bool:
        """Whether ``text`` is a number the working arrived at before (units aside)."""
        value = without_units(self.parse(text))
        if value.free_symbols:
            return False
        plain = [without_units(v) for v in self.values]
        return any(checks.same_value(value, v) for v in plain if not v.free_symbols)

    def _remember(self, value: Any) -> None:
        if value is not None and (only_units(value) or not value.free_symbols - {PM}) and len(self.values) < 200:
            self.values.append(value)

    def _named(self, parts: list[str]) -> Verdict | None:
        """``A = 12 m × 7.5 m = 90 m²``, ``\text{speed} = …``: a new name for a quantity, then its working."""
        if len(parts) < 2 or not re.fullmatch(r"[A-Za-z]|\\text\{\s*[A-Za-z ]+\s*\}", parts[0].strip()):
            return None
        if parts[0].strip() in self.functions or (self.var is not None and parts[0].strip() == str(self.var)):
            return None
        name = parts[0].strip()
        if (
            self.given_expr is not None
            and not name.startswith("\\")
            and sympy.Symbol(name) in self.given_expr.free_symbols
        ):
            return None
        first = self.parse(parts[1])
        if not name.startswith("\\") and sympy.Symbol(name) in first.free_symbols:
            return None
        if (
            first.free_symbols - {PM}
            and self.given_expr is None
            and not first.has(sympy.Derivative, sympy.Integral)
            and not only_units(first)
        ):
            return None
        verdicts, self.prev_expr = self._chain(first, parts[2:])
        return worst(verdicts) if verdicts else ("given", "names a quantity")

    # -- equations -----------------------------------------------------------

    def _as_solution(self, parts: list[str]) -> Any:
        if len(parts) < 2 or self.var is None or parts[0].strip() != str(self.var):
            return None
        value = self.parse(parts[-1])
        if value.free_symbols - {PM}:
            return None
        if len(parts) > 2:
            links, _ = self._chain(self.parse(parts[1]), parts[2:])
            if worst(links)[0] != "verified":
                return None  # the arithmetic on the way is checked as an equation step instead
        return value

    def _equation_step(self, words: str, rels: list[str]) -> Verdict:
        split = [sides(r) for r in rels]
        if len(split) == 1 and len(split[0]) == 1 and split[0][0] and self.var is not None:
            split = [[str(self.var), split[0][0]]]  # a bare value, such as a boxed answer, means var = value
        values = [self._as_solution(p) for p in split]
        if values and all(v is not None for v in values) and any(PM in v.free_symbols for v in values):
            values = [v.subs(PM, sign) for v in values for sign in (1, -1)]
        if (len(values) >= 2 and all(v is not None for v in values)) or (
            len(values) == 1 and values[0] is not None and self.prev_f is None
        ):
            new_set = sympy.FiniteSet(*values)
            if len(split) == 1 and len(split[0]) == 2:
                self.last_lhs, self.last_value = self.var, self.parse(split[0][1])
            if self.prev_set is None:
                return "unchecked", "SymPy could not solve the previous equation"
            verdict = checks.compare_sets(self.prev_set, new_set, self.var)
            self.prev_set = new_set
            self.prev_f = None
            return verdict
        return worst([self._equation_relation(p) for p in split])

    def _equation_relation(self, parts: list[str]) -> Verdict:
        if not parts[0]:
            if self.last_value is None:
                return "unchecked", "nothing before it to compare with"
            chained, self.last_value = self._chain(self.last_value, parts[1:])
            if self.prev_f is not None and self.last_lhs is not None:
                self.prev_f = self.last_lhs - self.last_value
            return worst(chained)
        if len(parts) == 1:
            return "unchecked", "an expression on its own"
        lhs, rhs = self.parse(parts[0]), self.parse(parts[1])
        f = lhs - rhs
        verdicts: list[Verdict] = []
        if (
            self.prev_f is not None
            and rhs != 0
            and checks.attempt(self.limit, lambda: sympy.expand(lhs - self.prev_f) == 0)
        ):
            # x² − 5x + 6 = (x − 2)(x − 3): the equation's side rewritten, an identity to check.
            verdicts.append(self._equal(lhs, rhs))
            more, last = self._chain(rhs, parts[2:])
            self.last_lhs, self.last_value = lhs, last
            return worst(verdicts + more)
        if not f.free_symbols:
            verdicts.append(checks.equal(lhs, rhs, self.limit))
        else:
            verdicts.append(self._transformation(f))
        more, last = self._chain(rhs, parts[2:])
        verdicts += more
        self.last_lhs, self.last_value = lhs, last
        return worst(verdicts)

    def _transformation(self, f: Any) -> Verdict:
        if PM in f.free_symbols and self.var is not None:
            # x − 1 = ±3: the union of both branches' solutions.
            branches = [checks.solution_set(f.subs(PM, s), self.var, self.limit) for s in (1, -1)]
            self.prev_f = None
            if any(b is None for b in branches) or self.prev_set is None:
                return "unchecked", "SymPy could not solve both branches"
            new_set = sympy.Union(*branches)
            verdict = checks.compare_sets(self.prev_set, new_set, self.var)
            self.prev_set = new_set
            return verdict
        if self.prev_f is not None:
            verdict = checks.equations_equivalent(self.prev_f, f, self.limit, self.var)
        elif self.prev_set is not None and self.var is not None:
            new_set = checks.solution_set(f, self.var, self.limit)
            verdict = checks.compare_sets(self.prev_set, new_set, self.var) if new_set is not None else checks.UNCHECKED
        else:
            verdict = checks.UNCHECKED
        self.prev_f = f
        if self.var is not None:
            # Keep the last known set when SymPy cannot solve this one.
            new_set = checks.solution_set(f, self.var, self.limit)
            if new_set is not None:
                self.prev_set = new_set
        return verdict

    def _system_relation(self, rel: str) -> Verdict:
        parts = sides(rel)
        if len(parts) < 2 or not parts[0]:
            return "unchecked", "an expression on its own"
        lhs = self.parse(parts[0])
        verdicts: list[Verdict] = []
        for text in parts[1:]:
            rhs = self.parse(text)
            f = lhs - rhs
            if not f.free_symbols:
                verdicts.append(checks.equal(lhs, rhs, self.limit))
            elif self.solutions is None:
                verdicts.append(("unchecked", "SymPy could not solve the system"))
            else:
                verdicts.append(checks.holds_at(f, self.solutions, self.limit))
            lhs = rhs
        return worst(verdicts)

    # -- the final answer ----------------------------------------------------

    def answer(self, boxed: str) -> tuple[str, str]:
        """The badge for the final answer: SymPy's own solution compared with it."""
        try:
            if self.mode == "inequality" and self.given_ineq is not None:
                statements = relations(boxed)
                found = [sets.statement_set(r, self.var, self.parse, self.limit * 2) for r in statements]
                either = bool(re.search(r"\bor\b", boxed))
                claimed = sympy.Union(*found) if either else sympy.Intersection(*found)
                mark, reason = sets.compare(self.given_ineq, claimed, self.var, self.limit * 2)
                return mark, ("SymPy solves the inequality too: " + reason) if mark == "verified" else reason
            approx = approx_sides(boxed)
            if approx is not None:
                return self._approximation(*approx)
            rels = relations(boxed)
            if re.search(r"\\Rightarrow|\\implies|\\therefore", boxed):
                rels = rels[-1:]  # the conclusion is the answer
            split = [sides(r) for r in rels]
            if self.mode == "equation":
                return self._equation_answer(split)
            if self.mode == "system":
                return self._system_answer(split)
            value = self.parse(split[-1][-1])
            label = self.parse(split[-1][0]) if len(split[-1]) >= 2 and split[-1][0] else None
        except Unparseable as err:
            return "unchecked", f"cannot read the answer: {err}"
        if self.asked is not None and label is None and not value.free_symbols - {PM}:
            mark, reason = self._equal(self.asked, value)
            return ("verified", "SymPy agrees") if mark == "verified" else (mark, reason)
        if label is not None and label.has(sympy.Derivative, sympy.Integral, sympy.Limit):
            mark, reason = checks.equal(label, value, self.limit * 2, self.integration_var)
            return ("verified", "SymPy agrees") if mark == "verified" else (mark, reason)
        if self.given_expr is not None:
            target = self.given_expr
            if self.point and not value.free_symbols:
                try:
                    target = checks.evaluate(target, self.limit).subs(self.point)
                except checks.Unresolved as err:
                    return "unchecked", str(err)
            mark, reason = checks.equal(target, value, self.limit * 2, self.integration_var)
            if mark == "verified" and _FACTOR_WORDS.search(self.words) and not isinstance(value, sympy.Mul | sympy.Pow):
                return "unchecked", "equal to the expression, but not written as a product"
            if mark == "verified":
                return "verified", reason if reason.startswith("SymPy") else "SymPy agrees"
            return mark, reason.replace("the previous expression", "the problem's expression")
        if self.prev_expr is not None:
            if only_units(value) or only_units(self.prev_expr):
                # "$48" after working in plain numbers: the units are labels, not unknowns.
                if self._earlier_value(split[-1][-1]):
                    return "consistent", "it is a value the working gives (the setting-up is not checked)"
                return "unchecked", "not a value the working gives"
            mark, reason = checks.equal(self.prev_expr, value, self.limit)
            if mark == "verified":
                return "consistent", "it is what the working gives (the setting-up is not checked)"
            return mark, reason
        return "unchecked", "nothing to check it against"

    def _equation_answer(self, split: list[list[str]]) -> tuple[str, str]:
        values = []
        for parts in split:
            if len(parts) == 2 and self.var is not None and parts[0].strip() == str(self.var):
                values.append(self.parse(parts[1]))
            elif len(parts) == 1:
                values.append(self.parse(parts[0]))
            else:
                return "unchecked", "the answer is not of the form x = …"
        values = [v.subs(PM, sign) for v in values for sign in ((1, -1) if PM in v.free_symbols else (1,))]
        rounded = self._rounded_answer(values)
        if rounded is not None:
            return rounded
        if self.var is None or self.given_f is None:
            return "unchecked", "no equation to check it against"
        for value in values:
            given_f, var = self.given_f, self.var
            residual = checks.attempt(self.limit, lambda: sympy.simplify(given_f.subs(var, value)))  # noqa: B023
            if residual is None:
                return "unchecked", "SymPy could not substitute it"
            if residual != 0:
                return "wrong", (
                    f"${sympy.latex(self.var)} = {sympy.latex(value)}$ does not satisfy the original equation"
                )
        if self.given_set is not None:
            mark, reason = checks.compare_sets(self.given_set, sympy.FiniteSet(*values), self.var)
            if mark == "verified":
                return "verified", f"SymPy solves the equation too: {reason}"
            if mark == "wrong":
                return mark, reason
        return "verified", "it satisfies the original equation"

    def _rounded_answer(self, values: list[Any]) -> Verdict | None:
        """A decimal answer that rounds the one exact solution (``x ≈ 1.609`` for ln 5); None otherwise."""
        if len(values) != 1 or not isinstance(self.given_set, sympy.FiniteSet) or len(self.given_set) != 1:
            return None
        value, exact = values[0], next(iter(self.given_set))
        if not isinstance(value, sympy.Rational) or value.q == 1 or 10**12 % value.q:
            return None
        if value == exact:
            return None
        places = next((k for k in range(1, 13) if (value * 10**k).q == 1), 12)
        gap = abs(sympy.N(exact - value, 50))
        if gap <= sympy.Rational(1, 2 * 10**places) * (1 + sympy.Rational(1, 10**9)):
            return "verified", f"it rounds the exact solution {checks.tex(exact)}"
        return None

    def _system_answer(self, split: list[list[str]]) -> tuple[str, str]:
        claimed: dict[Any, Any] = {}
        for parts in split:
            if len(parts) != 2:
                return "unchecked", "the answer is not of the form x = …, y = …"
            claimed[self.parse(parts[0])] = self.parse(parts[1])
        if self.solutions is None:
            return "unchecked", "SymPy could not solve the system"
        for f in self.system:
            residual = checks.attempt(self.limit, lambda: sympy.simplify(f.subs(claimed)))  # noqa: B023
            if residual is None or residual.free_symbols:
                return "unchecked", "the answer does not give every unknown"
            if residual != 0:
                return "wrong", "it does not satisfy every equation of the system"
        return "verified", "it satisfies every equation of the system"
