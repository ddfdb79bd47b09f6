"""The commit dialog: stage and unstage files, see each file's diff, have the
model write the message from the staged diff (off the GUI thread), edit it,
commit. Nothing can be committed while conflicts are unresolved."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import QuillpadError
from app.core.git import (
    CommitMessage,
    GitRepo,
    commit,
    diff_file,
    has_staged,
    propose_message,
    read_status,
    stage,
    staged_diff,
    unstage,
)
from app.core.git.message import SUMMARY_LIMIT
from app.core.plugins.services import ModelClient
from app.ui.git_diff_view import unified_diff_html

log = logging.getLogger(__name__)
_KIND_WORDS = {
    "modified": "modified",
    "added": "added",
    "deleted": "deleted",
    "renamed": "renamed",
    "untracked": "new, untracked",
    "conflicted": "CONFLICT",
}


class _MessageSignals(QObject):
    done = Signal(object)  # CommitMessage
    failed = Signal(str)


class _MessageJob(QRunnable):
    """Asks the model for a commit message; the model blocks, so this runs on a pool thread."""

    def __init__(self, model: ModelClient, diff: str, budget: int) -> None:
        super().__init__()
        self.model, self.diff, self.budget = model, diff, budget
        self.signals = _MessageSignals()

    def run(self) -> None:
        try:
            message = propose_message(self.model, self.diff, budget=self.budget)
        except QuillpadError as err:
            self.signals.failed.emit(str(err))
        except Exception as err:  # a sentence for the user, the traceback for the log
            log.exception("writing the commit message failed")
            self.signals.failed.emit(f"The model could not write a message ({err}); see the log file.")
        else:
            self.signals.done.emit(message)


class CommitDialog(QDialog):
    """Stage, write (or have written), commit."""

    committed = Signal(str)  # the new commit's id

    def __init__(
        self,
        repo: GitRepo,
        model: Callable[[], ModelClient | None],
        budget: Callable[[], int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.repo = repo
        self.model = model
        self.budget = budget
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._jobs: set[_MessageJob] = set()
        self.setWindowTitle(f"Commit — {repo.root.name}")
        self.resize(1000, 700)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.state_label = QLabel("", self)
        self.state_label.setWordWrap(True)
        self.files = QListWidget(self)
        self.files.itemChanged.connect(self._on_item_changed)
        self.files.currentItemChanged.connect(lambda *_: self._show_diff())
        self.diff_view = QTextBrowser(self)
        self.diff_view.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        files_box = QWidget(self)
        files_layout = QVBoxLayout(files_box)
        files_layout.setContentsMargins(0, 0, 0, 0)
        files_layout.addWidget(QLabel("<b>Changes</b> (ticked files are staged)", self))
        files_layout.addWidget(self.files, 1)
        stage_row = QHBoxLayout()
        self.stage_all_button = QPushButton("Stage all", self)
        self.stage_all_button.clicked.connect(lambda: self._stage_all(True))
        self.unstage_all_button = QPushButton("Unstage all", self)
        self.unstage_all_button.clicked.connect(lambda: self._stage_all(False))
        stage_row.addWidget(self.stage_all_button)
        stage_row.addWidget(self.unstage_all_button)
        files_layout.addLayout(stage_row)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(files_box)
        splitter.addWidget(self.diff_view)
        splitter.setSizes([320, 680])

        self.message = QPlainTextEdit(self)
        self.message.setFont(QFont(fixed))
        self.message.setPlaceholderText("Summary line (at most 72 characters)\n\nBody: what changed and why.")
        self.message.setMaximumHeight(180)
        self.message.textChanged.connect(self._update_buttons)
        self.summary_hint = QLabel("", self)
        self.notice = QLabel("", self)
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color:#b26a00")
        self.write_button = QPushButton("Write with AI", self)
        self.write_button.clicked.connect(self.write_message)
        self.commit_button = QPushButton("Commit", self)
        self.commit_button.setDefault(True)
        self.commit_button.clicked.connect(self.do_commit)
        cancel = QPushButton("Close", self)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary_hint)
        buttons.addStretch(1)
        buttons.addWidget(self.write_button)
        buttons.addWidget(self.commit_button)
        buttons.addWidget(cancel)

        layout = QVBoxLayout(self)
        layout.addWidget(self.state_label)
        layout.addWidget(splitter, 1)
        layout.addWidget(QLabel("<b>Message</b>", self))
        layout.addWidget(self.message)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self.notice.hide()
        self.refresh()

    # -- files -------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the repository's state and status."""
        try:
            self.state = self.repo.state()
            entries = read_status(self.repo, ignored=False)
        except QuillpadError as err:
            self.state_label.setText(html.escape(str(err)))
            return
        current = self.files.currentItem()
        current_path = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.files.blockSignals(True)
        self.files.clear()
        for entry in entries:
            words = _KIND_WORDS.get(entry.kind, entry.kind)
            if entry.staged and entry.unstaged:
                words += ", partly staged"
            item = QListWidgetItem(f"{entry.mark}  {entry.path}   ({words})")
            item.setData(Qt.ItemDataRole.UserRole, entry.path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if entry.staged else Qt.CheckState.Unchecked)
            if entry.kind == "conflicted":
                item.setForeground(Qt.GlobalColor.red)
            self.files.addItem(item)
            if entry.path == current_path:
                self.files.setCurrentItem(item)
        self.files.blockSignals(False)
        if self.files.currentItem() is None and self.files.count():
            self.files.setCurrentRow(0)
        self._show_state()
        self._show_diff()
        self._update_buttons()

    def _show_state(self) -> None:
        state = self.state
        text = f"Branch: <b>{html.escape(state.label())}</b>"
        if state.conflicts:
            names = ", ".join(html.escape(p) for p in state.conflicts[:5])
            text += (
                f"<br><span style='color:#d32f2f'>Merge conflicts in {names}. Resolve them and stage the files; "
                "committing is possible once no conflict is left.</span>"
            )
        elif state.no_commits:
            text += "<br>This will be the repository's first commit."
        elif state.detached:
            text += "<br>HEAD is detached: the commit will not be on any branch until you create one."
        self.state_label.setText(text)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        try:
            if item.checkState() == Qt.CheckState.Checked:
                stage(self.repo, [path])
            else:
                unstage(self.repo, [path])
        except QuillpadError as err:
            self._show_notice(str(err))
        self.refresh()

    def _stage_all(self, on: bool) -> None:
        paths = [self.files.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.files.count())]
        try:
            (stage if on else unstage)(self.repo, paths)
        except QuillpadError as err:
            self._show_notice(str(err))
        self.refresh()

    def _show_diff(self) -> None:
        item = self.files.currentItem()
        if item is None:
            self.diff_view.setHtml("<p><i>Nothing to commit: the working tree is clean.</i></p>")
            return
        path = item.data(Qt.ItemDataRole.UserRole)
        base = "staged" if item.checkState() == Qt.CheckState.Checked else "head"
        try:
            self.diff_view.setHtml(unified_diff_html(diff_file(self.repo, path, base)))
        except QuillpadError as err:
            self.diff_view.setHtml(f"<p>{html.escape(str(err))}</p>")

    # -- message --------------------------------------------------------------------

    def _show_notice(self, text: str | None) -> None:
        self.notice.setText(html.escape(text or ""))
        self.notice.setVisible(bool(text))

    def write_message(self) -> None:
        """Ask the model for a message from the staged diff (the reply arrives later)."""
        model = self.model()
        if model is None or not model.ready():
            self._show_notice("Load a model first (Model ▸ Open GGUF model…), then ask it to write the message.")
            return
        try:
            diff = staged_diff(self.repo)
        except QuillpadError as err:
            self._show_notice(str(err))
            return
        if not diff.strip():
            self._show_notice("Nothing is staged; tick the files to commit first.")
            return
        job = _MessageJob(model, diff, self.budget())
        job.setAutoDelete(False)
        self._jobs.add(job)
        job.signals.done.connect(lambda message, j=job: self._on_message(j, message))
        job.signals.failed.connect(lambda text, j=job: self._on_message_failed(j, text))
        self.write_button.setEnabled(False)
        self.write_button.setText("Writing…")
        self._show_notice(None)
        self.pool.start(job)

    def _on_message(self, job: _MessageJob, message: CommitMessage) -> None:
        self._jobs.discard(job)
        self.message.setPlainText(message.text.rstrip("\n"))
        self._show_notice(message.notice)
        self._writing_done()

    def _on_message_failed(self, job: _MessageJob, text: str) -> None:
        self._jobs.discard(job)
        self._show_notice(text)
        self._writing_done()

    def _writing_done(self) -> None:
        self.write_button.setText("Write with AI")
        self._update_buttons()

    # -- commit -------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        summary = self.message.toPlainText().split("\n", 1)[0]
        over = len(summary) > SUMMARY_LIMIT
        self.summary_hint.setText(
            f"<span style='color:{'#d32f2f' if over else '#777'}'>summary {len(summary)}/{SUMMARY_LIMIT}</span>"
        )
        try:
            staged = has_staged(self.repo) or self.state.merging
        except QuillpadError:
            staged = False
        can = self.state.can_commit and staged and bool(self.message.toPlainText().strip())
        self.commit_button.setEnabled(can)
        if not self.state.can_commit:
            self.commit_button.setToolTip("Resolve the merge conflicts first.")
        elif not staged:
            self.commit_button.setToolTip("Stage at least one file.")
        else:
            self.commit_button.setToolTip("")
        self.write_button.setEnabled(not self._jobs and self.state.can_commit and staged)

    def do_commit(self) -> None:
        """Commit the staged files with the message as written."""
        try:
            commit_id = commit(self.repo, self.message.toPlainText())
        except QuillpadError as err:
            self._show_notice(str(err))
            self.refresh()
            return
        self.committed.emit(commit_id)
        self.accept()

    def done(self, result: int) -> None:
        model = self.model()
        if self._jobs and model is not None:
            model.stop()
        self.pool.waitForDone(30_000)
        super().done(result)
