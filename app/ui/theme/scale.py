"""One spacing and type scale for the whole app.

Spacing is a 4 px unit; every layout's margins and spacing come from here
through ``ScaledStyle`` (so plugin panels and dialogs follow it without
knowing about it), and widgets that set margins of their own use ``Space``.
Type sizes derive from one base size: the desktop's font size (the user's
choice, so it is kept), never below ``MIN_BASE_POINT_SIZE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLayout, QProxyStyle, QStyle, QStyleOption, QWidget

UNIT = 4  # px


class Space:
    """Spacing steps in px, multiples of ``UNIT``."""

    XS = UNIT  # inside a control: chips, icon to text
    S = 2 * UNIT  # between controls; a panel's margin
    M = 3 * UNIT  # a window's or dialog's margin
    L = 4 * UNIT  # around a page's content (welcome page)
    XL = 6 * UNIT


WINDOW_MARGIN = Space.M
PANEL_MARGIN = Space.S
CONTROL_SPACING = Space.S

MIN_BASE_POINT_SIZE = 9.0
DEFAULT_BASE_POINT_SIZE = 10.0  # when the platform does not say (a pixel-sized font)

TextRole = Literal["heading", "title", "secondary"]


@dataclass(frozen=True)
class TypeScale:
    """Font sizes in points, all derived from ``base``."""

    base: float

    @property
    def secondary(self) -> float:
        """Hints, counters, busy notes."""
        return max(8.0, self.base - 1)

    @property
    def title(self) -> float:
        """A section's title inside a window ("Changes", "Message", a settings group)."""
        return self.base + 2

    @property
    def heading(self) -> float:
        """A page's heading (the welcome page)."""
        return round(self.base * 1.8)


def type_scale(font: QFont) -> TypeScale:
    """The scale for the application font ``font``."""
    size = font.pointSizeF()
    return TypeScale(max(MIN_BASE_POINT_SIZE, size if size > 0 else DEFAULT_BASE_POINT_SIZE))


def set_text_role(widget: QWidget, role: TextRole) -> None:
    """Give a label the size (and weight, colour) of a step of the type scale; the stylesheet draws it."""
    widget.setProperty("textRole", role)


def set_margins(layout: QLayout, margin: int, spacing: int = CONTROL_SPACING) -> None:
    """A layout's margins and spacing from the scale (``margin`` is a ``Space`` step or 0)."""
    layout.setContentsMargins(margin, margin, margin, margin)
    layout.setSpacing(spacing)


_MARGINS = {
    QStyle.PixelMetric.PM_LayoutLeftMargin,
    QStyle.PixelMetric.PM_LayoutTopMargin,
    QStyle.PixelMetric.PM_LayoutRightMargin,
    QStyle.PixelMetric.PM_LayoutBottomMargin,
}
_SPACINGS = {QStyle.PixelMetric.PM_LayoutHorizontalSpacing, QStyle.PixelMetric.PM_LayoutVerticalSpacing}


class ScaledStyle(QProxyStyle):
    """Fusion with the scale's layout margins and spacing (Fusion's own are 9/11 px and 6 px)."""

    def __init__(self) -> None:
        super().__init__("Fusion")

    def pixelMetric(
        self, metric: QStyle.PixelMetric, option: QStyleOption | None = None, widget: QWidget | None = None
    ) -> int:
        if metric in _MARGINS:
            return WINDOW_MARGIN if widget is None or widget.isWindow() else PANEL_MARGIN
        if metric in _SPACINGS:
            return CONTROL_SPACING
        return super().pixelMetric(metric, option, widget)
