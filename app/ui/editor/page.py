"""One editor tab: the CodeEditor, its find bar, and what is known about its file."""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.core.text_files import LoadedText
from app.ui.editor.code_editor import CodeEditor
from app.ui.editor.find_replace import FindReplaceBar


@dataclass(frozen=True)
class DiskStamp:
    """What the file on disk looked like when the buffer last matched it."""

    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: str) -> DiskStamp:
        """The stamp of the file now; OSError if it cannot be read."""
        info = os.stat(path)
        return cls(info.st_mtime_ns, info.st_size)


class EditorPage(QWidget):
    """A tab's widget: an editor with its find bar underneath, plus the buffer's file facts."""

    def __init__(self, key: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key  # identity for drafts, stable while the buffer is open
        self.untitled_title = title
        self.path: str | None = None
        self.encoding = "utf-8"
        self.newline = "\n"
        self.stamp: DiskStamp | None = None
        self.deleted = False  # the file vanished from disk while open
        self.deleted_at_edit: int | None = None  # edit_serial when that was noticed
        self.edit_serial = 0  # bumped on every change, to know when a draft is stale
        self.draft_serial: int | None = None  # edit_serial of the last draft written; None: no draft
        self.editor = CodeEditor(self)
        self.find_bar = FindReplaceBar(self.editor, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.find_bar)
        self.editor.findRequested.connect(self.find_bar.open)
        self.editor.findNextRequested.connect(self._find_again)
        self.editor.escapePressed.connect(self._escape)
        self.editor.document().contentsChanged.connect(self._changed)

    @property
    def name(self) -> str:
        """The file's name, or the untitled buffer's title."""
        return os.path.basename(self.path) if self.path else self.untitled_title

    @property
    def is_dirty(self) -> bool:
        return self.editor.document().isModified()

    def set_file(self, loaded: LoadedText) -> None:
        """Take on the file facts of ``loaded`` (not its text)."""
        self.path = str(loaded.path)
        self.encoding = loaded.encoding
        self.newline = loaded.newline
        self.stamp = DiskStamp(loaded.mtime_ns, loaded.size)
        self.deleted = False
        self.deleted_at_edit = None
        self.editor.setReadOnly(loaded.read_only)

    def _changed(self) -> None:
        self.edit_serial += 1

    def _find_again(self, backward: bool) -> None:
        if not self.find_bar.find_edit.text():
            self.find_bar.open(False)
        elif backward:
            self.find_bar.find_previous()
        else:
            self.find_bar.find_next()

    def _escape(self) -> None:
        if self.find_bar.isVisible():
            self.find_bar.close_bar()
