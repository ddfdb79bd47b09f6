"""Runs the model inspector off the GUI thread and reports plain data."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, Signal

from app.core.errors import QuillpadError
from app.core.gguf_info import ModelInfo, inspect_model


class InspectSignals(QObject):
    """Signals of one inspection: a ``ModelInfo`` or a message."""

    finished = Signal(object)
    failed = Signal(str)


class InspectJob(QRunnable):
    """Inspect one file in the thread pool; never touches a widget."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.signals = InspectSignals()

    def run(self) -> None:
        try:
            info: ModelInfo = inspect_model(self.path)
        except QuillpadError as err:
            self.signals.failed.emit(str(err))
        except Exception as err:  # shown as a message, never a traceback
            self.signals.failed.emit(f"Inspecting {self.path} failed unexpectedly ({err}); see the log file.")
        else:
            self.signals.finished.emit(info)
