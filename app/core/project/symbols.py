"""Definitions in a file: classes, functions and methods with their signatures.

Python goes through ``ast`` (exact, and the signature is the real argument
list); Markdown headings through a line scan (they give documents the same
kind of outline); the other common languages through tree-sitter grammars
(``treesitter_symbols``). Only two levels are kept: top-level definitions
and the members of top-level types, which is what a repository map shows.
A file that does not parse simply has no symbols.
"""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_SIGNATURE_CHARS = 200


@dataclass(frozen=True)
class Symbol:
    """One definition. Lines are 1-based and inclusive; ``start_line`` includes decorators."""

    name: str
    kind: str  # class, function, method, interface, struct, enum, type, trait, impl, module, section...
    signature: str  # one line, e.g. "def load(self, path: str) -> Model"
    start_line: int
    end_line: int
    depth: int  # 0: top level, 1: member of a top-level type


def clip_signature(text: str) -> str:
    """Collapse whitespace to one line and cap the length."""
    text = " ".join(text.split())
    if len(text) > MAX_SIGNATURE_CHARS:
        text = text[: MAX_SIGNATURE_CHARS - 1].rstrip() + "…"
    return text


def _python_function(node: ast.FunctionDef | ast.AsyncFunctionDef, kind: str, depth: int) -> Symbol:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    try:
        args = ast.unparse(node.args)
        returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    except Exception:  # unparse of an odd tree: the name alone still helps
        args, returns = "...", ""
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    end = node.end_lineno or node.lineno
    return Symbol(node.name, kind, clip_signature(f"{prefix} {node.name}({args}){returns}"), start, end, depth)


def _python_class(node: ast.ClassDef) -> Symbol:
    try:
        bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    except Exception:
        bases = []
    suffix = f"({', '.join(bases)})" if bases else ""
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    end = node.end_lineno or node.lineno
    return Symbol(node.name, "class", clip_signature(f"class {node.name}{suffix}"), start, end, 0)


def parse_python(text: str) -> ast.Module | None:
    """The syntax tree of Python source, or None when it does not parse."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def python_symbols(text: str, tree: ast.Module | None = None) -> list[Symbol]:
    """Top-level classes and functions, and the methods and nested classes of top-level classes."""
    if tree is None:
        tree = parse_python(text)
    if tree is None:
        return []
    symbols: list[Symbol] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            symbols.append(_python_function(node, "function", 0))
        elif isinstance(node, ast.ClassDef):
            symbols.append(_python_class(node))
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    symbols.append(_python_function(member, "method", 1))
                elif isinstance(member, ast.ClassDef):
                    nested = _python_class(member)
                    symbols.append(
                        Symbol(nested.name, "class", nested.signature, nested.start_line, nested.end_line, 1)
                    )
    return symbols


_HEADING = re.compile(r"^(#{1,3})\s+(\S.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_symbols(text: str) -> list[Symbol]:
    """Headings of levels 1-3 (outside code fences); a section runs to the next heading."""
    heads: list[tuple[int, int, str]] = []
    in_fence = False
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = _HEADING.match(line)
        if match:
            heads.append((number, len(match.group(1)), match.group(2)))
    symbols = []
    for i, (first, level, title) in enumerate(heads):
        end = heads[i + 1][0] - 1 if i + 1 < len(heads) else len(lines)
        symbols.append(
            Symbol(clip_signature(title), "section", clip_signature("#" * level + " " + title), first, end, 0)
        )
    return symbols


@dataclass(frozen=True)
class Outline:
    """A file's definitions and the dotted names it imports (see ``imports``)."""

    symbols: list[Symbol]
    imports: list[str]


def extract_outline(language: str | None, text: str, path: str) -> Outline:
    """Definitions and imports of the file ``path``; Python is parsed once for both."""
    from app.core.project.imports import python_imports, text_imports

    if language == "python":
        tree = parse_python(text)
        if tree is None:
            return Outline([], [])
        try:
            imports = python_imports(tree, path)
        except RecursionError:
            imports = []
        return Outline(python_symbols(text, tree), imports)
    return Outline(extract_symbols(language, text), text_imports(language, text, path))


def extract_symbols(language: str | None, text: str) -> list[Symbol]:
    """The outline of ``text`` in ``language`` (see ``languages.language_for``); [] when unsupported."""
    if language is None:
        return []
    if language == "python":
        return python_symbols(text)
    if language == "markdown":
        return markdown_symbols(text)
    from app.core.project.treesitter_symbols import treesitter_symbols

    try:
        return treesitter_symbols(language, text)
    except Exception:  # a grammar bug must cost the outline of one file, not the index
        log.warning("outline of a %s file failed", language, exc_info=True)
        return []
