"""Syntax highlighting of code blocks with Pygments."""

from __future__ import annotations

import functools
import html
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

# Pygments' guess_lexer weighs all ~600 lexers and calls Python "teratermmacro" and print(1) "scdoc";
# guessing only among languages a coding assistant meets keeps the guess rare but right.
GUESS_CANDIDATES = (
    "python",
    "pycon",
    "pytb",
    "bash",
    "console",
    "c",
    "cpp",
    "rust",
    "go",
    "java",
    "javascript",
    "typescript",
    "html",
    "xml",
    "css",
    "sql",
    "json",
    "yaml",
    "toml",
    "ini",
    "latex",
    "diff",
    "docker",
    "make",
    "cmake",
    "powershell",
)
GUESS_MIN_SCORE = 0.1
# Guessing looks at the start of the code only, so its cost does not grow with the block.
GUESS_SAMPLE = 4000


@functools.lru_cache(maxsize=256)
def _lexer(name: str) -> Any | None:
    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@functools.lru_cache(maxsize=1)
def _formatter() -> Any:
    return HtmlFormatter(nowrap=True)


def _guess(code: str) -> Any | None:
    sample = code[:GUESS_SAMPLE]
    best, best_score = None, 0.0
    for name in GUESS_CANDIDATES:
        lexer = _lexer(name)
        if lexer is None:
            continue
        score = float(lexer.analyse_text(sample))
        if score >= 1.0:
            return lexer
        if score > best_score:
            best, best_score = lexer, score
    return best if best_score >= GUESS_MIN_SCORE else None


def language_of(info_language: str, code: str) -> tuple[str, Any | None]:
    """The language name to show and the Pygments lexer for a code block.

    A language Pygments knows from the fence info wins; with no info the
    language is guessed; an unknown name is kept for display and the code
    shown plain (guessing would colour, say, Mermaid as something else).
    """
    if info_language:
        lexer = _lexer(info_language.lower())
        if lexer is None:
            return info_language, None
        return str(lexer.aliases[0]) if lexer.aliases else info_language, lexer
    lexer = _guess(code)
    if lexer is None:
        return "", None
    return str(lexer.aliases[0]), lexer


def highlight_code(code: str, lexer: Any | None) -> str:
    """Escaped HTML for the inside of a ``<pre><code>``, with Pygments' token classes."""
    if lexer is None:
        return html.escape(code, quote=False)
    return str(highlight(code, lexer, _formatter()))


def file_suffix(language: str) -> str:
    """A file-name suffix for code in ``language`` (``".py"`` for ``"python"``), or ``".txt"``.

    For "Open as new file" on a code block.
    """
    lexer = _lexer(language.lower()) if language else None
    for pattern in getattr(lexer, "filenames", ()):
        if pattern.startswith("*.") and not any(char in pattern[2:] for char in "*?["):
            return str(pattern[1:])
    return ".txt"
