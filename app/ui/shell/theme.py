"""Light and dark themes for the whole application."""

from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_DARK = {
    QPalette.ColorRole.Window: "#1f2125",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#17181b",
    QPalette.ColorRole.AlternateBase: "#24262b",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#2a2d33",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.Highlight: "#3d6fb4",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.ToolTipBase: "#2a2d33",
    QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.PlaceholderText: "#8a8f98",
    QPalette.ColorRole.Link: "#7fb0ff",
}


def _indicator_style(dark: bool) -> str:
    """Check boxes, radio buttons and list check marks that stay visible in both themes.

    Fusion draws an unticked box with an outline a shade darker than the
    window: invisible on a dark window (the commit dialog's staging boxes,
    Think). Styled here with one border colour per theme; the tick is an SVG
    shipped with the app (a styled indicator no longer draws Qt's own).
    """
    tick = str(resources.files("resources") / "icons" / "check-white.svg").replace("\\", "/")
    border, base, accent, off = (
        ("#9aa0a8", "#17181b", "#4f86d6", "#4a4e55") if dark else ("#6b7280", "#ffffff", "#2f6fce", "#c4c7cc")
    )
    boxes = "QCheckBox::indicator, QGroupBox::indicator, QAbstractItemView::indicator"
    return f"""
{boxes} {{ width: 14px; height: 14px; border: 1px solid {border}; border-radius: 3px; background: {base}; }}
{boxes.replace(",", ":checked,")}:checked {{ background: {accent}; border-color: {accent}; image: url({tick}); }}
{boxes.replace(",", ":indeterminate,")}:indeterminate {{ background: {border}; }}
{boxes.replace(",", ":disabled,")}:disabled {{ border-color: {off}; background: transparent; }}
QAbstractItemView::indicator {{ width: 11px; height: 11px; margin: 1px 2px; }}
QCheckBox::indicator:focus {{ border: 2px solid {accent}; }}
QRadioButton::indicator {{ width: 14px; height: 14px; border: 1px solid {border}; border-radius: 8px;
  background: {base}; }}
QRadioButton::indicator:checked {{ border: 4px solid {accent}; background: {base}; width: 8px; height: 8px; }}
QRadioButton::indicator:focus {{ border-color: {accent}; }}
QToolBar {{ spacing: 4px; padding: 2px 6px; border: none; }}
QStatusBar QLabel {{ padding: 0 6px; }}
"""


def system_is_dark(app: QApplication) -> bool:
    """Whether the platform's own palette is dark."""
    return app.style().standardPalette().color(QPalette.ColorRole.Window).lightness() < 128


def apply_theme(app: QApplication, theme: str) -> bool:
    """Apply "light", "dark" or "system"; returns True when the result is dark."""
    app.setStyle("Fusion")
    dark = theme == "dark" or (theme == "system" and system_is_dark(app))
    palette = app.style().standardPalette()
    if dark:
        for role, colour in _DARK.items():
            palette.setColor(role, QColor(colour))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b6f76"))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b6f76"))
    app.setPalette(palette)
    app.setStyleSheet(_indicator_style(dark))
    return dark
