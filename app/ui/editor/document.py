"""The Qt editor seen through the plugin API's ``Document`` and ``Editor`` protocols.

Positions in the protocol are Python string indices; Qt counts UTF-16 code
units, which differ once a text holds characters outside the BMP (emoji,
some maths symbols), so every position is converted.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QTextCursor

from app.core.edits.document import Selection
from app.core.errors import QuillpadError
from app.ui.editor.code_editor import CodeEditor
from app.ui.editor.page import EditorPage
from app.ui.editor.tabs import EditorTabs


def _to_qt(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def _from_qt(text: str, position: int) -> int:
    return len(text.encode("utf-16-le")[: position * 2].decode("utf-16-le", errors="ignore"))


class QtDocument:
    """One editor tab as a ``Document``."""

    def __init__(self, page: EditorPage) -> None:
        self.page = page

    @property
    def editor(self) -> CodeEditor:
        return self.page.editor

    def path(self) -> Path | None:
        return Path(self.page.path) if self.page.path else None

    def text(self) -> str:
        return self.editor.text()

    def selection(self) -> Selection:
        cursor = self.editor.textCursor()
        text = self.text()
        start, end = _from_qt(text, cursor.selectionStart()), _from_qt(text, cursor.selectionEnd())
        return Selection(start, end, text[start:end])

    def cursor(self) -> int:
        return _from_qt(self.text(), self.editor.textCursor().position())

    def _range(self, start: int, end: int) -> QTextCursor:
        text = self.text()
        if not 0 <= start <= end <= len(text):
            raise QuillpadError(f"The range {start}–{end} is outside the document; ask for the edit again.")
        cursor = QTextCursor(self.editor.document())
        cursor.setPosition(_to_qt(text, start))
        cursor.setPosition(_to_qt(text, end), QTextCursor.MoveMode.KeepAnchor)
        return cursor

    def insert(self, position: int, text: str) -> None:
        self.replace(position, position, text)

    def replace(self, start: int, end: int, text: str) -> None:
        cursor = self._range(start, end)
        cursor.beginEditBlock()
        cursor.insertText(text)
        cursor.endEditBlock()

    def apply_edit(self, new_text: str) -> None:
        """Change only the differing middle, as one undo step (keeps the cursor near)."""
        old = self.text()
        if old == new_text:
            return
        prefix = 0
        limit = min(len(old), len(new_text))
        while prefix < limit and old[prefix] == new_text[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[len(old) - 1 - suffix] == new_text[len(new_text) - 1 - suffix]:
            suffix += 1
        self.replace(prefix, len(old) - suffix, new_text[prefix : len(new_text) - suffix])


class QtEditor:
    """The editor tabs as an ``Editor``."""

    def __init__(self, tabs: EditorTabs) -> None:
        self.tabs = tabs

    def current(self) -> QtDocument | None:
        page = self.tabs.current_page()
        return QtDocument(page) if page is not None else None

    def find(self, path: Path) -> QtDocument | None:
        for page in self.tabs.pages():
            if page.path and _same(Path(page.path), path):
                return QtDocument(page)
        return None

    def show(self, path: Path, line: int) -> None:
        """Open ``path`` with the cursor on ``line`` (1-based)."""
        document = self.open(path)
        document.editor.go_to_line(max(1, line))
        document.editor.setFocus()

    def open(self, path: Path) -> QtDocument:
        if not self.tabs.open_file(str(path)):
            raise QuillpadError(f"{path.name} could not be opened in the editor; check that it is a text file.")
        found = self.find(path)
        if found is None:
            raise QuillpadError(f"{path.name} could not be opened in the editor; check that it is a text file.")
        return found


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b
