"""Pygments lexing one line at a time with exactly the result of lexing the whole text.

A ``RegexLexer`` keeps its state in a stack of state names, so lexing can
resume at the start of any line that begins at a token boundary, given the
stack there. ``BlockLexer`` interns those stacks as small integers (what
``QSyntaxHighlighter.setCurrentBlockState`` stores). A line that starts in
the middle of a token (many lexers match a whole ``/* … */`` comment, a
template literal or a heredoc with one multi-line regex) gets an "inside"
state instead, and is lexed again from the line where that token began.

Lexing runs over a window of text starting at such a line and reaching well
past the line wanted, so multi-line regexes see what follows (``LexRun``
hands out one line at a time and only lines with ``SAFE_MARGIN`` characters
of look-ahead). Our own copy of Pygments' lexing loop is used because the
original keeps the state stack in a local variable; it runs over rule tables
compiled from the lexer's published ``tokens`` (``rule_tables``), so nothing
here reads Pygments' private attributes. Lexers that refine their tokens in
an overridden method (C's builtin types) still provide the tokens, through
the public ``get_tokens_unprocessed(text, stack=…)``, with our loop running
alongside for the states. ``ExtendedRegexLexer`` contexts (YAML's
indentation) are interned like stacks; any other lexer lexes each line on
its own.
"""

from __future__ import annotations

import copy
import inspect
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

from pygments.lexer import ExtendedRegexLexer, Lexer, LexerContext, RegexLexer
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename, guess_lexer
from pygments.lexers.special import TextLexer
from pygments.token import Error, Text, Token, Whitespace
from pygments.util import ClassNotFound

from app.ui.editor.rule_tables import RuleTable, RuleTableError, is_combined, rule_table, variant_of

log = logging.getLogger(__name__)

# Pygments' token types are tuples of names (Token.Name.Builtin == ("Name", "Builtin")); the class is
# only reachable as the type of a public token.
TokenType = tuple[str, ...]
_TOKEN_TYPE = type(Token)
LexedToken = tuple[int, TokenType, str]
TokenList = list[LexedToken]
LineResult = tuple[str, TokenList, int]  # (line text, tokens relative to the line, end state)

_LEXER_OPTIONS = {"stripnl": False, "stripall": False, "ensurenl": False}
_GUESS_SAMPLE = 8192
_GUESS_MIN_SCORE = 0.05  # below this Pygments' guesses are noise ("Tera Term macro" for plain Python)
_MAX_STACK = 32
_MAX_STATES = 100_000
_CONTEXT_FIELDS = {"text", "pos", "end", "stack"}
SAFE_MARGIN = 16_384  # characters of look-ahead every handed-out line had


def choose_lexer(file_name: str | None = None, text: str = "", hint: str | None = None) -> Lexer:
    """The Pygments lexer for a buffer: from ``hint`` (a language name such as
    "python"), else the file name, else the content; plain text if none fits."""
    sample = text[:_GUESS_SAMPLE]
    if hint:
        try:
            return get_lexer_by_name(hint.strip().lower(), **_LEXER_OPTIONS)
        except ClassNotFound:
            pass
    if file_name:
        try:
            return get_lexer_for_filename(file_name, code=sample, **_LEXER_OPTIONS)
        except ClassNotFound:
            pass
    if sample.strip():
        try:
            guessed = guess_lexer(sample, **_LEXER_OPTIONS)
        except ClassNotFound:
            guessed = None
        except Exception:  # a lexer's analyse_text has crashed on odd input before
            log.exception("guessing the language failed")
            guessed = None
        if guessed is not None and type(guessed).analyse_text(sample) >= _GUESS_MIN_SCORE:
            return guessed
    return TextLexer(**_LEXER_OPTIONS)


def default_extension(lexer: Lexer) -> str:
    """A file extension for the lexer's language (".py"), or "" when it has none."""
    for pattern in getattr(lexer, "filenames", []):
        if pattern.startswith("*.") and not any(c in pattern[2:] for c in "*?[]"):
            return str(pattern[1:])
    return ""


def _transition(stack: list[str], new_state: Any) -> None:
    """Apply a rule's state change to ``stack`` in place (as Pygments 2.17–2.21 do)."""
    if isinstance(new_state, tuple):
        for state in new_state:
            if state == "#pop":
                if len(stack) > 1:
                    stack.pop()
            elif state == "#push":
                stack.append(stack[-1])
            else:
                stack.append(state)
    elif isinstance(new_state, int):
        if abs(new_state) >= len(stack):
            del stack[1:]
        else:
            del stack[new_state:]
    elif new_state == "#push":
        stack.append(stack[-1])


def _regex_step(table: RuleTable, lexer: RegexLexer, text: str, pos: int, stack: list[str]) -> tuple[TokenList, int]:
    """One iteration of ``RegexLexer.get_tokens_unprocessed``: (tokens, new position); ``stack`` changes in place."""
    for rexmatch, action, new_state in table[stack[-1]]:
        m = rexmatch(text, pos)
        if m:
            tokens: TokenList = []
            if action is not None:
                if type(action) is _TOKEN_TYPE:
                    tokens.append((pos, action, m.group()))
                else:
                    tokens.extend(action(lexer, m))
            if new_state is not None:
                _transition(stack, new_state)
            return tokens, m.end()
    if text[pos] == "\n":
        stack[:] = ["root"]
        return [(pos, Whitespace, "\n")], pos + 1
    return [(pos, Error, text[pos])], pos + 1


def _context_step(table: RuleTable, lexer: ExtendedRegexLexer, ctx: LexerContext) -> TokenList:
    """One iteration of ``ExtendedRegexLexer.get_tokens_unprocessed``; ``ctx`` changes in place."""
    text = ctx.text
    for rexmatch, action, new_state in table[ctx.stack[-1]]:
        m = rexmatch(text, ctx.pos, ctx.end)
        if m:
            tokens: TokenList = []
            if action is not None:
                if type(action) is _TOKEN_TYPE:
                    tokens.append((ctx.pos, action, m.group()))
                    ctx.pos = m.end()
                else:
                    tokens.extend(action(lexer, m, ctx))  # callbacks move ctx.pos themselves
            if new_state is not None:
                _transition(ctx.stack, new_state)
            return tokens
    if text[ctx.pos] == "\n":
        ctx.stack = ["root"]
        ctx.pos += 1
        return [(ctx.pos - 1, Text, "\n")]
    ctx.pos += 1
    return [(ctx.pos - 1, Error, text[ctx.pos - 1])]


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _context_class(lexer: Lexer) -> type[LexerContext]:
    """The context class the lexer's own method would create (YAML has its own)."""
    module = sys.modules.get(type(lexer).__module__)
    own = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, LexerContext) and obj is not LexerContext
    ]
    return own[0] if len(own) == 1 else LexerContext


def _accepts(method: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


class BlockLexer:
    """A Pygments lexer that lexes line by line, with line states as small ints."""

    def __init__(self, lexer: Lexer) -> None:
        self.lexer = lexer
        self._keys: list[tuple[Any, ...]] = []
        self._ids: dict[tuple[Any, ...], int] = {}
        self._extras: list[dict[str, Any]] = []
        self._failed = False
        method = type(lexer).get_tokens_unprocessed
        self.context_class: type[LexerContext] = LexerContext
        self.table: RuleTable = {}
        self.mode = "alone"
        if isinstance(lexer, RegexLexer):
            try:
                self.table = rule_table(lexer)
            except RuleTableError:
                log.warning("the %s lexer's rules cannot be read; each line is lexed on its own", lexer.name)
        if not self.table:
            pass
        elif isinstance(lexer, ExtendedRegexLexer):
            if method is ExtendedRegexLexer.get_tokens_unprocessed or _accepts(method, "context"):
                self.mode = "context"
                self.context_class = _context_class(lexer)
        elif isinstance(lexer, RegexLexer):
            own_tokens = method is not RegexLexer.get_tokens_unprocessed or variant_of(lexer) is not None
            if own_tokens and _accepts(method, "stack"):
                # It refines tokens (C's builtin types, say), or picks its rules by an option (C#'s
                # unicode level, where our table may be another variant): its tokens, our loop for the states.
                self.mode = "regex+own"
            else:
                self.mode = "regex"
        self.initial_state = self.boundary_state(["root"], {})

    @property
    def incremental(self) -> bool:
        """True when lines are lexed with the state the previous line ended in."""
        return self.mode != "alone"

    @property
    def name(self) -> str:
        return str(self.lexer.name)

    def _intern(self, key: tuple[Any, ...], extras: dict[str, Any] | None = None) -> int:
        found = self._ids.get(key)
        if found is not None:
            return found
        if len(self._keys) >= _MAX_STATES:  # pathological lexer: stop growing, start over at the top
            return 0
        self._ids[key] = len(self._keys)
        self._keys.append(key)
        self._extras.append(copy.deepcopy(extras or {}))
        return len(self._keys) - 1

    def boundary_state(self, stack: list[str], extras: dict[str, Any]) -> int:
        """The state of a line that ends at a token boundary with ``stack`` (and context ``extras``)."""
        frozen = tuple(stack)
        if len(frozen) > _MAX_STACK:  # a runaway '#push' must not grow the table for ever
            frozen = frozen[:1] + frozen[-(_MAX_STACK - 1) :]
        return self._intern(("at", frozen, _freeze(extras)), extras)

    def inside_state(self, chain_start: int, ttype: TokenType) -> int:
        """The state of a line whose last token goes on into the next line."""
        return self._intern(("in", chain_start, ttype))

    def is_inside(self, state: int) -> bool:
        """True when a line with this end state is followed by one that starts inside a token."""
        return 0 <= state < len(self._keys) and self._keys[state][0] == "in"

    def stack_of(self, state: int) -> tuple[list[str], dict[str, Any]]:
        """The stack (and context extras) a boundary state stands for; the initial one for anything else."""
        if not 0 <= state < len(self._keys) or self._keys[state][0] != "at":
            state = self.initial_state
        return list(self._keys[state][1]), copy.deepcopy(self._extras[state])

    def run(self, text: str, start_state: int, complete: bool) -> LexRun:
        """Lex ``text`` (starting at a line that begins at a token boundary) line by line.

        ``complete`` says that ``text`` reaches the end of the document (then
        it must end with a newline and every line is safe to hand out).
        """
        return LexRun(self, text, start_state, complete)

    def lex_alone(self, line: str) -> tuple[TokenList, int]:
        """Tokens of one line lexed on its own, for lexers without usable state."""
        try:
            tokens = list(self.lexer.get_tokens_unprocessed(line + "\n"))
        except Exception:
            self.report_failure()
            tokens = []
        return [t for t in tokens if t[0] < len(line)], self.initial_state

    def lex_lines(self, text: str) -> list[tuple[TokenList, int]]:
        """Every line of a whole document: (tokens relative to the line, end state)."""
        if not self.incremental:
            return [self.lex_alone(line) for line in text.split("\n")]
        run = self.run(text + "\n", -1, complete=True)
        results = []
        while (line := run.next_line()) is not None:
            results.append((line[1], line[2]))
        return results

    def report_failure(self) -> None:
        # A Pygments bug must not break typing: lines it cannot lex stay uncoloured.
        if not self._failed:
            log.exception("the %s lexer failed; lines it cannot lex stay uncoloured", self.name)
            self._failed = True


class LexRun:
    """Lexes a window of text from the start of one line, handing out one line at a time."""

    def __init__(self, owner: BlockLexer, text: str, start_state: int, complete: bool) -> None:
        self._owner = owner
        self._text = text
        self._complete = complete
        self._line_start = 0
        self._pending: TokenList = []  # tokens reaching past the lines handed out so far
        self.expected_state = start_state  # what the next line's previous state must be
        stack, extras = owner.stack_of(start_state)
        self._chain = owner.boundary_state(stack, extras)
        self._pos = 0
        self._stack = stack
        self._ctx: LexerContext | None = None
        self._own: Iterator[LexedToken] | None = None
        self._own_pending: TokenList = []
        self._broken = False
        self._stalls = 0
        self._last_step: tuple[int, int, TokenList] | None = None
        lexer = owner.lexer
        if owner.mode == "context":
            ctx = owner.context_class(text, 0)
            for field, value in extras.items():
                setattr(ctx, field, value)
            ctx.stack = stack
            self._ctx = ctx
        elif owner.mode == "regex+own" and isinstance(lexer, RegexLexer):
            self._own = iter(lexer.get_tokens_unprocessed(text, stack=tuple(stack)))

    def _state_now(self, ttype: TokenType) -> int:
        """The state of a line ending here, at a rule boundary; ``ttype``: the type of the token before it."""
        owner = self._owner
        if self._ctx is not None:
            extras = {k: v for k, v in vars(self._ctx).items() if k not in _CONTEXT_FIELDS}
            return owner.boundary_state(self._ctx.stack, extras)
        if owner.mode == "regex+own" and any(is_combined(state) for state in self._stack):
            # The lexer's own loop cannot start in one of our unnamed combined states (an f-string's
            # inside): the next line is lexed again from the last line that began without one.
            return owner.inside_state(self._chain, ttype)
        return owner.boundary_state(self._stack, {})

    def _step(self) -> tuple[int, int, TokenList]:
        """Lex one rule match: (start, end, tokens)."""
        owner = self._owner
        if self._ctx is not None:
            start = self._ctx.pos
            assert isinstance(owner.lexer, ExtendedRegexLexer)
            tokens = _context_step(owner.table, owner.lexer, self._ctx)
            end = self._ctx.pos
        else:
            start = self._pos
            assert isinstance(owner.lexer, RegexLexer)
            tokens, end = _regex_step(owner.table, owner.lexer, self._text, start, self._stack)
            self._pos = end
        if end > start:
            self._stalls = 0
        else:
            self._stalls += 1
            if self._stalls > 64:
                # Empty matches going round in circles would loop for ever (in Pygments too): move on.
                self._stalls = 0
                end = start + 1
                self._set_pos(end)
                tokens = [(start, Error, self._text[start:end])]
        return start, end, tokens

    def _set_pos(self, pos: int) -> None:
        if self._ctx is not None:
            self._ctx.pos = pos
        else:
            self._pos = pos

    def _position(self) -> int:
        return self._ctx.pos if self._ctx is not None else self._pos

    def next_line(self) -> LineResult | None:
        """The next line's text, tokens and end state; None at the end of the text or of the safe part."""
        if self._broken:
            return None
        text = self._text
        line_start = self._line_start
        line_end = text.find("\n", line_start)
        if line_end < 0 or (not self._complete and line_end + SAFE_MARGIN > len(text)):
            return None
        target = line_end + 1
        try:
            state = self._advance(line_start, target)
        except Exception:
            self._owner.report_failure()
            self._broken = True
            return None
        line = text[line_start:line_end]
        tokens = self._take(self._pending, line_start, line_end)
        if self._own is not None:
            try:
                self._fill_own(target)
            except Exception:
                self._owner.report_failure()
                self._broken = True
                return None
            tokens = self._take(self._own_pending, line_start, line_end)
        self._line_start = target
        self.expected_state = state
        return line, tokens, state

    def _advance(self, line_start: int, target: int) -> int:
        """Lex up to the first rule boundary at or after ``target``; the line's end state."""
        owner = self._owner
        if not owner.is_inside(self.expected_state):
            # This line starts at a boundary: a later line starting inside a token is lexed from here.
            self._chain = owner.boundary_state(*owner.stack_of(self.expected_state))
        while self._position() < target:
            self._last_step = self._step()
            self._pending.extend(self._last_step[2])
        if self._last_step is None:
            return self._state_now(Text)
        start, end, tokens = self._last_step
        last_type = tokens[-1][1] if tokens else Text
        if self._position() == target:
            return self._state_now(last_type)
        # The last rule match runs on into the next line (maybe from a line before this one).
        if self._text[start:end].isspace():
            # Whitespace running into the next line can be split there without changing anything.
            return self._state_now(last_type)
        covering = next((t for t in tokens if t[0] <= target < t[0] + len(t[2])), tokens[-1] if tokens else None)
        return owner.inside_state(self._chain, covering[1] if covering else Text)

    def _fill_own(self, target: int) -> None:
        assert self._own is not None
        last_end = self._own_pending[-1][0] + len(self._own_pending[-1][2]) if self._own_pending else 0
        while last_end < target:
            token = next(self._own, None)
            if token is None:
                break
            self._own_pending.append(token)
            last_end = token[0] + len(token[2])

    @staticmethod
    def _take(pending: TokenList, line_start: int, line_end: int) -> TokenList:
        """Pieces of ``pending`` tokens within [line_start, line_end), relative to the line; drops used tokens."""
        out: TokenList = []
        keep: TokenList = []
        for pos, ttype, value in pending:
            end = pos + len(value)
            if end > line_end + 1:
                keep.append((pos, ttype, value))
            begin, stop = max(pos, line_start), min(end, line_end)
            if stop > begin:
                out.append((begin - line_start, ttype, value[begin - pos : stop - pos]))
        pending[:] = keep
        return out
