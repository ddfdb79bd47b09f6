"""Reviewing a proposed edit: every file's hunks, accepted or rejected one by one,
with the safety scan's findings next to the code they concern."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.edits.proposal import EditProposal, FileChange

_COLOURS = {"+": "#1b5e20", "-": "#b71c1c", " ": "#555555"}
_BACKGROUNDS = {"+": "#e8f5e9", "-": "#ffebee", " ": "transparent"}


def hunk_html(change: FileChange, index: int) -> str:
    """One hunk as coloured, escaped HTML."""
    hunk = change.hunks[index]
    rows = [f"<div style='color:#1565c0'>{html.escape(hunk.header)}</div>"]
    for line in hunk.lines:
        kind = line.kind if line.kind in _COLOURS else " "
        rows.append(
            f"<div style='color:{_COLOURS[kind]};background:{_BACKGROUNDS[kind]};white-space:pre'>"
            f"{html.escape(kind + ' ' + line.text)}</div>"
        )
    return "<div style='font-family:monospace'>" + "".join(rows) + "</div>"


def findings_html(change: FileChange) -> str:
    """The safety scan's findings for a file, or "" when there are none."""
    report = change.safety
    if report is None or not report.risky:
        return ""
    items = [
        f"<li><b>line {f.line}</b>: {html.escape(f.description)} <code>{html.escape(f.code.strip())}</code></li>"
        for f in report.findings
    ]
    if not report.scanned:
        items.append(f"<li>The safety scan did not finish: {html.escape(report.reason or 'unknown reason')}</li>")
    return "<p style='color:#b71c1c'><b>Risky code in this change:</b></p><ul>" + "".join(items) + "</ul>"


class DiffPreviewDialog(QDialog):
    """Shows a proposal; ``accepted()`` tells which hunks of which files to apply."""

    def __init__(self, proposal: EditProposal, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Review the proposed changes")
        self.resize(900, 700)
        self.proposal = proposal
        self.boxes: dict[str, list[QCheckBox]] = {}
        body = QWidget()
        layout = QVBoxLayout(body)
        summary = QLabel(html.escape(proposal.summary()))
        summary.setWordWrap(True)
        layout.addWidget(summary)
        for note in proposal.notes:
            layout.addWidget(QLabel(f"<i>{html.escape(note)}</i>"))
        for change in proposal.changes:
            layout.addWidget(self._file_box(change))
        layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        buttons = QDialogButtonBox(self)
        self.apply_button = buttons.addButton("Apply selected", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("Reject all", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addWidget(buttons)

    def _file_box(self, change: FileChange) -> QGroupBox:
        title = f"{change.key} (new file)" if change.is_new else change.key
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        for note in change.notes:
            layout.addWidget(QLabel(f"<i>{html.escape(note)}</i>"))
        risky = findings_html(change)
        if risky:
            warning = QLabel(risky)
            warning.setWordWrap(True)
            layout.addWidget(warning)
        checks: list[QCheckBox] = []
        for index, hunk in enumerate(change.hunks):
            check = QCheckBox(f"Apply change {index + 1} (+{hunk.added} −{hunk.removed})")
            check.setChecked(True)
            view = QTextBrowser()
            view.setHtml(hunk_html(change, index))
            view.setMinimumHeight(min(400, 22 * (len(hunk.lines) + 2)))
            layout.addWidget(check)
            layout.addWidget(view)
            checks.append(check)
        self.boxes[change.key] = checks
        return box

    def accepted_hunks(self) -> dict[str, set[int]]:
        """file key -> indices of the hunks left ticked."""
        return {key: {i for i, check in enumerate(checks) if check.isChecked()} for key, checks in self.boxes.items()}
