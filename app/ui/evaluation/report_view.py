"""An evaluation report shown inside the app, for machines without a web browser.

``QDesktopServices.openUrl`` hands the file to ``xdg-open``; on a minimal
Linux without a browser that either fails or "succeeds" and shows nothing
(only a line on stderr), so the panel asks ``system_browser_available``
first and otherwise opens the report here, in a Qt WebEngine view (already
part of the app for the chat). The view only shows the local report: links
to other pages are not followed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWebEngineCore import QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget


def system_browser_available() -> bool:
    """True if opening an HTML file is likely to show it in a browser."""
    if sys.platform != "linux":
        return True  # macOS and Windows always have one
    if os.environ.get("BROWSER"):
        return True
    if shutil.which("xdg-open") is None or shutil.which("xdg-mime") is None:
        return False
    try:
        handler = subprocess.run(
            ["xdg-mime", "query", "default", "text/html"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(handler)


class _LocalOnlyPage(QWebEnginePage):
    """Shows local files; any other link is refused (the report's own anchors still work)."""

    def acceptNavigationRequest(self, url: QUrl | str, nav_type: QWebEnginePage.NavigationType, main: bool) -> bool:
        return QUrl(url).isLocalFile()


class ReportView(QDialog):
    """A window with one report in it."""

    def __init__(self, report: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Deleted when closed: a web page left alive until the app quits outlives its profile.
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"Evaluation report — {report.parent.name}")
        self.resize(980, 760)
        self.view = QWebEngineView(self)
        self.view.setPage(_LocalOnlyPage(self.view))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.view.load(QUrl.fromLocalFile(str(report)))


def open_report(report: Path, parent: QWidget | None, in_app: bool | None = None) -> ReportView | None:
    """Open ``report`` in the system browser when there is one, else inside the app (returns the view)."""
    if in_app is None:
        in_app = not system_browser_available()
    if not in_app and QDesktopServices.openUrl(QUrl.fromLocalFile(str(report))):
        return None
    view = ReportView(report, parent)
    view.show()
    return view
