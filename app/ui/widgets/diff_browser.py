"""A read-only view for coloured diffs that asks to be drawn again when the theme turns dark or light."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.ui.theme.colours import is_dark


class DiffBrowser(QTextBrowser):
    """A ``QTextBrowser`` (no wrapping) whose owner re-renders its HTML on ``themeChanged``.

    The diff's colours are written into its HTML, so a palette change alone
    does not reach them; the owner knows how to make the HTML again (for a big
    diff, off the GUI thread).
    """

    themeChanged = Signal(bool)  # dark

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        self._dark = is_dark()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange, QEvent.Type.StyleChange):
            dark = is_dark()
            if dark != self._dark:  # a theme change sends several of these; one re-render
                self._dark = dark
                self.themeChanged.emit(dark)
