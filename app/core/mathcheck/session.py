"""Checking a solution step by step: the state carried from one step to the next (worker side).

Three kinds of working are told apart from the first formula and the
problem's words: an expression rewritten line by line (algebra, derivatives,
integrals, limits, arithmetic), one equation transformed until ``x = …``, and
a system of equations. Every relation in a step is checked against what came
before; the step's mark is the worst of its checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.core.function import AppliedUndef

from app.core.mathcheck import checks
from app.core.mathcheck.parsing import Unparseable, parse_math, relations, sides

Verdict = checks.Verdict
_EXPR_WORDS = re.compile(
    r"\b(simplif|expand|factor|evaluat|comput|calculat|work out|differentiat|derivative|integrat|integral|"
    r"antiderivative|limit)",
    re.I,
)
_DIFF_WORDS = re.compile(r"\b(differentiat|derivative)", re.I)
_INT_WORDS = re.compile(r"\b(integrat|antiderivative|integral)", re.I)
_FACTOR_WORDS = re.compile(r"\bfactor", re.I)
_SOLVE_FOR = re.compile(r"\bfor\s+\$?([a-zA-Z])\$?", re.I)
_FUNC_DEF = re.compile(r"^([a-zA-Z])\s*\(\s*([a-zA-Z])\s*\)$")
_PRIME = re.compile(r"^([a-zA-Z])\s*('+|\^\{?\s*\\prime\s*\}?)\s*(?:\(([^()]+)\))?$")
_SYMBOL_DEF = re.compile(r"^([a-zA-Z])$")
_RANK = {"wrong": 3, "unchecked": 2, "verified": 1, "given": 0}


def _products(expr: Any, functions: dict[str, tuple[Any, Any]]) -> Any:
    """``x(x + 1)`` is read by the parser as a function ``x`` applied to ``x + 1``; make it a product."""
    return expr.replace(
        lambda n: isinstance(n, AppliedUndef) and len(n.args) == 1 and n.func.__name__ not in functions,
        lambda n: sympy.Symbol(n.func.__name__) * n.args[0],
    )


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

    # -- parsing with what the solution defined ---------------------------

    def _substitute(self, expr: Any) -> Any:
        if not self.functions:
            return expr

        def apply(node: Any) -> Any:
            var, body = self.functions[node.func.__name__]
            return body.subs(var, node.args[0])

        expr = expr.replace(
            lambda n: isinstance(n, AppliedUndef) and n.func.__name__ in self.functions and len(n.args) == 1, apply
        )
        return expr.subs({sympy.Symbol(name): body for name, (_, body) in self.functions.items()})

    def parse(self, text: str) -> Any:
        """A side of a relation, with defined functions and ``f'(x)`` resolved; raises ``Unparseable``."""
        prime = _PRIME.match(text.strip())
        if prime and prime.group(1) in self.functions:
            var, body = self.functions[prime.group(1)]
            order = prime.group(2).count("'") or 1
            derivative = sympy.Derivative(body, var, order)
            at = prime.group(3)
            if at is None or at.strip() == str(var):
                return derivative
            point = parse_math(at)
            value = checks.attempt(self.limit, lambda: derivative.doit().subs(var, point))
            if value is None:
                raise Unparseable("SymPy could not differentiate it")
            return value
        expr = self._substitute(_products(parse_math(text), self.functions))
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
        self.words = (self.words + " " + words).strip()
        rels = [r for segment in math for r in relations(segment)]
        parsed: list[list[Any]] = []
        for rel in rels:
            parts = sides(rel)
            match = _FUNC_DEF.match(parts[0]) or _SYMBOL_DEF.match(parts[0])
            if match and len(parts) >= 2 and (_EXPR_WORDS.search(self.words) or _FUNC_DEF.match(parts[0])):
                var = sympy.Symbol(match.group(2)) if match.lastindex == 2 else None
                body = self.parse(parts[1])
                if var is None and (not body.free_symbols or sympy.Symbol(match.group(1)) in body.free_symbols):
                    parsed.append([self.parse(p) for p in parts])
                    continue
                if var is None:
                    free = sorted(body.free_symbols, key=lambda s: s.name)
                    var = free[0] if len(free) == 1 else sympy.Symbol("x")
                self.functions[match.group(1)] = (var, body)
                self.mode = "expr"
                self.given_expr = self._wrap(body, var)
                self.prev_expr = self.given_expr
                continue
            parsed.append([self.parse(p) if p else None for p in parts])
        if self.functions:
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
        """Check one step against what came before."""
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
            rels = [r for segment in math for r in relations(segment)]
            if self.mode == "equation":
                return self._equation_step(words, rels)
            if self.mode == "system":
                return worst([self._system_relation(r) for r in rels])
            if sum(1 for r in rels if len(sides(r)) == 1) >= 2:
                # "the derivative of x^2 is 2x": separate facts, not a rewrite of the previous line.
                return "unchecked", "several separate expressions, not one rewritten"
            return worst([self._expression_relation(words, r) for r in rels])
        except Unparseable as err:
            return "unchecked", f"cannot read this: {err}"

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

    def _chain(self, first: Any, rest: list[str]) -> tuple[list[Verdict], Any]:
        verdicts: list[Verdict] = []
        current = first
        for text in rest:
            nxt = self.parse(text)
            verdicts.append(checks.equal(current, nxt, self.limit, self.integration_var))
            current = nxt
        return verdicts, current

    def _expression_relation(self, words: str, rel: str) -> Verdict:
        parts = sides(rel)
        if not parts[0]:
            if self.prev_expr is None:
                return "unchecked", "nothing before it to compare with"
            verdicts, self.prev_expr = self._chain(self.prev_expr, parts[1:])
            return worst(verdicts)
        first = self.parse(parts[0])
        if len(parts) == 1:
            bare_ok = self.given_expr is not None or not re.sub(r"[\s;:=.,*\-+>]", "", words)
            if self.prev_expr is None or not bare_ok:
                self.prev_expr = first
                return "unchecked", "nothing before it to compare with"
            verdict = checks.equal(self.prev_expr, first, self.limit, self.integration_var)
            self.prev_expr = first
            return verdict
        if self.given_expr is None and self.given_f is None and len(parts) == 2:
            second = self.parse(parts[1])
            f = first - second
            if f.free_symbols and not f.has(sympy.Derivative, sympy.Integral, sympy.Limit):
                identity = checks.attempt(self.limit, lambda: sympy.simplify(f) == 0)
                if identity is False:
                    # A word problem's working turns into an equation: solve it from here on.
                    self._start_equations([[first, second]])
                    return "unchecked", "taken as the equation to solve (the setting-up is not checked)"
        verdicts, self.prev_expr = self._chain(first, parts[1:])
        return worst(verdicts)

    # -- equations -----------------------------------------------------------

    def _as_solution(self, parts: list[str]) -> Any:
        if len(parts) != 2 or self.var is None or parts[0].strip() != str(self.var):
            return None
        value = self.parse(parts[1])
        return None if value.free_symbols else value

    def _equation_step(self, words: str, rels: list[str]) -> Verdict:
        split = [sides(r) for r in rels]
        if len(split) == 1 and len(split[0]) == 1 and split[0][0] and self.var is not None:
            split = [[str(self.var), split[0][0]]]  # a bare value, such as a boxed answer, means var = value
        values = [self._as_solution(p) for p in split]
        if (len(values) >= 2 and all(v is not None for v in values)) or (
            len(values) == 1 and values[0] is not None and self.prev_f is None
        ):
            new_set = sympy.FiniteSet(*values)
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
        if not f.free_symbols:
            verdicts.append(checks.equal(lhs, rhs, self.limit))
        else:
            verdicts.append(self._transformation(f))
        more, last = self._chain(rhs, parts[2:])
        verdicts += more
        self.last_lhs, self.last_value = lhs, last
        return worst(verdicts)

    def _transformation(self, f: Any) -> Verdict:
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
            rels = relations(boxed)
            split = [sides(r) for r in rels]
            if self.mode == "equation":
                return self._equation_answer(split)
            if self.mode == "system":
                return self._system_answer(split)
            value = self.parse(split[-1][-1])
            label = self.parse(split[-1][0]) if len(split[-1]) >= 2 and split[-1][0] else None
        except Unparseable as err:
            return "unchecked", f"cannot read the answer: {err}"
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
