"""A status bar whose messages end in "…" where they would run into the permanent widgets."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QStatusBar, QWidget

_GAP = 12


class ElidingStatusBar(QStatusBar):
    """``showMessage`` elides to the free space; the whole message is the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._timeout = 0

    def _free_width(self) -> int:
        lefts = [
            child.geometry().left()
            for child in self.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if child.isVisible() and child.geometry().left() > 0
        ]
        right = min(lefts) if lefts else self.width()
        return max(40, right - _GAP - 8)

    def showMessage(self, text: str, timeout: int | None = 0) -> None:
        self._full, self._timeout = text, timeout or 0
        self.setToolTip(text)
        shown = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, self._free_width())
        super().showMessage(shown, self._timeout)

    def full_message(self) -> str:
        """The message as given, before eliding ("" once it is gone)."""
        return self._full if self.currentMessage() else ""

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.currentMessage() and self._full:
            shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self._free_width())
            super().showMessage(shown, self._timeout)
