"""The message box and the row of context chips above it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QToolButton, QWidget


class ChatInput(QPlainTextEdit):
    """Ctrl+Enter sends, Esc stops, Up in an empty box edits the last message."""

    sendRequested = Signal()
    stopRequested = Signal()
    editLastRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Ask about your code or a math problem…  (Ctrl+Enter to send, Esc to stop)")
        self.setTabChangesFocus(True)
        self.setMaximumHeight(140)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and mods & Qt.KeyboardModifier.ControlModifier:
            self.sendRequested.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.stopRequested.emit()
            return
        if key == Qt.Key.Key_Up and not self.toPlainText():
            self.editLastRequested.emit()
            return
        super().keyPressEvent(event)


@dataclass(frozen=True)
class ContextItem:
    """Something attached to the next message: a file or a selection."""

    kind: str  # "file" | "selection"
    label: str
    text: str
    language: str = ""

    def as_markdown(self) -> str:
        fence = "````" if "```" in self.text else "```"
        return f"{self.label}:\n{fence}{self.language}\n{self.text}\n{fence}"


class ContextChips(QWidget):
    """Shows what goes with the next message; each chip can be removed."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addStretch(1)
        self._items: list[ContextItem] = []
        self.setVisible(False)

    def items(self) -> list[ContextItem]:
        return list(self._items)

    def add(self, item: ContextItem) -> None:
        """Add a chip, replacing one of the same kind and label."""
        self._items = [i for i in self._items if (i.kind, i.label) != (item.kind, item.label)] + [item]
        self._rebuild()

    def remove(self, item: ContextItem) -> None:
        self._items = [i for i in self._items if i != item]
        self._rebuild()

    def clear(self) -> None:
        self._items = []
        self._rebuild()

    def _rebuild(self) -> None:
        while self._layout.count() > 1:
            widget = self._layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for item in self._items:
            chip = QWidget(self)
            row = QHBoxLayout(chip)
            row.setContentsMargins(6, 0, 0, 0)
            lines = item.text.count("\n") + 1
            label = QLabel(f"{'📄' if item.kind == 'file' else '✂'} {item.label} ({lines} lines)", chip)
            label.setToolTip(item.text[:2000])
            close = QToolButton(chip)
            close.setText("×")
            close.setToolTip("Do not send this with the message")
            close.setAutoRaise(True)
            close.clicked.connect(lambda _=False, i=item: self.remove(i))
            row.addWidget(label)
            row.addWidget(close)
            chip.setObjectName("contextChip")
            self._layout.insertWidget(self._layout.count() - 1, chip)
        self.setVisible(bool(self._items))
        self.changed.emit()
