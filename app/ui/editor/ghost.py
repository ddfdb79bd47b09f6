"""Ghost text: an inline-completion suggestion drawn after the cursor, accepted or dismissed by keys.

Owned by a ``CodeEditor``, which asks it first about every key press and to
paint after its own painting. Tab accepts the whole suggestion, Ctrl+→ its
next word, Esc dismisses it; typing the suggestion's next characters keeps
the rest (``typed_through`` tells the completion controller that this change
needs no new request). Any other edit or cursor move clears it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter
from PySide6.QtWidgets import QPlainTextEdit

from app.core.completion.postprocess import accept_word, after_typing


class GhostText(QObject):
    """The suggestion shown at one cursor position of one editor."""

    changed = Signal(str)  # the text shown now ("" when none)
    accepted = Signal(str)  # text inserted by Tab or Ctrl+→

    def __init__(self, editor: QPlainTextEdit) -> None:
        super().__init__(editor)
        self.editor = editor
        self.text = ""
        self.position = -1  # the cursor position the suggestion belongs to
        self.typed_through = False  # set while a key press consumes the suggestion's next characters
        self._inserting = False
        editor.cursorPositionChanged.connect(self._on_cursor_moved)

    def show(self, text: str, position: int) -> None:
        """Show ``text`` if the cursor is still at ``position`` (a late suggestion is dropped)."""
        if position != self.editor.textCursor().position() or self.editor.textCursor().hasSelection():
            return
        self.text, self.position = text, position
        self.editor.viewport().update()
        self.changed.emit(text)

    def clear(self) -> None:
        if self.text:
            self.text, self.position = "", -1
            self.editor.viewport().update()
            self.changed.emit("")

    def _on_cursor_moved(self) -> None:
        if self.text and not self._inserting and self.editor.textCursor().position() != self.position:
            self.clear()

    def _insert(self, text: str) -> None:
        self._inserting = True
        try:
            self.editor.textCursor().insertText(text)
        finally:
            self._inserting = False
        self.accepted.emit(text)

    def handle_key(self, event: QKeyEvent) -> bool:
        """Act on ``event`` if it is meant for the suggestion; True when it was consumed."""
        if not self.text:
            return False
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if key == Qt.Key.Key_Tab and mods == Qt.KeyboardModifier.NoModifier:
            text = self.text
            self.clear()
            self._insert(text)
            return True
        if key == Qt.Key.Key_Right and mods == Qt.KeyboardModifier.ControlModifier:
            word = accept_word(self.text)
            rest = self.text[len(word) :]
            self.text = ""
            self._insert(word)
            if rest:
                self.text, self.position = rest, self.editor.textCursor().position()
            self.editor.viewport().update()
            self.changed.emit(self.text)
            return True
        if key == Qt.Key.Key_Escape and mods == Qt.KeyboardModifier.NoModifier:
            self.clear()
            return True
        typed = event.text()
        if (
            typed
            and typed.isprintable()
            and mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)
        ):
            remaining = after_typing(self.text, typed)
            if remaining is not None:
                self.typed_through = True
                self._inserting = True
                try:
                    self.editor.textCursor().insertText(typed)
                finally:
                    self._inserting = False
                    self.typed_through = False
                self.text, self.position = remaining, self.editor.textCursor().position()
                if not remaining:
                    self.clear()
                self.editor.viewport().update()
                self.changed.emit(self.text)
                return True
        return False

    def paint(self, painter: QPainter, colour: QColor) -> None:
        """Draw the suggestion: its first line after the cursor, further lines below it."""
        if not self.text:
            return
        rect = self.editor.cursorRect()
        metrics = self.editor.fontMetrics()
        painter.setPen(colour)
        painter.setFont(self.editor.font())
        lines = self.text.split("\n")
        baseline = rect.top() + metrics.ascent()
        painter.drawText(QPointF(rect.left(), baseline), lines[0])
        if len(lines) > 1:
            block = self.editor.textCursor().block()
            x = self.editor.blockBoundingGeometry(block).translated(self.editor.contentOffset()).left()
            x += self.editor.document().documentMargin()
            height = metrics.height()
            for index, line in enumerate(lines[1:], start=1):
                top = rect.top() + index * height
                background = self.editor.palette().base().color()
                background.setAlpha(235)
                painter.fillRect(int(x), int(top), metrics.horizontalAdvance(line) + 4, height, background)
                painter.drawText(QPointF(x, top + metrics.ascent()), line)
