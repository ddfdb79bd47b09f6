"""The line-number gutter painted at the left of a CodeEditor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from app.ui.editor.code_editor import CodeEditor

_PADDING = 6


class LineNumberArea(QWidget):
    """Shows the number of every visible line; the cursor's line in full colour and bold."""

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def width_needed(self) -> int:
        digits = max(3, len(str(max(1, self._editor.blockCount()))))
        return 2 * _PADDING + self._editor.fontMetrics().horizontalAdvance("9") * digits

    def sizeHint(self) -> QSize:
        return QSize(self.width_needed(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        editor = self._editor
        theme = editor.theme
        painter = QPainter(self)
        painter.fillRect(event.rect(), theme.gutter_background)
        current = editor.textCursor().blockNumber()
        normal_font = QFont(editor.font())
        bold_font = QFont(editor.font())
        bold_font.setBold(True)
        line_height = editor.fontMetrics().height()
        block = editor.firstVisibleBlock()
        offset = editor.contentOffset()
        top = round(editor.blockBoundingGeometry(block).translated(offset).top())
        bottom = event.rect().bottom()
        width = self.width() - _PADDING
        while block.isValid() and top <= bottom:
            height = round(editor.blockBoundingRect(block).height())
            if block.isVisible() and top + height >= event.rect().top():
                number = block.blockNumber()
                is_current = number == current
                painter.setFont(bold_font if is_current else normal_font)
                painter.setPen(theme.gutter_current if is_current else theme.gutter_foreground)
                painter.drawText(QRect(0, top, width, line_height), Qt.AlignmentFlag.AlignRight, str(number + 1))
            top += height
            block = block.next()
        painter.end()
