"""The window's icons: Material Design Icons through qtawesome (as Spyder uses), coloured for the theme.

Icon fonts ship inside the qtawesome package, so no emoji font is needed (the
chips' emoji were empty boxes on a minimal Linux). Names are looked up
once per theme; an unknown name gives an empty icon rather than an error.
"""

from __future__ import annotations

import logging

from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

# What each action shows; the mdi6 names are listed at https://pictogrammers.com/library/mdi/
ICONS = {
    "new-file": "mdi6.file-plus-outline",
    "open-file": "mdi6.file-document-outline",
    "open-folder": "mdi6.folder-open-outline",
    "save": "mdi6.content-save-outline",
    "model": "mdi6.cube-outline",
    "models": "mdi6.view-list-outline",
    "settings": "mdi6.cog-outline",
    "new-chat": "mdi6.chat-plus-outline",
    "history": "mdi6.history",
    "stop": "mdi6.stop-circle-outline",
    "regenerate": "mdi6.refresh",
    "commit": "mdi6.source-commit",
    "diff": "mdi6.file-compare",
    "evaluate": "mdi6.chart-bar",
    "tests": "mdi6.flask-outline",
    "plugins": "mdi6.puzzle-outline",
    "attach": "mdi6.paperclip",
    "send": "mdi6.send",
    "quit": "mdi6.exit-to-app",
    "theme-light": "mdi6.white-balance-sunny",
    "theme-dark": "mdi6.weather-night",
    # context chips
    "file": "mdi6.file-outline",
    "selection": "mdi6.selection",
    "mention": "mdi6.at",
    "chunk": "mdi6.text-search",
    "repo_map": "mdi6.map-outline",
    "changes": "mdi6.file-compare",
}


def icon(name: str) -> QIcon:
    """The icon called ``name`` in ``ICONS``, in the palette's text colour."""
    glyph = ICONS.get(name)
    if glyph is None:
        return QIcon()
    try:
        import qtawesome  # type: ignore[import-untyped]

        app = QApplication.instance()
        colour = app.palette().color(QPalette.ColorRole.WindowText) if isinstance(app, QApplication) else None
        made = qtawesome.icon(glyph, color=colour) if colour is not None else qtawesome.icon(glyph)
        return made if isinstance(made, QIcon) else QIcon()
    except Exception:  # a missing or broken icon font must never stop the window
        log.warning("icon %s (%s) is unavailable", name, glyph, exc_info=True)
        return QIcon()
