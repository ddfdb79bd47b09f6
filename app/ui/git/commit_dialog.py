"""The commit dialog: stage and unstage files, see each file's diff, have the
model write the message from the staged diff, edit it, commit. Nothing can be
committed while conflicts are unresolved.

Git work (status, stage, unstage, diffs, the staged diff) runs on one pool
thread, so jobs run and report in the order they were asked for, and the
dialog stays responsive on big repositories and diffs. Jobs return plain data
through signals; while a staging job runs the controls that would conflict
with it are disabled and the dialog says "Staging…". Closing the dialog drops
queued jobs and waits for the running one."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.engine.model_client import ModelClient
from app.core.errors import QuillpadError
from app.core.git import (
    CommitMessage,
    FileStatus,
    GitRepo,
    RepoState,
    commit,
    diff_file,
    has_staged,
    read_status,
    stage,
    staged_diff,
    unstage,
)
from app.core.git.diff import DiffBase
from app.core.git.message import SUMMARY_LIMIT, stream_message
from app.ui.git.diff_view import unified_diff_html
from app.ui.tasks import Task, TaskRunner, TaskToken, failure_text
from app.ui.theme.colours import diff_colours
from app.ui.theme.scale import set_text_role
from app.ui.widgets.diff_browser import DiffBrowser

_KIND_WORDS = {
    "modified": "modified",
    "added": "added",
    "deleted": "deleted",
    "renamed": "renamed",
    "untracked": "new, untracked",
    "conflicted": "CONFLICT",
}


@dataclass(frozen=True)
class Snapshot:
    """What the dialog shows of the repository, read on the pool thread."""

    state: RepoState
    entries: tuple[FileStatus, ...]
    staged: bool  # the index differs from HEAD


def read_snapshot(repo: GitRepo) -> Snapshot:
    """State, status and whether anything is staged (blocking: git runs)."""
    return Snapshot(repo.state(), tuple(read_status(repo, ignored=False)), has_staged(repo))


class CommitDialog(QDialog):
    """Stage, write (or have written), commit."""

    committed = Signal(str)  # the new commit's id
    refreshed = Signal(object)  # the Snapshot just shown
    idle = Signal()  # no staging or status job is waiting any more

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
        self.model_tasks = TaskRunner(self)
        # One thread: git jobs run, and report, in the order they were asked for.
        self.git_tasks = TaskRunner(self)
        self._ticket = 0
        self._busy: dict[int, str] = {}  # ticket -> "Staging…" for jobs that change or re-read the status
        self._diff_ticket = 0
        self._closed = False
        self._staged = False
        self.state: RepoState | None = None
        self.setWindowTitle(f"Commit — {repo.root.name}")
        self.resize(1000, 700)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.state_label = QLabel("Reading the repository…", self)
        self.state_label.setWordWrap(True)
        self.files = QListWidget(self)
        self.files.itemChanged.connect(self._on_item_changed)
        self.files.currentItemChanged.connect(lambda *_: self._show_diff())
        self.diff_view = DiffBrowser(self)
        self.diff_view.themeChanged.connect(lambda _dark: self._show_diff())
        files_box = QWidget(self)
        files_layout = QVBoxLayout(files_box)
        files_layout.setContentsMargins(0, 0, 0, 0)
        changes_title = QLabel("Changes", self)
        set_text_role(changes_title, "title")
        changes_hint = QLabel("ticked files are staged", self)
        set_text_role(changes_hint, "secondary")
        title_row = QHBoxLayout()
        title_row.addWidget(changes_title)
        title_row.addWidget(changes_hint, 1)
        files_layout.addLayout(title_row)
        files_layout.addWidget(self.files, 1)
        stage_row = QHBoxLayout()
        self.stage_all_button = QPushButton("Stage all", self)
        self.stage_all_button.clicked.connect(lambda: self._stage_all(True))
        self.unstage_all_button = QPushButton("Unstage all", self)
        self.unstage_all_button.clicked.connect(lambda: self._stage_all(False))
        self.busy_label = QLabel("", self)
        set_text_role(self.busy_label, "secondary")
        stage_row.addWidget(self.stage_all_button)
        stage_row.addWidget(self.unstage_all_button)
        stage_row.addWidget(self.busy_label, 1)
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
        set_text_role(self.summary_hint, "secondary")
        self.notice = QLabel("", self)
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color:#b26a00")
        self.write_button = QPushButton("Write with AI", self)
        self.write_button.clicked.connect(self.write_message)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop the model; the message so far is kept")
        self.stop_button.clicked.connect(self.stop_writing)
        self.stop_button.hide()
        self._writing: Task[CommitMessage] | None = None
        self.commit_button = QPushButton("Commit", self)
        self.commit_button.setDefault(True)
        self.commit_button.clicked.connect(self.do_commit)
        cancel = QPushButton("Close", self)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary_hint)
        buttons.addStretch(1)
        buttons.addWidget(self.write_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.commit_button)
        buttons.addWidget(cancel)

        layout = QVBoxLayout(self)
        layout.addWidget(self.state_label)
        layout.addWidget(splitter, 1)
        message_title = QLabel("Message", self)
        set_text_role(message_title, "title")
        layout.addWidget(message_title)
        layout.addWidget(self.message)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self.notice.hide()
        self.refresh()

    # -- the git thread --------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether a staging or status job is queued or running."""
        return bool(self._busy)

    def _submit(
        self,
        work: Callable[[], object],
        what: str,
        on_done: Callable[[object], None],
        on_failed: Callable[[str], None],
        busy: str | None = None,
    ) -> int:
        self._ticket += 1
        ticket = self._ticket
        if busy is not None:
            self._busy[ticket] = busy
            self._show_busy()
        self.git_tasks.submit(
            lambda token: work(),
            on_result=lambda result: self._finished(ticket, lambda: on_done(result)),
            on_error=lambda err: self._finished(ticket, lambda: on_failed(failure_text(err, what))),
        )
        return ticket

    def _finished(self, ticket: int, then: Callable[[], None]) -> None:
        was_busy = self._busy.pop(ticket, None) is not None
        if self._closed:
            return  # the dialog is gone: a late result is dropped
        then()
        if was_busy:
            self._show_busy()
            if not self._busy:
                self.idle.emit()

    def _show_busy(self) -> None:
        """Say what runs, and disable what would conflict with it (the list, staging, committing)."""
        running = next(iter(self._busy.values()), "")
        self.busy_label.setText(running)
        for widget in (self.files, self.stage_all_button, self.unstage_all_button):
            widget.setEnabled(not self._busy)
        self._update_buttons()

    # -- files -------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the repository's state and status (the answer arrives later)."""
        self._submit(
            lambda: read_snapshot(self.repo), "Reading the git status", self._apply, self._status_failed, "Reading…"
        )

    def _status_failed(self, text: str) -> None:
        self.state_label.setText(html.escape(text))

    def _apply(self, result: object) -> None:
        assert isinstance(result, Snapshot)
        self.state, self._staged = result.state, result.staged
        current = self.files.currentItem()
        current_path = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        self.files.blockSignals(True)
        self.files.clear()
        for entry in result.entries:
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
        self.refreshed.emit(result)

    def _show_state(self) -> None:
        state = self.state
        if state is None:
            return
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
        self.set_staged(item.checkState() == Qt.CheckState.Checked, [path])

    def _stage_all(self, on: bool) -> None:
        paths = [self.files.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.files.count())]
        self.set_staged(on, paths)

    def set_staged(self, on: bool, paths: Sequence[str]) -> None:
        """Stage or unstage ``paths`` on the git thread, then show the status that results."""
        repo = self.repo

        def work() -> Snapshot:
            (stage if on else unstage)(repo, paths)
            return read_snapshot(repo)

        def failed(text: str) -> None:
            self._show_notice(text)
            self.refresh()  # the ticks must show the index as it is

        self._show_notice(None)
        what = "Staging" if on else "Unstaging"
        self._submit(work, what, self._apply, failed, f"{what}…")

    def _show_diff(self) -> None:
        """Show the current file's diff (computed and formatted on the git thread; a newer request wins)."""
        self._diff_ticket += 1
        item = self.files.currentItem()
        if item is None:
            self.diff_view.setHtml("<p><i>Nothing to commit: the working tree is clean.</i></p>")
            return
        path = item.data(Qt.ItemDataRole.UserRole)
        base: DiffBase = "staged" if item.checkState() == Qt.CheckState.Checked else "head"
        repo, wanted = self.repo, self._diff_ticket

        def shown(result: object) -> None:
            if wanted == self._diff_ticket:
                self.diff_view.setHtml(str(result))

        def failed(text: str) -> None:
            if wanted == self._diff_ticket:
                self.diff_view.setHtml(f"<p>{html.escape(text)}</p>")

        colours = diff_colours()  # chosen here: the pool thread must not read the palette
        self._submit(lambda: unified_diff_html(diff_file(repo, path, base), colours), "Reading the diff", shown, failed)

    # -- message --------------------------------------------------------------------

    def _show_notice(self, text: str | None) -> None:
        self.notice.setText(html.escape(text or ""))
        self.notice.setVisible(bool(text))

    def write_message(self) -> None:
        """Ask the model for a message from the staged diff, streamed into the box (Stop ends it)."""
        model = self.model()
        if model is None or not model.ready():
            self._show_notice("Load a model first (Model ▸ Open GGUF model…), then ask it to write the message.")
            return
        self.write_button.setEnabled(False)
        self.write_button.setText("Writing…")
        self._show_notice(None)

        def got_diff(result: object) -> None:
            diff = str(result)
            if not diff.strip():
                self._on_message_failed("Nothing is staged; tick the files to commit first.")
                return
            budget = self.budget()

            def work(token: TaskToken) -> CommitMessage:
                token.on_cancel(model.stop)  # Stop, or the dialog closing
                return stream_message(model, diff, token.report, budget=budget)

            self.message.setPlainText("")
            self.message.setReadOnly(True)  # the model is typing here; the rest of the dialog stays usable
            self.stop_button.show()
            self._writing = self.model_tasks.submit(
                work,
                on_result=self._on_message,
                on_error=lambda err: self._on_message_failed(failure_text(err, "Writing the commit message")),
                on_cancelled=lambda: self._on_message_failed("Stopped; the message so far is kept."),
                on_progress=self._on_partial,
            )

        self._submit(
            lambda: staged_diff(self.repo),
            "Reading the staged diff",
            got_diff,
            self._on_message_failed,
        )

    def _on_partial(self, text: object) -> None:
        """The answer so far, streamed into the box as the model writes it."""
        self.message.setPlainText(str(text))
        self.message.moveCursor(QTextCursor.MoveOperation.End)

    def stop_writing(self) -> None:
        """Stop the model; what it wrote so far stays in the box."""
        if self._writing is not None:
            self._writing.cancel()

    def _on_message(self, message: CommitMessage) -> None:
        self.message.setPlainText(message.text.rstrip("\n"))
        self._show_notice(message.notice)
        self._writing_done()

    def _on_message_failed(self, text: str) -> None:
        self._show_notice(text)
        self._writing_done()

    def _writing_done(self) -> None:
        self._writing = None
        self.message.setReadOnly(False)
        self.stop_button.hide()
        self.write_button.setText("Write with AI")
        self._update_buttons()

    # -- commit -------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        summary = self.message.toPlainText().split("\n", 1)[0]
        over = len(summary) > SUMMARY_LIMIT
        self.summary_hint.setText(
            f"<span style='color:{diff_colours().danger}'>summary {len(summary)}/{SUMMARY_LIMIT}</span>"
            if over
            else f"summary {len(summary)}/{SUMMARY_LIMIT}"
        )
        state = self.state
        if state is None:  # the first status read has not answered yet
            self.commit_button.setEnabled(False)
            self.write_button.setEnabled(False)
            return
        staged = self._staged or state.merging
        can = state.can_commit and staged and bool(self.message.toPlainText().strip()) and not self._busy
        self.commit_button.setEnabled(can)
        if not state.can_commit:
            self.commit_button.setToolTip("Resolve the merge conflicts first.")
        elif not staged:
            self.commit_button.setToolTip("Stage at least one file.")
        elif self._busy:
            self.commit_button.setToolTip("Wait until staging is done.")
        else:
            self.commit_button.setToolTip("")
        writing = self.write_button.text() != "Write with AI"
        self.write_button.setEnabled(
            not self.model_tasks.busy and not writing and not self._busy and state.can_commit and staged
        )

    def do_commit(self) -> None:
        """Commit the staged files with the message as written."""
        if self._busy:
            return  # the button is disabled then; a queued staging job must land first
        try:
            commit_id = commit(self.repo, self.message.toPlainText())
        except QuillpadError as err:
            self._show_notice(str(err))
            self.refresh()
            return
        self.committed.emit(commit_id)
        self.accept()

    def stop(self) -> None:
        """End all work (idempotent): queued git jobs are dropped, running ones are waited for."""
        self._closed = True
        model = self.model()
        if self.model_tasks.busy and model is not None:
            model.stop()
        self.git_tasks.shutdown(30_000)
        self.model_tasks.shutdown(30_000)
        self._busy.clear()

    def done(self, result: int) -> None:
        self.stop()
        super().done(result)
