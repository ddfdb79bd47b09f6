"""Source text to normalised tokens: what two copies of the same code have in common.

Identifiers become ``N`` and literals ``S`` (strings) or ``0`` (numbers), so
renaming a variable or changing a message changes nothing; comments,
docstrings (a string alone as a statement), whitespace, line breaks and indentation are dropped, so reformatting changes
nothing either. Keywords, operators, punctuation and the names of builtins
(which a renamer leaves alone) stay as written. A trailing comma before a
closing bracket is dropped, since formatters add and remove it.

Python goes through the standard library's ``tokenize``; every other
language through a Pygments lexer, picked by file name or fence tag.
Every token keeps the (1-based) line it starts on.
"""

from __future__ import annotations

import builtins
import io
import keyword
import logging
import textwrap
import tokenize
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Keyword, Literal, Name, Number, Operator, Punctuation, String, Text
from pygments.util import ClassNotFound

log = logging.getLogger(__name__)

IDENT, STRING, NUMBER = "N", "S", "0"
# Stored with the index: a change to the rules below must raise it, so old indexes are rebuilt.
NORMALISATION_VERSION = 2
# Soft keywords (match, case, type, _) are mostly ordinary names, which renaming changes: abstracted too.
_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | {"self", "cls"}
_CLOSERS = frozenset(")]}")
_PYTHON_SKIPPED = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
)
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
PYTHON_SUFFIXES = (".py", ".pyw")
PYTHON_TAGS = frozenset({"python", "py", "python3", "py3", "pycon", "sage", "pyw"})


@dataclass(frozen=True)
class TokenStream:
    """Normalised tokens of one text and the line each one starts on."""

    tokens: tuple[str, ...]
    lines: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.tokens)


def token_id(token: str) -> int:
    """A stable 32-bit number for a normalised token (the same in every process)."""
    return _token_id(token)


@lru_cache(maxsize=65536)
def _token_id(token: str) -> int:
    return zlib.crc32(token.encode("utf-8", "surrogatepass"))


class _Collector:
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.lines: list[int] = []

    def add(self, token: str, line: int) -> None:
        if token in _CLOSERS and self.tokens and self.tokens[-1] == ",":
            self.tokens.pop()
            self.lines.pop()
        self.tokens.append(token)
        self.lines.append(line)

    def stream(self) -> TokenStream:
        return TokenStream(tuple(self.tokens), tuple(self.lines))


def _python_tokens(text: str, out: _Collector, line_offset: int) -> int | None:
    """Tokenize ``text`` into ``out``; the line where tokenize gave up, or None when it finished."""
    depth = 0  # inside an f-string (Python 3.12+ tokenizes its parts)
    statement_start = True
    pending: int | None = None  # line of a string that opened a statement: a docstring if nothing follows
    reader = io.StringIO(text).readline
    try:
        for tok in tokenize.generate_tokens(reader):
            kind, value, line = tok.type, tok.string, tok.start[0] + line_offset
            if kind in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                statement_start = True
                pending = None  # a string alone on its statement is a docstring: dropped like a comment
                continue
            if kind in (tokenize.COMMENT, tokenize.NL):
                continue
            if pending is not None and kind != tokenize.STRING:
                out.add(STRING, pending)
                pending = None
            if statement_start and kind == tokenize.STRING:
                statement_start = False
                pending = line
                continue
            if pending is not None and kind == tokenize.STRING:
                continue  # implicit concatenation of the pending string
            statement_start = False
            if _FSTRING_START is not None and kind == _FSTRING_START:
                if depth == 0:
                    out.add(STRING, line)
                depth += 1
                continue
            if _FSTRING_END is not None and kind == _FSTRING_END:
                depth -= 1
                continue
            if depth or kind in _PYTHON_SKIPPED or kind == tokenize.ENDMARKER:
                continue
            if kind == tokenize.NAME:
                out.add(value if value in _KEPT_NAMES else IDENT, line)
            elif kind == tokenize.STRING:
                if not (out.tokens and out.tokens[-1] == STRING and out.lines[-1] >= line - 1):
                    out.add(STRING, line)  # adjacent literals are one string
            elif kind == tokenize.NUMBER:
                out.add(NUMBER, line)
            elif kind == tokenize.ERRORTOKEN and not value.strip():
                continue
            else:
                out.add(value, line)
    except tokenize.TokenError:
        return None  # an unclosed bracket or string at the end of a snippet: every token before it is kept
    except (IndentationError, SyntaxError) as err:
        # A stray dedent (a snippet cut from the middle of a block): carry on from that line.
        return err.lineno or None
    return None


def python_tokens(text: str) -> TokenStream:
    """Normalised tokens of Python source; broken code gives the tokens of its readable parts."""
    out = _Collector()
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines):
        chunk = "".join(lines[start:])
        stopped = _python_tokens(chunk if start == 0 else textwrap.dedent(chunk), out, start)
        if stopped is None:
            break
        start = max(start + stopped - 1, start + 1)
    return out.stream()


def _is(kind: Any, parent: Any) -> bool:
    """Whether a Pygments token type is ``parent`` or one of its subtypes (token types define ``in`` so)."""
    return bool(kind in parent)


def generic_tokens(text: str, lexer: Lexer) -> TokenStream:
    """Normalised tokens from a Pygments lexer (any language it knows)."""
    out = _Collector()
    line = 1
    for kind, value in lexer.get_tokens(text):
        start = line
        line += value.count("\n")
        if _is(kind, Comment) or _is(kind, Text) or not value.strip():
            continue
        if _is(kind, String) or _is(kind, Literal.String):
            if out.tokens and out.tokens[-1] == STRING and out.lines[-1] >= start - 1:
                continue  # a string lexed in parts is one literal
            out.add(STRING, start)
        elif _is(kind, Number) or _is(kind, Literal.Number):
            out.add(NUMBER, start)
        elif _is(kind, Keyword) or _is(kind, Name.Builtin):
            out.add(value.strip(), start)
        elif _is(kind, Name):
            out.add(IDENT, start)
        elif _is(kind, Operator) or _is(kind, Punctuation):
            for part in value.strip():
                # Punctuation runs such as ")," split into their characters, so lexers agree.
                out.add(part, start)
        else:
            out.add(value.strip(), start)
    return out.stream()


@lru_cache(maxsize=256)
def _lexer_for_file(name: str) -> Lexer | None:
    try:
        return get_lexer_for_filename(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@lru_cache(maxsize=256)
def _lexer_for_tag(tag: str) -> Lexer | None:
    try:
        return get_lexer_by_name(tag, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def language_of(name: str | None = None, tag: str | None = None) -> str | None:
    """``"python"``, a Pygments lexer name, or None when the language is unknown."""
    if tag:
        tag = tag.strip().lower()
        if tag in PYTHON_TAGS:
            return "python"
        lexer = _lexer_for_tag(tag)
        if lexer is not None:
            return "python" if lexer.name.lower().startswith("python") else str(lexer.aliases[0])
    if name:
        if name.lower().endswith(PYTHON_SUFFIXES):
            return "python"
        lexer = _lexer_for_file(name)
        if lexer is not None:
            return "python" if lexer.name.lower().startswith("python") else str(lexer.aliases[0])
    return None


def normalise(text: str, language: str | None) -> TokenStream:
    """The normalised tokens of ``text`` in ``language`` (see ``language_of``); None means Python."""
    if language is None or language == "python":
        return python_tokens(text)
    lexer = _lexer_for_tag(language)
    if lexer is None:
        return python_tokens(text)
    return generic_tokens(text, lexer)
