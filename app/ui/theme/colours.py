"""The colours of the light and the dark theme, and of diffs in each."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class ThemeColours:
    """What the stylesheet paints controls with (the palette has the rest)."""

    window: str
    base: str
    text: str
    muted: str  # secondary text
    frame: str  # a control's outline
    indicator: str  # a check box's outline: stronger than ``frame``, an unticked box must be seen
    indicator_off: str  # a disabled check box
    button: str
    hover: str
    pressed: str
    accent: str  # ticks, the default button, focus rings
    disabled_text: str


LIGHT = ThemeColours(
    window="#efefef",
    base="#ffffff",
    text="#1f2328",
    muted="#5f6368",
    frame="#a9adb3",
    indicator="#6b7280",
    indicator_off="#c4c7cc",
    button="#f7f7f8",
    hover="#e6e8eb",
    pressed="#d6dae0",
    accent="#2f6fce",
    disabled_text="#9ea3a9",
)
DARK = ThemeColours(
    window="#1f2125",
    base="#17181b",
    text="#e6e6e6",
    muted="#9aa0a6",
    frame="#4d525a",
    indicator="#9aa0a8",
    indicator_off="#4a4e55",
    button="#2a2d33",
    hover="#343840",
    pressed="#3e434b",
    accent="#4f86d6",
    disabled_text="#6b6f76",
)


@dataclass(frozen=True)
class DiffColours:
    """A diff's line colours (added, removed, context), headers and notes, for one theme."""

    added_text: str
    added_background: str
    removed_text: str
    removed_background: str
    context_text: str
    hunk: str  # "@@ -1,2 +1,2 @@"
    header: str  # "diff --git", "+++", "---"
    matched_background: str  # added lines that reproduce indexed code
    danger: str  # risky code found by the safety scan
    caution: str  # code that matches installed code
    muted: str

    def text(self, kind: str) -> str:
        """The text colour of a line starting with ``kind`` ("+", "-" or anything else)."""
        return {"+": self.added_text, "-": self.removed_text}.get(kind, self.context_text)

    def background(self, kind: str) -> str:
        """The background of a line starting with ``kind``; context lines have none."""
        return {"+": self.added_background, "-": self.removed_background}.get(kind, "transparent")


LIGHT_DIFF = DiffColours(
    added_text="#1b5e20",
    added_background="#e8f5e9",
    removed_text="#b71c1c",
    removed_background="#ffebee",
    context_text="#555555",
    hunk="#1565c0",
    header="#37474f",
    matched_background="#fff3c4",
    danger="#b71c1c",
    caution="#8a5a00",
    muted="#555555",
)
# Dark backgrounds with light text of the same hue, as GitHub's and VS Code's dark diffs.
DARK_DIFF = DiffColours(
    added_text="#aff5b4",
    added_background="#1b3a26",
    removed_text="#ffc4c0",
    removed_background="#4a2024",
    context_text="#b8bec7",
    hunk="#79b8ff",
    header="#d0d7de",
    matched_background="#4d4215",
    danger="#ff8a80",
    caution="#f2c166",
    muted="#9aa0a6",
)


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether ``palette`` (default: the application's) is a dark one."""
    if palette is None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return False
        palette = app.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def diff_colours(dark: bool | None = None) -> DiffColours:
    """The diff colours for ``dark`` (default: the application's current theme). GUI thread only."""
    return DARK_DIFF if (is_dark() if dark is None else dark) else LIGHT_DIFF
