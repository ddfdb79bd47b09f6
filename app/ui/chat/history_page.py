"""The list of saved conversations: search, open, rename, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.conversations import ConversationStore
from app.core.errors import QuillpadError


def _ask_title(parent: QWidget, current: str) -> str | None:
    text, ok = QInputDialog.getText(parent, "Rename chat", "New name:", text=current)
    return text.strip() if ok and text.strip() else None


def _confirm_delete(parent: QWidget, title: str) -> bool:
    answer = QMessageBox.question(parent, "Delete chat", f"Delete “{title}” and all its messages?")
    return answer == QMessageBox.StandardButton.Yes


class HistoryPage(QWidget):
    """Browses the conversation store. Questions are injectable for tests."""

    openRequested = Signal(int)
    closeRequested = Signal()
    notice = Signal(str)
    deleted = Signal(int)

    def __init__(self, store: ConversationStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.ask_title: Callable[[QWidget, str], str | None] = _ask_title
        self.confirm_delete: Callable[[QWidget, str], bool] = _confirm_delete
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search chats…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        self.list = QListWidget(self)
        self.list.itemActivated.connect(lambda item: self.openRequested.emit(item.data(Qt.ItemDataRole.UserRole)))
        buttons = QHBoxLayout()
        for text, slot in (
            ("Open", self._open),
            ("Rename…", self._rename),
            ("Delete", self._delete),
            ("Back", self.closeRequested.emit),
        ):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def refresh(self) -> None:
        """Reload the list for the current search text."""
        self.list.clear()
        try:
            summaries = self.store.list(self.search.text())
        except QuillpadError as err:
            self.notice.emit(str(err))
            return
        for summary in summaries:
            when = datetime.fromtimestamp(summary.updated).strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"{summary.title}\n{when} · {summary.message_count} messages")
            item.setData(Qt.ItemDataRole.UserRole, summary.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, summary.title)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _selected(self) -> tuple[int, str] | None:
        item = self.list.currentItem()
        if item is None:
            return None
        return int(item.data(Qt.ItemDataRole.UserRole)), str(item.data(Qt.ItemDataRole.UserRole + 1))

    def _open(self) -> None:
        selected = self._selected()
        if selected:
            self.openRequested.emit(selected[0])

    def _rename(self) -> None:
        selected = self._selected()
        if not selected:
            return
        title = self.ask_title(self, selected[1])
        if title:
            try:
                self.store.rename(selected[0], title)
            except QuillpadError as err:
                self.notice.emit(str(err))
            self.refresh()

    def _delete(self) -> None:
        selected = self._selected()
        if selected and self.confirm_delete(self, selected[1]):
            try:
                self.store.delete(selected[0])
            except QuillpadError as err:
                self.notice.emit(str(err))
            self.deleted.emit(selected[0])
            self.refresh()
