"""The bar under the chat that asks before an acting tool runs: Allow, Allow for this chat, Deny."""

from __future__ import annotations

import json

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.agent.permissions import ApprovalRequest


class ApprovalBar(QWidget):
    """Hidden until a question comes; each button answers it once and hides the bar."""

    decided = Signal(str)  # "allow" | "allow_chat" | "deny"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.allow_button = QPushButton("Allow", self)
        self.allow_chat_button = QPushButton("Allow for this chat", self)
        self.deny_button = QPushButton("Deny", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        for button, decision in (
            (self.allow_button, "allow"),
            (self.allow_chat_button, "allow_chat"),
            (self.deny_button, "deny"),
        ):
            layout.addWidget(button)
            button.clicked.connect(lambda _checked=False, d=decision: self._decide(d))
        self.request: ApprovalRequest | None = None
        self.hide()

    def ask(self, request: ApprovalRequest) -> None:
        """Show the question for ``request``."""
        self.request = request
        arguments = json.dumps(request.arguments, ensure_ascii=False)
        if len(arguments) > 300:
            arguments = arguments[:297] + "…"
        self.label.setText(f"The model wants to run {request.label}: {request.description}\n{arguments}")
        self.show()
        self.allow_button.setFocus()

    def _decide(self, decision: str) -> None:
        self.request = None
        self.hide()
        self.decided.emit(decision)
