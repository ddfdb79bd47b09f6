"""A unified diff from git, coloured like the edit review: one file or the whole working tree,
against HEAD, against the index (unstaged changes) or staged."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import QuillpadError
from app.core.git import GitRepo, diff_file, diff_worktree
from app.core.git.diff import DiffBase
from app.ui.theme.colours import DiffColours, diff_colours
from app.ui.widgets.diff_browser import DiffBrowser

BASES: list[tuple[DiffBase, str]] = [
    ("head", "Against HEAD (all changes)"),
    ("index", "Unstaged (against the index)"),
    ("staged", "Staged (index against HEAD)"),
]
MAX_SHOWN_CHARS = 2_000_000  # a diff beyond this is cut, with a note: the view must stay responsive


def unified_diff_html(diff: str, colours: DiffColours) -> str:
    """A unified diff as coloured, escaped HTML (file headers bold, hunk headers blue).

    Safe on any thread: the colours are chosen by the caller, on the GUI thread.
    """
    if not diff.strip():
        return "<p><i>No changes.</i></p>"
    cut = len(diff) > MAX_SHOWN_CHARS
    rows = []
    for line in diff[:MAX_SHOWN_CHARS].splitlines():
        escaped = html.escape(line) or "&nbsp;"
        if line.startswith(
            ("diff --git", "+++ ", "--- ", "index ", "new file", "deleted file", "similarity", "rename ")
        ):
            rows.append(f"<div style='font-weight:bold;color:{colours.header};white-space:pre'>{escaped}</div>")
        elif line.startswith("@@"):
            rows.append(f"<div style='color:{colours.hunk};white-space:pre'>{escaped}</div>")
        else:
            kind = line[:1] if line[:1] in ("+", "-") else " "
            rows.append(
                f"<div style='color:{colours.text(kind)};background:{colours.background(kind)};white-space:pre'>"
                f"{escaped}</div>"
            )
    if cut:
        rows.append(f"<p><i>The diff is longer than {MAX_SHOWN_CHARS:,} characters; the rest is not shown.</i></p>")
    return "<div style='font-family:monospace'>" + "".join(rows) + "</div>"


class GitDiffDialog(QDialog):
    """The diff of ``path`` (or of everything when None), with a choice of what to compare against."""

    def __init__(self, repo: GitRepo, path: str | None, base: DiffBase = "head", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.repo = repo
        self.path = path
        name = repo.relative(path) if path else "working tree"
        self.setWindowTitle(f"Diff — {name}")
        self.resize(900, 650)
        self.base_box = QComboBox(self)
        for key, label in BASES:
            self.base_box.addItem(label, key)
        self.base_box.setCurrentIndex([key for key, _ in BASES].index(base))
        self.base_box.currentIndexChanged.connect(self.refresh)
        self.error = QLabel("", self)
        self.error.setWordWrap(True)
        self.view = DiffBrowser(self)
        self.view.themeChanged.connect(lambda _dark: self.refresh())
        top = QHBoxLayout()
        top.addWidget(QLabel(f"<b>{html.escape(name)}</b> in {html.escape(Path(repo.root).name)}", self))
        top.addStretch(1)
        top.addWidget(self.base_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.refresh()

    @property
    def base(self) -> DiffBase:
        value: DiffBase = self.base_box.currentData()
        return value

    def diff_text(self) -> str:
        """The diff shown now (raises ``QuillpadError`` when git refuses)."""
        if self.path is None:
            return diff_worktree(self.repo, self.base)
        return diff_file(self.repo, self.path, self.base)

    def refresh(self) -> None:
        try:
            text = self.diff_text()
        except QuillpadError as err:
            self.error.setText(html.escape(str(err)))
            self.error.show()
            self.view.setHtml("")
            return
        self.error.hide()
        self.view.setHtml(unified_diff_html(text, diff_colours()))
