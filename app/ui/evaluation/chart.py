"""A small painted bar chart: pass@1 of several runs with their 95% intervals."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


@dataclass(frozen=True)
class ChartRun:
    """One bar: a label, pass@1 and its interval (0..1)."""

    label: str
    rate: float
    low: float
    high: float


class RunsChart(QWidget):
    """Horizontal bars, one per run, with the interval drawn as a whisker."""

    ROW = 22
    LABEL_WIDTH = 260

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[ChartRun] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(80)
        self.setMinimumWidth(420)

    def set_runs(self, runs: list[ChartRun]) -> None:
        self.runs = list(runs)
        self.setMinimumHeight(max(80, 30 + self.ROW * len(self.runs)))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.windowText().color()
        painter.fillRect(self.rect(), palette.base())
        if not self.runs:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Finished runs appear here, side by side.")
            return
        metrics = painter.fontMetrics()
        widest = max(metrics.horizontalAdvance(run.label) for run in self.runs) + 16
        left = min(widest, self.LABEL_WIDTH, int(self.width() * 0.5))
        right = self.width() - 70
        span = max(10, right - left)
        axis = QPen(QColor(text))
        axis.setWidthF(0.5)
        painter.setPen(axis)
        top, bottom = 6, 10 + self.ROW * len(self.runs)
        ticks = (0.0, 0.25, 0.5, 0.75, 1.0) if span >= 240 else (0.0, 0.5, 1.0)
        for tick in ticks:
            x = left + tick * span
            painter.drawLine(int(x), top, int(x), bottom)
            painter.drawText(QRectF(x - 20, bottom + 2, 40, 14), Qt.AlignmentFlag.AlignCenter, f"{tick:.0%}")
        bar_colour = palette.highlight().color()
        for row, run in enumerate(self.runs):
            y = top + 4 + row * self.ROW
            painter.setPen(text)
            painter.drawText(
                QRectF(4, y, left - 10, self.ROW - 6),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(run.label, Qt.TextElideMode.ElideMiddle, left - 14),
            )
            painter.fillRect(QRectF(left, y + 2, run.rate * span, self.ROW - 10), bar_colour)
            whisker = QPen(QColor(text))
            whisker.setWidthF(1.5)
            painter.setPen(whisker)
            middle = y + (self.ROW - 6) / 2
            painter.drawLine(int(left + run.low * span), int(middle), int(left + run.high * span), int(middle))
            for end in (run.low, run.high):
                painter.drawLine(int(left + end * span), int(middle - 4), int(left + end * span), int(middle + 4))
            painter.drawText(
                QRectF(right + 6, y, 64, self.ROW - 6), Qt.AlignmentFlag.AlignVCenter, f"{100 * run.rate:.1f}%"
            )
