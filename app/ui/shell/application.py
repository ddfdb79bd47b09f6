"""Creates the QApplication and the main window."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from app.core.paths import app_paths
from app.core.settings import load_settings


def prepare_qt_environment(headless: bool = False) -> None:
    """Environment Qt needs before the QApplication exists.

    Qt WebEngine's sandbox cannot run as root; without a display (CI, the
    screenshot command) Qt draws offscreen.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    if headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform != "linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # No GPU in a VM or CI: let Chromium fall back to software quietly.
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --disable-logging")


def application(headless: bool = False) -> QApplication:
    """The one QApplication (created on first call)."""
    prepare_qt_environment(headless)
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Quillpad")
    app.setOrganizationName("Quillpad")
    # Matches packaging/linux/quillpad.desktop, so desktops show its name and icon.
    app.setDesktopFileName("quillpad")
    return app


def _close_on_signals(window: QWidget) -> None:
    """Ctrl+C or a polite kill closes the window normally (drafts, history, engine).

    Python only runs signal handlers between bytecodes, so a timer wakes the
    interpreter regularly while Qt's event loop runs in C++.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def present(window: QWidget) -> None:
    """Show the window and make it the active one.

    Without a window manager (a bare X server, a kiosk) nothing activates a
    new window, and Qt delivers menu shortcuts (Ctrl+Shift+M, Ctrl+M, …) only
    to the active window, so they did nothing; asking for it ourselves works
    with and without one (checked under Xvfb, bare and with openbox).
    """
    window.show()
    window.raise_()
    window.activateWindow()


def run_gui(model: str | None = None) -> int:
    """Run the desktop app until its window closes; returns the exit code."""
    app = application()
    from app.ui.shell.main_window import MainWindow  # after the environment is set

    paths = app_paths()
    window = MainWindow(paths, load_settings(paths))
    present(window)
    QTimer.singleShot(0, window.tabs.recover_drafts)
    if model:
        window.models.auto_load = True
        window.models.inspect(model)
    _close_on_signals(window)
    code = app.exec()
    window.shutdown()
    return int(code)
