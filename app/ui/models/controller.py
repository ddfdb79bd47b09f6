"""Choosing, inspecting, loading and restarting the model, for the window.

Inspection runs on a thread pool and loading on the engine thread; this
object only reacts to their signals, so the GUI never waits on either.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from app.core.engine import LoadedModel
from app.core.engine.requests import load_options
from app.core.gguf_info import ModelInfo, inspect_model
from app.core.settings import Settings
from app.ui.models.banner import ModelBanner
from app.ui.models.engine_bridge import EngineBridge
from app.ui.tasks import TaskRunner, failure_text

MAX_RECENT = 10


def _ask_model_path(parent: QWidget) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open GGUF model", "", "GGUF models (*.gguf);;All files (*)")
    return path or None


class ModelController(QObject):
    """The model's lifecycle as the user sees it."""

    modelReady = Signal(str, int)  # display name ("" when none), context length
    notice = Signal(str)
    recentChanged = Signal(list)

    def __init__(
        self,
        parent: QWidget,
        bridge: EngineBridge,
        banner: ModelBanner,
        settings: Callable[[], Settings],
    ) -> None:
        super().__init__(parent)
        self.window = parent
        self.bridge = bridge
        self.banner = banner
        self.settings = settings
        self.ask_path: Callable[[QWidget], str | None] = _ask_model_path
        self.tasks = TaskRunner(self, threads=2)
        self.pending: ModelInfo | None = None
        self.loaded_path: str | None = None
        self.auto_load = False  # load right after inspecting (command line, screenshot)
        banner.loadRequested.connect(self.load_pending)
        banner.cancelRequested.connect(self._cancel)
        banner.restartRequested.connect(self.restart)
        bridge.modelLoaded.connect(self._on_loaded)
        bridge.loadFailed.connect(self._on_failed)

    def choose_file(self) -> None:
        path = self.ask_path(self.window)
        if path:
            self.inspect(path)

    def inspect(self, path: str) -> None:
        """Read the model's facts in the background, then offer to load it."""
        self.banner.show_inspecting(path)
        self.tasks.submit(
            lambda token: inspect_model(path),
            on_result=self._on_inspected,
            on_error=lambda err: self._on_inspect_failed(failure_text(err, f"Inspecting {path}")),
        )

    def _on_inspected(self, info: ModelInfo) -> None:
        self.pending = info
        self.banner.show_model(info, self.settings().engine.context_length)
        if self.auto_load:
            self.load_pending()

    def _on_inspect_failed(self, message: str) -> None:
        self.banner.show_problem(message)
        self.notice.emit(message)

    def load_pending(self) -> None:
        """Load the model the banner shows."""
        if self.pending is None:
            return
        info, self.pending = self.pending, None
        self.banner.show_loading(info.display_name)
        self.modelReady.emit("", 0)
        self.bridge.load(info.path, load_options(self.settings()))

    def _cancel(self) -> None:
        self.pending = None
        self.banner.clear()

    def _on_loaded(self, loaded: LoadedModel) -> None:
        self.loaded_path = loaded.info.path
        self.banner.clear()
        for warning in loaded.warnings:
            self.notice.emit(warning)
        self.modelReady.emit(loaded.info.display_name, loaded.context_length)
        recent = [loaded.info.path] + [p for p in self.settings().recent_models if p != loaded.info.path]
        self.recentChanged.emit(recent[:MAX_RECENT])

    def _on_failed(self, message: str, crashed: bool) -> None:
        self.banner.show_problem(message, crashed=crashed)
        self.modelReady.emit("", 0)
        self.notice.emit(message)

    def restart(self) -> None:
        """Restart the engine and reload the last model."""
        self.banner.show_loading(Path(self.loaded_path).name if self.loaded_path else "the engine")
        self.modelReady.emit("", 0)
        self.bridge.restart()

    def unload(self) -> None:
        self.loaded_path = None
        self.bridge.unload()
        self.modelReady.emit("", 0)

    def shutdown(self) -> None:
        self.tasks.shutdown(30_000)
        self.banner.shutdown()
