"""Reviewing a proposed edit: every file's hunks, accepted or rejected one by one,
with the safety scan's findings and the code-reference matches next to the code they concern."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.edits.proposal import EditProposal, FileChange
from app.core.refs import RefMatch, matched_lines
from app.core.refs.edits import change_matches
from app.ui.refs.controller import RefsController
from app.ui.theme.colours import DiffColours, diff_colours
from app.ui.widgets.diff_browser import DiffBrowser

CHECKING = "Looking for matches with code installed on this computer…"


def hunk_html(change: FileChange, index: int, colours: DiffColours, matched: set[int] | None = None) -> str:
    """One hunk as coloured, escaped HTML; ``matched`` new-line numbers are highlighted."""
    hunk = change.hunks[index]
    rows = [f"<div style='color:{colours.hunk}'>{html.escape(hunk.header)}</div>"]
    for line in hunk.lines:
        kind = line.kind if line.kind in ("+", "-") else " "
        background = colours.background(kind)
        marker = " "
        if matched and kind == "+" and line.new_number in matched:
            background, marker = colours.matched_background, "≈"
        rows.append(
            f"<div style='color:{colours.text(kind)};background:{background};white-space:pre'>"
            f"{html.escape(kind + marker + line.text)}</div>"
        )
    return "<div style='font-family:monospace'>" + "".join(rows) + "</div>"


def findings_html(change: FileChange, colours: DiffColours) -> str:
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
    return f"<p style='color:{colours.danger}'><b>Risky code in this change:</b></p><ul>" + "".join(items) + "</ul>"


def matches_html(matches: list[RefMatch], colours: DiffColours, caveat: str = "") -> str:
    """Where the change's new code may come from, or a plain "no match" line (with ``caveat`` if any)."""
    if not matches:
        extra = f" {html.escape(caveat)}" if caveat else ""
        return (
            f"<p style='color:{colours.muted}'>No match with code installed on this computer "
            f"(not proof of originality: only that code is compared).{extra}</p>"
        )
    items = [
        f"<li><b>lines {m.lines[0]}–{m.lines[1]}</b>: {html.escape(m.describe())}<br>"
        f"<small>{html.escape(m.path)}</small></li>"
        for m in matches
    ]
    return (
        f"<p style='color:{colours.caution}'><b>This change reproduces code found on this computer</b> "
        "(highlighted ≈ below); check its licence before using it:</p><ul>" + "".join(items) + "</ul>"
    )


def _ask(parent: QWidget, text: str) -> bool:
    answer = QMessageBox.question(
        parent,
        "Apply code that matches existing code?",
        text,
        QMessageBox.StandardButton.Apply | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Apply


class DiffPreviewDialog(QDialog):
    """Shows a proposal; ``accepted()`` tells which hunks of which files to apply.

    With ``refs``, each file's new code is checked against the code-reference
    index in the background; with ``confirm_matches`` applying a change that
    matches asks a second time (``confirm`` is replaceable in tests).
    """

    def __init__(
        self,
        proposal: EditProposal,
        parent: QWidget | None = None,
        *,
        refs: RefsController | None = None,
        confirm_matches: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Review the proposed changes")
        self.resize(900, 700)
        self.proposal = proposal
        self.refs = refs if refs is not None and refs.enabled else None
        self.confirm_matches = confirm_matches
        self.confirm: Callable[[QWidget, str], bool] = _ask
        self.boxes: dict[str, list[QCheckBox]] = {}
        self.views: dict[str, list[DiffBrowser]] = {}
        self.findings: dict[str, QLabel] = {}
        self.ref_labels: dict[str, QLabel] = {}
        self.matches: dict[str, list[RefMatch]] = {}
        self._callbacks: list[Callable[[list[RefMatch]], None]] = []
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
        self.finished.connect(self._forget)
        for change in proposal.changes:
            self._start_check(change)

    def _file_box(self, change: FileChange) -> QGroupBox:
        title = f"{change.key} (new file)" if change.is_new else change.key
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        for note in change.notes:
            layout.addWidget(QLabel(f"<i>{html.escape(note)}</i>"))
        colours = diff_colours()
        risky = findings_html(change, colours)
        if risky:
            warning = QLabel(risky)
            warning.setWordWrap(True)
            layout.addWidget(warning)
            self.findings[change.key] = warning
        if self.refs is not None and change.added_lines():
            label = QLabel(f"<i>{CHECKING}</i>")
            label.setWordWrap(True)
            label.setTextInteractionFlags(label.textInteractionFlags())
            layout.addWidget(label)
            self.ref_labels[change.key] = label
        checks: list[QCheckBox] = []
        views: list[DiffBrowser] = []
        for index, hunk in enumerate(change.hunks):
            check = QCheckBox(f"Apply change {index + 1} (+{hunk.added} −{hunk.removed})")
            check.setChecked(True)
            view = DiffBrowser()
            view.setLineWrapMode(DiffBrowser.LineWrapMode.WidgetWidth)
            view.setHtml(hunk_html(change, index, colours))
            view.themeChanged.connect(lambda _dark, change=change, index=index: self._render_hunk(change, index))
            view.setMinimumHeight(min(400, 22 * (len(hunk.lines) + 2)))
            layout.addWidget(check)
            layout.addWidget(view)
            checks.append(check)
            views.append(view)
        self.boxes[change.key] = checks
        self.views[change.key] = views
        return box

    # -- code references ------------------------------------------------------

    def _start_check(self, change: FileChange) -> None:
        if self.refs is None or change.key not in self.ref_labels:
            return

        def done(matches: list[RefMatch], change: FileChange = change) -> None:
            self.show_matches(change, change_matches(lambda _text, _name: matches, change))

        self._callbacks.append(done)
        self.refs.check(change.proposed, done, filename=change.key)

    def show_matches(self, change: FileChange, matches: list[RefMatch]) -> None:
        """Show a file's matches beside its findings and highlight the matching new lines."""
        self.matches[change.key] = matches
        label = self.ref_labels.get(change.key)
        if label is not None:
            caveat = self.refs.caveat() if self.refs is not None else ""
            label.setText(matches_html(matches, diff_colours(), caveat))
        if matches:
            for index in range(len(self.views.get(change.key, []))):
                self._render_hunk(change, index)

    def _render_hunk(self, change: FileChange, index: int) -> None:
        """Draw one hunk again in the theme's colours, with the matches known so far (and its file's notes)."""
        colours = diff_colours()
        matches = self.matches.get(change.key)
        self.views[change.key][index].setHtml(hunk_html(change, index, colours, matched_lines(matches or [])))
        if index == 0:
            if change.key in self.findings:
                self.findings[change.key].setText(findings_html(change, colours))
            if matches is not None and change.key in self.ref_labels:
                caveat = self.refs.caveat() if self.refs is not None else ""
                self.ref_labels[change.key].setText(matches_html(matches, colours, caveat))

    def _check_now(self, text: str, filename: str) -> list[RefMatch]:
        return self.refs.check_now(text, filename=filename) if self.refs is not None else []

    def _forget(self) -> None:
        if self.refs is not None:
            for callback in self._callbacks:
                self.refs.forget(callback)

    def _accepted_matches(self) -> list[RefMatch]:
        found: list[RefMatch] = []
        chosen = self.accepted_hunks()
        for change in self.proposal.changes:
            if change.key not in self.ref_labels or not chosen.get(change.key):
                continue
            if change.key not in self.matches and self.refs is not None:
                # Apply pressed before the background check came back: check now (milliseconds).
                self.show_matches(change, change_matches(self._check_now, change))
            added = change.added_lines(chosen[change.key])
            found += [m for m in self.matches.get(change.key, []) if added & set(range(m.lines[0], m.lines[1] + 1))]
        return found

    def accept(self) -> None:
        """With ``confirm_matches``, applying code that reproduces indexed code is asked about again."""
        if self.confirm_matches and self.refs is not None:
            matches = self._accepted_matches()
            if matches:
                listed = "\n".join(f"• {m.describe()}" for m in matches[:5])
                text = (
                    "The selected changes reproduce code found on this computer:\n\n"
                    f"{listed}\n\nApply them anyway? Check the licence first."
                )
                if not self.confirm(self, text):
                    return
        super().accept()

    def accepted_hunks(self) -> dict[str, set[int]]:
        """file key -> indices of the hunks left ticked."""
        return {key: {i for i, check in enumerate(checks) if check.isChecked()} for key, checks in self.boxes.items()}
