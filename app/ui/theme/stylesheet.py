"""Light and dark themes for the whole application: palette, scale and one stylesheet."""

from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.theme.colours import DARK, LIGHT, ThemeColours
from app.ui.theme.scale import UNIT, ScaledStyle, Space, TypeScale, type_scale

_DARK_PALETTE = {
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
_RADIUS = UNIT  # px, every control's corners


def _icon_file(name: str) -> str:
    """A shipped SVG's path as a stylesheet ``url()`` wants it."""
    return str(resources.files("resources") / "icons" / name).replace("\\", "/")


def _indicator_style(c: ThemeColours) -> str:
    """Check boxes, radio buttons and list check marks that stay visible in both themes.

    Fusion draws an unticked box with an outline a shade darker than the
    window: invisible on a dark window (the commit dialog's staging boxes,
    Think). Styled here with one border colour per theme; the tick is an SVG
    shipped with the app (a styled indicator no longer draws Qt's own).
    """
    tick = _icon_file("check-white.svg")
    boxes = "QCheckBox::indicator, QGroupBox::indicator, QAbstractItemView::indicator"
    return f"""
{boxes} {{ width: 14px; height: 14px; border: 1px solid {c.indicator}; border-radius: 3px; background: {c.base}; }}
{boxes.replace(",", ":checked,")}:checked {{ background: {c.accent}; border-color: {c.accent}; image: url({tick}); }}
{boxes.replace(",", ":indeterminate,")}:indeterminate {{ background: {c.indicator}; }}
{boxes.replace(",", ":disabled,")}:disabled {{ border-color: {c.indicator_off}; background: transparent; }}
QAbstractItemView::indicator {{ width: 11px; height: 11px; margin: 1px 2px; }}
QCheckBox::indicator:focus {{ border: 2px solid {c.accent}; }}
QRadioButton::indicator {{ width: 14px; height: 14px; border: 1px solid {c.indicator}; border-radius: 8px;
  background: {c.base}; }}
QRadioButton::indicator:checked {{ border: 4px solid {c.accent}; background: {c.base}; width: 8px; height: 8px; }}
QRadioButton::indicator:focus {{ border-color: {c.accent}; }}
"""


def _control_style(c: ThemeColours, dark: bool) -> str:
    """Buttons and input fields drawn in the theme's colours, with a focus ring keyboard users can see.

    Fusion's focus cue is a one-pixel tint close to the control's outline
    (hard to see in either theme, on buttons barely at all). Here a focused
    control gets a 2 px accent ring; the padding shrinks by the extra pixel so
    nothing moves when focus arrives.
    """
    pad_v, pad_h = Space.XS - 1, Space.M - 1  # 1 px of each side is the border
    fields = "QLineEdit, QAbstractSpinBox, QComboBox"
    theme = "dark" if dark else "light"
    down, up = _icon_file(f"chevron-down-{theme}.svg"), _icon_file(f"chevron-up-{theme}.svg")
    return f"""
QPushButton {{ color: {c.text}; background: {c.button}; border: 1px solid {c.frame}; border-radius: {_RADIUS}px;
  padding: {pad_v}px {pad_h}px; }}
QPushButton:hover {{ background: {c.hover}; }}
QPushButton:pressed, QPushButton:checked {{ background: {c.pressed}; }}
QPushButton:default {{ border-color: {c.accent}; }}
QPushButton:disabled {{ color: {c.disabled_text}; background: transparent; }}
QPushButton:focus {{ border: 2px solid {c.accent}; padding: {pad_v - 1}px {pad_h - 1}px; }}
QToolButton {{ border: 1px solid transparent; border-radius: {_RADIUS}px; padding: 3px; background: transparent; }}
QToolButton:hover {{ background: {c.hover}; border-color: {c.frame}; }}
QToolButton:pressed, QToolButton:checked {{ background: {c.pressed}; }}
QToolButton:focus {{ border: 2px solid {c.accent}; padding: 2px; }}
{fields} {{ border: 1px solid {c.frame}; border-radius: {_RADIUS}px; padding: 2px {Space.XS + 1}px;
  background: {c.base}; }}
{fields.replace(",", ":focus,")}:focus {{ border: 2px solid {c.accent}; padding: 1px {Space.XS}px; }}
{fields.replace(",", ":disabled,")}:disabled {{ color: {c.disabled_text}; background: transparent; }}
QComboBox {{ padding-right: 20px; }}
QComboBox::drop-down {{ border: none; width: 18px; }}
QComboBox::down-arrow, QAbstractSpinBox::down-arrow {{ image: url({down}); width: 10px; height: 10px; }}
QAbstractSpinBox::up-arrow {{ image: url({up}); width: 10px; height: 10px; }}
QAbstractSpinBox {{ padding-right: 18px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ border: none; width: 16px; background: transparent; }}
QAbstractSpinBox::up-button:hover, QAbstractSpinBox::down-button:hover {{ background: {c.hover}; }}
QPlainTextEdit, QTextEdit {{ border: 1px solid {c.frame}; border-radius: {_RADIUS}px; padding: 1px; }}
QPlainTextEdit:focus, QTextEdit:focus {{ border: 2px solid {c.accent}; padding: 0px; }}
CodeEditor, CodeEditor:focus {{ border: 1px solid {c.frame}; border-radius: 0; padding: 0; }}
CodeEditor:focus {{ border-color: {c.accent}; }}
"""


def _type_style(c: ThemeColours, scale: TypeScale) -> str:
    """The type scale's steps, for labels given a role with ``set_text_role``."""
    return f"""
QLabel[textRole="heading"] {{ font-size: {scale.heading}pt; font-weight: 600; }}
QLabel[textRole="title"] {{ font-size: {scale.title}pt; font-weight: 600; }}
QLabel[textRole="secondary"] {{ font-size: {scale.secondary}pt; color: {c.muted}; }}
QToolBar {{ spacing: {Space.XS}px; padding: 2px {Space.S}px; border: none; }}
QStatusBar QLabel {{ padding: 0 {Space.S}px; }}
QDockWidget::title {{ padding: {Space.XS}px {Space.S}px; }}
"""


def app_stylesheet(dark: bool, scale: TypeScale) -> str:
    """The whole stylesheet of one theme."""
    colours = DARK if dark else LIGHT
    return _indicator_style(colours) + _control_style(colours, dark) + _type_style(colours, scale)


def system_is_dark(app: QApplication) -> bool:
    """Whether the platform's own palette is dark."""
    return app.style().standardPalette().color(QPalette.ColorRole.Window).lightness() < 128


def _scaled_style(app: QApplication) -> None:
    """Fusion with the scale's spacing, installed once (the application owns it)."""
    if not isinstance(app.style(), ScaledStyle):
        app.setStyle(ScaledStyle())


def base_font(app: QApplication) -> QFont:
    """The application font at the scale's base size (the platform's size, at least the minimum)."""
    font = QFont(app.font())
    font.setPointSizeF(type_scale(font).base)
    return font


def apply_theme(app: QApplication, theme: str) -> bool:
    """Apply "light", "dark" or "system"; returns True when the result is dark."""
    _scaled_style(app)
    app.setFont(base_font(app))
    dark = theme == "dark" or (theme == "system" and system_is_dark(app))
    palette = app.style().standardPalette()
    if dark:
        for role, colour in _DARK_PALETTE.items():
            palette.setColor(role, QColor(colour))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(DARK.disabled_text))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(DARK.disabled_text))
    app.setPalette(palette)
    app.setStyleSheet(app_stylesheet(dark, type_scale(app.font())))
    return dark
