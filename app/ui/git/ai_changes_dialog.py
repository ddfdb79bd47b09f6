"""The list of earlier AI changes (from the checkpoints); any of them can be taken back,
together with every later one that is not undone yet."""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.git import AIChange


def describe(change: AIChange) -> str:
    """One line: when, what, which files, and whether it was undone."""
    checkpoint = change.checkpoint
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(checkpoint.created))
    model = f" — {checkpoint.model}" if checkpoint.model else ""
    files = ", ".join(checkpoint.paths[:4]) + (" …" if len(checkpoint.paths) > 4 else "")
    state = "  [undone]" if change.undone else ""
    return f"{when}  {checkpoint.label}{model}  ({files}){state}"


class AIChangesDialog(QDialog):
    """Pick an AI change to undo; ``chosen`` is its checkpoint id once accepted."""

    def __init__(self, changes: list[AIChange], where: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("AI changes")
        self.resize(760, 420)
        self.chosen: str | None = None
        self.list = QListWidget(self)
        for change in changes:
            item = QListWidgetItem(describe(change))
            item.setData(Qt.ItemDataRole.UserRole, change.checkpoint.id)
            if change.undone:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(item)
        self.list.currentItemChanged.connect(lambda *_: self._update())
        self.undo_button = QPushButton("Undo this change and the later ones", self)
        self.undo_button.clicked.connect(self._choose)
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        text = (
            f"AI edits applied in {html.escape(where)}, newest first. Undoing one puts its files back exactly as "
            "they were before it (and takes back later AI edits too); the undo itself is checkpointed."
        )
        intro = QLabel(text if changes else "No AI edit was applied here yet.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        first = next((i for i, c in enumerate(changes) if not c.undone), None)
        if first is not None:
            self.list.setCurrentRow(first)
        self._update()

    def _update(self) -> None:
        item = self.list.currentItem()
        self.undo_button.setEnabled(item is not None and bool(item.flags() & Qt.ItemFlag.ItemIsEnabled))

    def _choose(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.chosen = item.data(Qt.ItemDataRole.UserRole)
            self.accept()
