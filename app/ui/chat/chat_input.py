"""The message box and the row of context chips above it."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QHBoxLayout, QLabel, QPlainTextEdit, QToolButton, QWidget

from app.core.conversations import Attachment

# A token being typed: "@path" anywhere, "/command" at the start.
_TOKEN = re.compile(r"(?:^|(?<=\s))([@/])([^\s@]*)$")
CompletionSource = Callable[[str], list[str]]


class ChatInput(QPlainTextEdit):
    """Ctrl+Enter sends, Esc stops, Up in an empty box edits the last message.

    Typing ``@`` offers project files and ``/`` (at the start) slash commands,
    from sources the window sets; the popup takes Enter, Tab and Esc first.
    """

    sendRequested = Signal()
    stopRequested = Signal()
    editLastRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(
            "Ask about your code or a math problem…  (@file attaches a file, /help lists commands; "
            "Ctrl+Enter sends, Esc stops)"
        )
        self.setTabChangesFocus(True)
        self.setMaximumHeight(140)
        self.sources: dict[str, CompletionSource] = {}
        self._model = QStringListModel(self)
        self.completer = QCompleter(self._model, self)
        self.completer.setWidget(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.activated.connect(self._insert_completion)
        popup = self.completer.popup()  # Qt makes its list view now; None only after setPopup(None)
        assert popup is not None
        self._popup: QAbstractItemView = popup
        self._token: tuple[str, int] | None = None  # trigger, start position

    def set_completion_source(self, trigger: str, source: CompletionSource | None) -> None:
        """Offer ``source(prefix)`` after ``trigger`` ("@" or "/"); None turns it off."""
        if source is None:
            self.sources.pop(trigger, None)
        else:
            self.sources[trigger] = source

    def _current_token(self) -> tuple[str, str, int] | None:
        cursor = self.textCursor()
        before = self.toPlainText()[: cursor.position()]
        match = _TOKEN.search(before)
        if not match:
            return None
        trigger, prefix = match.group(1), match.group(2)
        start = match.start(1)
        if trigger == "/" and before[:start].strip():
            return None  # slash commands only at the start of the message
        return trigger, prefix, start

    def _update_completions(self) -> None:
        token = self._current_token()
        source = self.sources.get(token[0]) if token else None
        candidates = source(token[1])[:50] if token and source else []
        if not token or not candidates:
            self._popup.hide()
            self._token = None
            return
        self._token = (token[0], token[2])
        self._model.setStringList(candidates)
        rect = self.cursorRect()
        rect.setWidth(max(240, self._popup.sizeHintForColumn(0) + 24))
        self.completer.complete(rect)
        self._popup.setCurrentIndex(self._model.index(0))

    def _insert_completion(self, text: str) -> None:
        if self._token is None:
            return
        trigger, start = self._token
        cursor = self.textCursor()
        cursor.setPosition(start, QTextCursor.MoveMode.MoveAnchor)
        cursor.setPosition(self.textCursor().position(), QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(f"{trigger}{text} ")
        self.setTextCursor(cursor)
        self._token = None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self._popup
        if popup.isVisible() and event.key() in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Escape,
        ):
            if event.key() == Qt.Key.Key_Escape:
                popup.hide()
            else:
                index = popup.currentIndex()
                if index.isValid():
                    self._insert_completion(str(index.data()))
                popup.hide()
            return
        self._handle_key(event)
        if event.text() or event.key() in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self._update_completions()

    def _handle_key(self, event: QKeyEvent) -> None:
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


# What a chip stands for is the core's structured attachment: it is stored with the message as it is.
ContextItem = Attachment


def _short(why: str) -> str:
    """The first reason, in a few words, for the chip itself (the tooltip has them all)."""
    first = why.split("; ")[0]
    if first.startswith("definition of "):
        named = first.endswith(", named in the question")
        first = "defines " + first.removeprefix("definition of ").removesuffix(", named in the question")
        first += " (asked)" if named else ""
    return first if len(first) <= 40 else first[:39] + "…"


class ContextChips(QWidget):
    """Shows what goes with the next message; each chip can be removed."""

    changed = Signal()
    itemRemoved = Signal(object)  # the ContextItem the user took off

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
        self.itemRemoved.emit(item)

    def set_project_items(self, items: list[ContextItem]) -> None:
        """Replace the retrieval's chips, keeping the ones the user attached."""
        self._items = [i for i in self._items if not i.from_project] + items
        self._rebuild()

    def clear(self) -> None:
        self._items = []
        self._rebuild()

    def _rebuild(self) -> None:
        while self._layout.count() > 1:
            taken = self._layout.takeAt(0)
            widget = taken.widget() if taken is not None else None
            if widget is not None:
                widget.deleteLater()
        for item in self._items:
            chip = QWidget(self)
            row = QHBoxLayout(chip)
            row.setContentsMargins(6, 0, 0, 0)
            lines = item.text.count("\n") + 1
            icon = {"file": "📄", "selection": "✂", "mention": "@", "chunk": "🔎", "repo_map": "🗺", "changes": "Δ"}
            reason = f" · {_short(item.why)}" if item.why else ""
            label = QLabel(f"{icon.get(item.kind, '•')} {item.label} ({lines} lines){reason}", chip)
            label.setToolTip((f"Why: {item.why}\n\n" if item.why else "") + item.text[:2000])
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
