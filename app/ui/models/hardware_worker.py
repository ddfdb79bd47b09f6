"""Measures this computer's memory off the GUI thread (nvidia-smi can take seconds) and reports plain data."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, Signal

from app.core.models.hardware import Hardware, probe_hardware


class HardwareSignals(QObject):
    """Signals of one measurement: the job and its ``Hardware``."""

    finished = Signal(object, object)


class HardwareJob(QRunnable):
    """Probe the hardware in the thread pool (cached in core); never touches a widget."""

    def __init__(self, refresh_gpu: bool = False) -> None:
        super().__init__()
        self.refresh_gpu = refresh_gpu
        self.signals = HardwareSignals()

    def run(self) -> None:
        hardware: Hardware = probe_hardware(self.refresh_gpu)
        self.signals.finished.emit(self, hardware)
