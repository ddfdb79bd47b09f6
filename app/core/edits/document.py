"""What plugins and edits see of the editor: documents, never widgets.

``Document`` and ``Editor`` are protocols; the GUI implements them on its
editor tabs, and ``MemoryDocument``/``MemoryEditor`` implement them for tests
and headless runs. Positions are Python string indices (code points) into
``text()``, not Qt's UTF-16 positions; the GUI converts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from app.core.errors import QuillpadError
from app.core.text_files import load_text_file, save_text_atomic


class DocumentError(QuillpadError):
    """A document operation that cannot be done (a position out of range, say)."""


@dataclass(frozen=True)
class Selection:
    """The selected range (``start == end`` when nothing is selected) and its text."""

    start: int
    end: int
    text: str

    @property
    def empty(self) -> bool:
        return self.start == self.end


@runtime_checkable
class Document(Protocol):
    """One open text buffer (a file or an unsaved one)."""

    def path(self) -> Path | None:
        """The file it belongs to, or None for an unsaved buffer."""
        ...

    def text(self) -> str:
        """The whole text, with ``\\n`` line endings."""
        ...

    def selection(self) -> Selection:
        """The current selection; empty at the cursor when nothing is selected."""
        ...

    def cursor(self) -> int:
        """Where the cursor is."""
        ...

    def insert(self, position: int, text: str) -> None:
        """Insert ``text`` at ``position`` as one undo step."""
        ...

    def replace(self, start: int, end: int, text: str) -> None:
        """Replace the range ``start``–``end`` with ``text`` as one undo step."""
        ...

    def apply_edit(self, new_text: str) -> None:
        """Make the whole text ``new_text`` as ONE undo step (the editor may
        change only the part that differs, to keep the cursor and folds)."""
        ...


@runtime_checkable
class Editor(Protocol):
    """The set of open documents."""

    def current(self) -> Document | None:
        """The document being edited, if any."""
        ...

    def find(self, path: Path) -> Document | None:
        """The open document for ``path``, without opening it."""
        ...

    def open(self, path: Path) -> Document:
        """Open ``path`` (or bring its tab forward); raises ``QuillpadError`` if it cannot."""
        ...

    def show(self, path: Path, line: int) -> None:
        """Open ``path`` with the cursor on ``line`` (1-based), e.g. a failing test's line."""
        ...


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


class MemoryDocument:
    """A ``Document`` held in memory, with an undo stack (tests and headless runs)."""

    def __init__(self, text: str = "", path: Path | None = None, cursor: int | None = None) -> None:
        self._text = text
        self._path = path
        self._anchor = self._cursor = len(text) if cursor is None else cursor
        self._undo: list[str] = []
        self._redo: list[str] = []
        self.modified = False

    def path(self) -> Path | None:
        return self._path

    def text(self) -> str:
        return self._text

    def selection(self) -> Selection:
        start, end = sorted((self._anchor, self._cursor))
        return Selection(start, end, self._text[start:end])

    def cursor(self) -> int:
        return self._cursor

    def select(self, start: int, end: int) -> None:
        """Select ``start``–``end`` (the cursor goes to ``end``)."""
        self._check(start, end)
        self._anchor, self._cursor = start, end

    def set_cursor(self, position: int) -> None:
        """Move the cursor, clearing the selection."""
        self._check(position, position)
        self._anchor = self._cursor = position

    def _check(self, start: int, end: int) -> None:
        if not 0 <= start <= end <= len(self._text):
            raise DocumentError(
                f"The range {start}–{end} is outside the document ({len(self._text)} characters); "
                "the text may have changed."
            )

    def insert(self, position: int, text: str) -> None:
        self.replace(position, position, text)

    def replace(self, start: int, end: int, text: str) -> None:
        self._check(start, end)
        self._push(self._text[:start] + text + self._text[end:])
        self._anchor = self._cursor = start + len(text)

    def apply_edit(self, new_text: str) -> None:
        self._push(new_text)
        self._anchor = self._cursor = min(self._cursor, len(new_text))

    def _push(self, new_text: str) -> None:
        self._undo.append(self._text)
        self._redo.clear()
        self._text = new_text
        self.modified = True

    @property
    def undo_steps(self) -> int:
        return len(self._undo)

    def undo(self) -> bool:
        """Undo the last step; False when there is none."""
        if not self._undo:
            return False
        self._redo.append(self._text)
        self._text = self._undo.pop()
        self._anchor = self._cursor = min(self._cursor, len(self._text))
        return True

    def redo(self) -> bool:
        """Redo the last undone step; False when there is none."""
        if not self._redo:
            return False
        self._undo.append(self._text)
        self._text = self._redo.pop()
        return True

    def save(self) -> None:
        """Write the text to its file (atomically)."""
        if self._path is None:
            raise DocumentError("This document has no file yet; choose where to save it first.")
        save_text_atomic(self._path, self._text)
        self.modified = False


class MemoryEditor:
    """An ``Editor`` over ``MemoryDocument`` objects; files are read when opened."""

    def __init__(self, documents: list[MemoryDocument] | None = None) -> None:
        self.documents: list[MemoryDocument] = list(documents or [])
        self._current: MemoryDocument | None = self.documents[0] if self.documents else None

    def current(self) -> MemoryDocument | None:
        return self._current

    def set_current(self, document: MemoryDocument) -> None:
        """Make ``document`` (added if new) the one being edited."""
        if document not in self.documents:
            self.documents.append(document)
        self._current = document

    def find(self, path: Path) -> MemoryDocument | None:
        for document in self.documents:
            own = document.path()
            if own is not None and _same_file(own, path):
                return document
        return None

    def open(self, path: Path) -> MemoryDocument:
        document = self.find(path)
        if document is None:
            loaded = load_text_file(path)
            document = MemoryDocument(loaded.text, path, cursor=0)
            self.documents.append(document)
        self._current = document
        return document

    def show(self, path: Path, line: int) -> None:
        """Open ``path``; the line is remembered as ``shown`` (there is no cursor to move)."""
        self.open(path)
        self.shown = (path, line)

    def save_all(self) -> list[Path]:
        """Save every modified document that has a file; returns their paths."""
        saved = []
        for document in self.documents:
            path = document.path()
            if document.modified and path is not None:
                document.save()
                saved.append(path)
        return saved
