"""The strip above the chat that shows the model: facts before loading, load
progress, and refusals or crashes with the action that fixes them."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.core.gguf_info import ModelInfo, human_count, human_size
from app.core.models.hardware import FitLabel, Hardware, ModelShape, assess_fit, hardware_is_cheap, probe_hardware
from app.ui.tasks import TaskRunner

FIT_COLOURS = {FitLabel.FITS: "#2e7d32", FitLabel.TIGHT: "#ef6c00", FitLabel.WONT_FIT: "#c62828"}


def describe_model(info: ModelInfo, context_length: int | None = None, hardware: Hardware | None = None) -> str:
    """One paragraph of HTML: what the model is and the memory it needs; the fit once ``hardware`` is known."""
    ram = info.estimate_ram(context_length)
    kind = f"{info.expert_count} experts, {info.experts_used} active" if info.is_moe else "dense"
    thinking = "thinking switch" if info.supports_thinking_switch else "no thinking switch"
    if not info.has_chat_template:
        thinking = "no chat template (plain prompts)"
    return (
        f"<b>{html.escape(info.display_name)}</b> · {html.escape(info.architecture)} · "
        f"{human_count(info.parameter_count)} parameters ({kind}) · {html.escape(info.quantization)} · "
        f"{human_size(info.file_size)} · trained context {info.context_length or 'unknown'} · {thinking}<br>"
        f"Needs about <b>{human_size(ram.total)}</b> of memory at {ram.context_length:,} tokens: "
        f"{_fit_html(info, ram.context_length, hardware)}"
    )


def _fit_html(info: ModelInfo, context_length: int, hardware: Hardware | None) -> str:
    if hardware is None:
        return "measuring this computer's memory…"
    fit = assess_fit(ModelShape.from_info(info), hardware, context_length)
    gpu = {0: "on the CPU", -1: "with all layers on the GPU"}.get(fit.gpu_layers, f"with {fit.gpu_layers} GPU layers")
    return (
        f"<b style='color:{FIT_COLOURS[fit.label]}'>{fit.label.value}</b> ({html.escape(fit.reason)}). "
        f"Proposed: {fit.proposed_context:,} tokens of context, {gpu}."
    )


class ModelBanner(QFrame):
    """Shows one of: nothing, a model to confirm, progress, or a problem."""

    loadRequested = Signal()
    cancelRequested = Signal()
    restartRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # llama.cpp does not report load progress steps
        self.progress.setMaximumHeight(8)
        self.progress.setTextVisible(False)
        self.load_button = QPushButton("Load model", self)
        self.load_button.clicked.connect(self.loadRequested)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.restart_button = QPushButton("Restart engine", self)
        self.restart_button.clicked.connect(self.restartRequested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.restart_button, self.cancel_button, self.load_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        self.tasks = TaskRunner(self)
        self._model: tuple[ModelInfo, int | None] | None = None  # shown, waiting for the fit
        self.clear()

    def _show(self, text: str, *, progress: bool = False, confirm: bool = False, restart: bool = False) -> None:
        self.text.setText(text)
        self.progress.setVisible(progress)
        self.load_button.setVisible(confirm)
        self.cancel_button.setVisible(confirm)
        self.restart_button.setVisible(restart)
        self.setVisible(True)
        self._model = None

    def clear(self) -> None:
        self.setVisible(False)
        self._model = None

    def show_inspecting(self, path: str) -> None:
        self._show(f"Reading {html.escape(path)}…", progress=True)

    def show_model(self, info: ModelInfo, context_length: int | None) -> None:
        """The model's facts now; its fit at once when the hardware facts are cached, else when they arrive."""
        if hardware_is_cheap():
            self._show(describe_model(info, context_length, probe_hardware()), confirm=True)
            return
        self._show(describe_model(info, context_length), confirm=True)
        self._model = (info, context_length)
        if not self.tasks.busy:  # one measurement serves every model shown meanwhile
            self.tasks.submit(lambda token: probe_hardware(), on_result=self._measured)

    def _measured(self, hardware: Hardware) -> None:
        if self._model is not None:  # still showing a model (not loading, cleared or a problem)
            info, context_length = self._model
            self._show(describe_model(info, context_length, hardware), confirm=True)

    def shutdown(self) -> None:
        """Wait for a running measurement (nvidia-smi is stopped after 5 s); show nothing more."""
        self.tasks.shutdown()

    def show_loading(self, name: str) -> None:
        self._show(f"Loading <b>{html.escape(name)}</b>…", progress=True)

    def show_remote(self, model: str, base_url: str, context_length: int | None = None) -> None:
        """A model server in use: its model and address instead of a GGUF file's facts."""
        context = f" · context {context_length:,} tokens" if context_length else ""
        self._show(
            f"Model server: <b>{html.escape(model)}</b> at {html.escape(base_url)}{context}"
            "<br>Replies are written by the server; change this in Model ▸ Settings."
        )

    def show_problem(self, message: str, crashed: bool = False) -> None:
        self._show(f"<span style='color:#c62828'>{html.escape(message)}</span>", restart=crashed)
