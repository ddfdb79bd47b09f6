"""What a code-generation command is about: a snapshot of the document,
cut to fit the prompt, with its language and project-relative name."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from app.api import Document, PluginContext, QuillpadError, Selection

CURSOR_MARK = "<CURSOR>"

_LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".jsx": "jsx",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
    ".go": "go",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cc": "cpp",
    ".java": "java",
    ".kt": "kotlin",
    ".rb": "ruby",
    ".php": "php",
    ".cs": "csharp",
    ".sh": "bash",
    ".sql": "sql",
    ".html": "html",
    ".css": "css",
    ".json": "json",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".md": "markdown",
    ".tex": "latex",
}


def language_of(path: Path | None) -> str:
    """The fence language for a file (empty when unknown)."""
    return _LANGUAGES.get(path.suffix.lower(), "") if path is not None else ""


@dataclass(frozen=True)
class Snapshot:
    """The document as it was when the command ran."""

    document: Document
    text: str
    label: str  # project-relative path, file name, or "untitled"
    path: Path | None
    root: Path | None
    selection: Selection
    cursor: int
    language: str
    known_files: tuple[str, ...]

    @classmethod
    def take(cls, context: PluginContext, document: Document) -> Snapshot:
        """Capture the document, its place in the project, and the project's file list."""
        path = document.path()
        root = context.project_root()
        label = "untitled"
        if path is not None:
            label = path.name
            if root is not None:
                with contextlib.suppress(ValueError):  # a file outside the project keeps its name
                    label = path.resolve().relative_to(root.resolve()).as_posix()
        known: tuple[str, ...] = ()
        project = context.project
        if project is not None:
            try:
                known = tuple(p.as_posix() for p in project.files())
            except QuillpadError as err:
                context.log.warning("project file list unavailable: %s", err)
        return cls(
            document=document,
            text=document.text(),
            label=label,
            path=path,
            root=root,
            selection=document.selection(),
            cursor=document.cursor(),
            language=language_of(path),
            known_files=known,
        )

    def line_of(self, position: int) -> int:
        """1-based line number of a position."""
        return self.text.count("\n", 0, position) + 1

    def unchanged(self) -> bool:
        """Whether the document still holds the text captured."""
        return self.document.text() == self.text


def excerpt(text: str, start: int, end: int, max_chars: int) -> str:
    """``text``, or when too long the lines around ``start``–``end`` with the cut marked."""
    if len(text) <= max_chars:
        return text
    lines = text.split("\n")
    first = text.count("\n", 0, start)
    last = text.count("\n", 0, end)
    low, high = first, last
    used = sum(len(line) + 1 for line in lines[low : high + 1])
    while used < max_chars and (low > 0 or high < len(lines) - 1):
        if low > 0:
            low -= 1
            used += len(lines[low]) + 1
        if high < len(lines) - 1 and used < max_chars:
            high += 1
            used += len(lines[high]) + 1
    parts = []
    if low > 0:
        parts.append(f"… ({low} lines above not shown) …")
    parts.extend(lines[low : high + 1])
    if high < len(lines) - 1:
        parts.append(f"… ({len(lines) - 1 - high} lines below not shown) …")
    return "\n".join(parts)


def fence(text: str, language: str = "") -> str:
    """``text`` in a Markdown fence long enough not to be closed by the text itself."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{language}\n{text}\n{ticks}"


def fit_indentation(code: str, line_prefix: str) -> str:
    """Indent every line after the first by the cursor line's indentation.

    The first line goes where the cursor is, which already carries that
    indentation when the cursor sits after it.
    """
    if not line_prefix or line_prefix.strip():
        return code
    lines = code.split("\n")
    return "\n".join([lines[0]] + [line if not line.strip() else line_prefix + line for line in lines[1:]])
