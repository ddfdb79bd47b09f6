"""Editor colours from a Pygments style: token formats, background, gutter, current line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pygments.style import StyleMeta
from pygments.styles import get_style_by_name
from pygments.token import Token, string_to_tokentype
from pygments.util import ClassNotFound
from PySide6.QtGui import QColor, QFont, QTextCharFormat

LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"


def _color(value: str | None, fallback: QColor) -> QColor:
    if not value or value in ("inherit", "transparent"):
        return QColor(fallback)
    color = QColor(value if value.startswith("#") else f"#{value}")
    return color if color.isValid() else QColor(fallback)


@dataclass
class EditorTheme:
    """Colours of one Pygments style, with the token formats cached."""

    style: StyleMeta
    dark: bool
    background: QColor
    foreground: QColor
    current_line: QColor
    gutter_background: QColor
    gutter_foreground: QColor
    gutter_current: QColor
    # Keyed by token type: Pygments' token types are tuples of names (Token.Name.Builtin == ("Name", "Builtin")).
    _formats: dict[tuple[str, ...], QTextCharFormat | None] = field(default_factory=dict)

    @classmethod
    def create(cls, dark: bool = False, style_name: str | None = None) -> EditorTheme:
        """The theme for a Pygments style (the light or dark default if none is named)."""
        try:
            style = get_style_by_name(style_name or (DARK_STYLE if dark else LIGHT_STYLE))
        except ClassNotFound:
            style = get_style_by_name(DARK_STYLE if dark else LIGHT_STYLE)
        background = _color(style.background_color, QColor("#1e1e1e" if dark else "#ffffff"))
        text_style = style.style_for_token(Token.Text)
        foreground = _color(text_style.get("color"), QColor("#d4d4d4" if dark else "#1f1f1f"))
        # A tint of the background, not the style's highlight colour: that one is for marked lines.
        current_line = background.lighter(130) if dark else background.darker(106)
        gutter_bg = _color(getattr(style, "line_number_background_color", None), background)
        gutter_fg = QColor(foreground)
        gutter_fg.setAlphaF(0.45)
        return cls(style, dark, background, foreground, current_line, gutter_bg, gutter_fg, QColor(foreground))

    def _style_of(self, names: tuple[str, ...]) -> dict[str, Any]:
        # Styles know the standard token types; lexers invent others (YAML's Punctuation.Indicator).
        ttype = string_to_tokentype(".".join(names))  # the token type itself (typed without private names)
        while True:
            try:
                return dict(self.style.style_for_token(ttype))
            except KeyError:
                if ttype.parent is None:
                    return {}
                ttype = ttype.parent

    def format_for(self, ttype: tuple[str, ...]) -> QTextCharFormat | None:
        """The character format for a token type; None when it looks like plain text."""
        if ttype in self._formats:
            return self._formats[ttype]
        info = self._style_of(ttype)
        fmt = QTextCharFormat()
        plain = True
        if info.get("color"):
            fmt.setForeground(_color(info["color"], self.foreground))
            plain = False
        if info.get("bgcolor"):
            fmt.setBackground(_color(info["bgcolor"], self.background))
            plain = False
        if info.get("bold"):
            fmt.setFontWeight(QFont.Weight.Bold)
            plain = False
        if info.get("italic"):
            fmt.setFontItalic(True)
            plain = False
        if info.get("underline"):
            fmt.setFontUnderline(True)
            plain = False
        result = None if plain else fmt
        self._formats[ttype] = result
        return result
