"""Rule tables of Pygments' regex lexers, compiled from their published ``tokens`` definitions.

Lexing line by line needs the state stack at every line end, and Pygments'
own loop keeps its stack to itself. So ``lexing`` runs its own loop, over
tables compiled here from what a lexer publishes: its ``tokens`` dict, in the
format Pygments documents for writing lexers (regex, action, new state;
``include``, ``default``, ``combined``, ``inherit``, ``words``), merged over
the base classes by ``get_tokendefs()``. They are compiled the way Pygments
compiles them, once per lexer class (and variant).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pygments.lexer import RegexLexer, combined, default, include, inherit

# (match at a position, action: a token type or a callback or None, state change or None).
Rule = tuple[Callable[..., "re.Match[str] | None"], Any, Any]
RuleTable = dict[str, list[Rule]]

_EMPTY = re.compile("").match
_COMBINED = "combined("


def is_combined(state: str) -> bool:
    """True for a state made of several with ``combined(…)``: named by us, unknown to the lexer's own loop."""
    return state.startswith(_COMBINED)


class RuleTableError(ValueError):
    """The lexer's ``tokens`` do not follow the documented format."""


def variant_of(lexer: RegexLexer) -> str | None:
    """The token variant a lexer with ``token_variants`` lexes with (C#'s unicode level), else None.

    Such lexers keep one ``tokens`` dict per variant, picked by an option; the
    option's value names the variant, and the first one is what the lexer
    falls back to. Their state names are the same in every variant.
    """
    if not getattr(type(lexer), "token_variants", False):
        return None
    variants = list(type(lexer).tokens)
    if not variants:
        raise RuleTableError(f"{type(lexer).__name__} has token variants but no tokens")
    options: Mapping[str, Any] = getattr(lexer, "options", {})
    return next((value for value in options.values() if isinstance(value, str) and value in variants), variants[0])


def rule_table(lexer: RegexLexer) -> RuleTable:
    """The compiled rules of ``lexer``, state name -> rules in match order."""
    return _compiled(type(lexer), variant_of(lexer))


@functools.cache
def _compiled(cls: type[RegexLexer], variant: str | None) -> RuleTable:
    # get_tokendefs(): the metaclass's merge of ``tokens`` over the base classes (``inherit``).
    definitions: Any = cls.tokens[variant] if variant is not None else cls.get_tokendefs()  # type: ignore[no-untyped-call]
    return _Compiler(definitions, cls.flags).table()


class _Compiler:
    """Turns ``tokens`` definitions into rule tables (as ``RegexLexerMeta.process_tokendef`` does)."""

    def __init__(self, definitions: Mapping[str, Sequence[Any]], flags: int) -> None:
        self._definitions = definitions
        self._flags = flags
        self._table: RuleTable = {}

    def table(self) -> RuleTable:
        for state in list(self._definitions):
            self._state(state)
        return self._table

    def _state(self, state: str) -> list[Rule]:
        if state in self._table:
            return self._table[state]  # done, or being done (an include of itself further down)
        if state not in self._definitions:
            raise RuleTableError(f"unknown state {state!r}")
        rules: list[Rule] = []
        self._table[state] = rules
        for definition in self._definitions[state]:
            if isinstance(definition, include):
                rules.extend(self._state(str(definition)))
            elif definition is inherit:
                continue  # nothing to inherit: get_tokendefs() has merged what there was
            elif isinstance(definition, default):
                rules.append((_EMPTY, None, self._new_state(definition.state)))
            elif isinstance(definition, tuple) and len(definition) >= 2:  # Pygments ignores anything after 3
                # A regex is a string, or an object that makes one (``words(…)``: a "Future").
                regex: Any = definition[0] if isinstance(definition[0], str) else definition[0].get()
                try:
                    match = re.compile(regex, self._flags).match
                except re.error as err:
                    raise RuleTableError(f"uncompilable regex {regex!r} in state {state!r}: {err}") from err
                new_state = self._new_state(definition[2]) if len(definition) > 2 else None
                rules.append((match, definition[1], new_state))
            else:
                raise RuleTableError(f"wrong rule {definition!r} in state {state!r}")
        return rules

    def _new_state(self, new_state: Any) -> Any:
        """A state change as the lexing loop applies it: a tuple to push, a negative int to pop, or "#push"."""
        if isinstance(new_state, combined):
            # An unnamed state made of the rules of several: named after them, compiled once.
            name = _COMBINED + ", ".join(new_state) + ")"
            if name not in self._table:
                rules: list[Rule] = []
                self._table[name] = rules
                for state in new_state:
                    rules.extend(self._state(state))
            return (name,)
        if isinstance(new_state, tuple):
            for state in new_state:
                if state not in ("#pop", "#push") and state not in self._definitions:
                    raise RuleTableError(f"unknown new state {state!r}")
            return new_state
        if isinstance(new_state, str):
            if new_state == "#pop":
                return -1
            if new_state == "#push":
                return new_state
            if new_state.startswith("#pop:"):
                return -int(new_state[5:])
            if new_state in self._definitions:
                return (new_state,)
        raise RuleTableError(f"unknown new state {new_state!r}")
