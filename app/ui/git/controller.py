"""Git in the window: status marks in the file tree, the branch in the status
bar, the Git menu (diffs, commit dialog, initialise), and the checkpoints
taken before every AI edit with their undo.

Status is read on a pool thread, never on the GUI thread, and only when
something happened: the project watcher reported changed files, an AI edit
was applied, a git action ran here, or the app came back to the foreground
(a commit made in a terminal changes nothing the watcher sees). Bursts are
merged by a short debounce timer. Without a git program the git features
are hidden with one notice; checkpoints then use the app's own store.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu

from app.core.edits.commit import AppliedChange
from app.core.edits.proposal import EditProposal
from app.core.engine import Engine
from app.core.engine.model_client import EngineModelClient, ModelClient
from app.core.errors import QuillpadError
from app.core.git import (
    GIT_MISSING,
    CheckpointStore,
    GitRepo,
    RepoState,
    StatusMap,
    diff_budget,
    find_repository,
    git_available,
    init_repository,
    read_status,
)
from app.core.git.access import RepoGitAccess
from app.core.git.ai_edits import checkpoint_before_apply, commit_applied
from app.core.git.checkpoints import GitBackend, RestoreResult
from app.core.git.provenance import model_settings, provenance_trailer
from app.core.paths import AppPaths
from app.core.plugins.context import PluginHost
from app.core.remote import RemoteBackend
from app.core.settings import Settings
from app.ui.editor.folder_view import FolderView
from app.ui.editor.tabs import EditorTabs
from app.ui.git.ai_changes_dialog import AIChangesDialog
from app.ui.git.commit_dialog import CommitDialog
from app.ui.git.diff_view import GitDiffDialog
from app.ui.tasks import TaskRunner, failure_text

log = logging.getLogger(__name__)
DEBOUNCE_MS = 250


def _read_state_and_status(repo: GitRepo) -> tuple[RepoState, StatusMap]:
    """What the window shows of the repository (blocking: git runs)."""
    return repo.state(), StatusMap(read_status(repo))


class GitController(QObject):
    """The project folder's repository (if any) and the AI edits' checkpoints."""

    notice = Signal(str)
    stateChanged = Signal(object)  # RepoState, or None outside a repository
    statusChanged = Signal()

    def __init__(
        self,
        window: QMainWindow,
        paths: AppPaths,
        host: PluginHost,
        tabs: EditorTabs,
        tree: FolderView,
        settings: Callable[[], Settings],
        save_settings: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.paths = paths
        self.host = host
        self._commit_client: EngineModelClient | None = None
        self.tabs = tabs
        self.tree = tree
        self.settings = settings
        self.save_settings = save_settings
        self.folder: Path | None = None
        self.repo: GitRepo | None = None
        self.state: RepoState | None = None
        self.status: StatusMap | None = None
        self._stores: dict[str, CheckpointStore] = {}
        self._generation = 0
        self._commit_dialog: CommitDialog | None = None
        self.tasks = TaskRunner(self)  # one thread: status reads land in order
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.refresh)
        self.branch_label = QLabel("", window)
        self.branch_label.setToolTip("The git branch of the open folder")
        self.branch_label.hide()
        window.statusBar().addPermanentWidget(self.branch_label)
        self._build_menu(window)
        tree.diffRequested.connect(self.show_file_diff)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._on_application_state)

    # -- menu ----------------------------------------------------------------------

    def _build_menu(self, window: QMainWindow) -> None:
        self.menu = QMenu("&Git", window)
        window.menuBar().addMenu(self.menu)

        def action(text: str, slot: Callable[[], object]) -> QAction:
            item = QAction(text, self.menu)
            item.triggered.connect(lambda _checked=False: slot())
            self.menu.addAction(item)
            return item

        self.diff_file_action = action("Diff of current file…", self.show_file_diff)
        self.diff_tree_action = action("Diff of working tree…", self.show_tree_diff)
        self.commit_action = action("Commit…", self.open_commit_dialog)
        self.refresh_action = action("Refresh status", self.refresh)
        self.menu.addSeparator()
        self.undo_action = action("Undo last AI change", self.undo_last)
        self.changes_action = action("AI changes…", self.show_ai_changes)
        self.auto_commit_action = action("Commit AI edits automatically", self._toggle_auto_commit)
        self.auto_commit_action.setCheckable(True)
        self.auto_commit_action.setChecked(self.settings().git.auto_commit_ai_edits)
        self.menu.addSeparator()
        self.init_action = action("Initialise repository", self.initialise)
        self._update_actions()

    def _update_actions(self) -> None:
        in_repo = self.repo is not None
        for item in (self.diff_file_action, self.diff_tree_action, self.commit_action, self.refresh_action):
            item.setVisible(in_repo)
        self.auto_commit_action.setVisible(in_repo)
        self.init_action.setVisible(self.folder is not None and not in_repo and git_available())
        self.commit_action.setEnabled(in_repo)
        has_folder = self.folder is not None
        self.undo_action.setEnabled(has_folder)
        self.changes_action.setEnabled(has_folder)

    def _toggle_auto_commit(self) -> None:
        self.settings().git.auto_commit_ai_edits = self.auto_commit_action.isChecked()
        self.save_settings()

    # -- folder and status ---------------------------------------------------------

    def open(self, folder: str) -> None:
        """Use ``folder``'s repository (if it is in one) from now on."""
        self.close()
        self.folder = Path(folder)
        if not git_available():
            self.notice.emit(GIT_MISSING)
        else:
            try:
                self.repo = find_repository(folder)
            except QuillpadError as err:
                self.notice.emit(str(err))
            except Exception as err:  # gitpython's own errors: a sentence for the user, the traceback for the log
                log.exception("opening the repository failed")
                self.notice.emit(f"Git could not read the repository of {folder} ({err}); git features are off.")
        if self.repo is not None:
            self.host.git = RepoGitAccess(self.repo)
            self.refresh()
        else:
            self.branch_label.hide()
            self.stateChanged.emit(None)
        self._update_actions()

    def close(self) -> None:
        """Forget the folder (idempotent); running status reads end first."""
        self._generation += 1
        self.timer.stop()
        dialog, self._commit_dialog = self._commit_dialog, None
        if dialog is not None:  # its git thread works on the repository being closed
            dialog.reject()
        self.tasks.cancel_all()
        self.tasks.wait(30_000)
        if self.repo is not None:
            self.repo.repo.close()  # gitpython's long-lived cat-file processes
        for store in self._stores.values():
            if isinstance(store.backend, GitBackend) and store.backend.repo is not self.repo:
                store.backend.repo.repo.close()
        self._stores.clear()
        self.folder = self.repo = self.state = self.status = None
        self.host.git = None
        self.tree.set_git_status(None, None)
        self.branch_label.hide()
        self._update_actions()

    def shutdown(self) -> None:
        self.close()

    def schedule_refresh(self, *_args: object) -> None:
        """Read the status again soon (bursts of events become one read)."""
        if self.repo is not None:
            self.timer.start()

    def _on_application_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.schedule_refresh()

    def refresh(self) -> None:
        """Read state and status on the pool thread."""
        if self.repo is None:
            return
        self._generation += 1
        repo, generation = self.repo, self._generation
        self.tasks.submit(
            lambda token: _read_state_and_status(repo),
            on_result=lambda result: self._on_status(generation, *result),
            on_error=lambda err: self._on_status_failed(generation, failure_text(err, "Reading the git status")),
        )

    def _on_status(self, generation: int, state: RepoState, status: StatusMap) -> None:
        if generation != self._generation or self.repo is None:
            return  # a newer read is coming, or the folder was closed
        self.state, self.status = state, status
        self.tree.set_git_status(str(self.repo.root), status)
        self.branch_label.setText(f"⎇ {state.label()}")
        self.branch_label.show()
        self.commit_action.setEnabled(True)
        self.stateChanged.emit(state)
        self.statusChanged.emit()

    def _on_status_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.notice.emit(message)

    # -- git actions -------------------------------------------------------------------

    def initialise(self) -> None:
        """Make the open folder a repository."""
        if self.folder is None:
            return
        try:
            init_repository(self.folder)
        except QuillpadError as err:
            self.notice.emit(str(err))
            return
        self.open(str(self.folder))
        self.notice.emit(f"Initialised a git repository in {self.folder}.")

    def show_file_diff(self, path: str | None = None) -> GitDiffDialog | None:
        """The current file's diff against HEAD (the dialog offers the index and staged too)."""
        path = path or self.tabs.current_path()
        if self.repo is None:
            return None
        if not path:
            self.notice.emit("Open a file of the repository first, then ask for its diff.")
            return None
        try:
            self.repo.relative(path)
        except QuillpadError as err:
            self.notice.emit(str(err))
            return None
        dialog = GitDiffDialog(self.repo, path, "head", self.window)
        dialog.open()
        return dialog

    def show_tree_diff(self) -> GitDiffDialog | None:
        """The whole working tree's diff."""
        if self.repo is None:
            return None
        dialog = GitDiffDialog(self.repo, None, "head", self.window)
        dialog.open()
        return dialog

    def _backend(self) -> object | None:
        """The backend replies come from now (local engine or model server)."""
        model = self.host.model
        return model.owner.backend if isinstance(model, EngineModelClient) else None

    def _commit_model(self) -> ModelClient | None:
        """The commit dialog's own client: its Stop ends its message only, never the chat's reply."""
        model = self.host.model
        if not isinstance(model, EngineModelClient):
            return model
        if self._commit_client is None or self._commit_client.owner is not model.owner:
            self._commit_client = EngineModelClient(model.owner, lambda: model.defaults, purpose="commit message")
        return self._commit_client

    def _engine(self) -> Engine | None:
        """The local engine when it is the one in use (it knows the model file and context)."""
        backend = self._backend()
        return backend if isinstance(backend, Engine) else None

    def _budget(self) -> int:
        engine = self._engine()
        loaded = engine.loaded if engine is not None else None
        return diff_budget(loaded.context_length - 300 if loaded is not None else None)

    def open_commit_dialog(self) -> CommitDialog | None:
        """Stage, write the message (by hand or by the model), commit."""
        if self.repo is None:
            return None
        dialog = CommitDialog(self.repo, self._commit_model, self._budget, self.window)
        dialog.committed.connect(lambda commit_id: self.notice.emit(f"Committed {commit_id[:7]}."))
        dialog.finished.connect(lambda _result: self._commit_dialog_closed(dialog))
        self._commit_dialog = dialog
        dialog.open()
        return dialog

    def _commit_dialog_closed(self, dialog: CommitDialog) -> None:
        if self._commit_dialog is not dialog:
            return  # closed along with the folder: nothing to refresh
        self._commit_dialog = None
        self.refresh()

    # -- checkpoints and AI edits --------------------------------------------------------

    def store_for(self, root: Path | None = None) -> CheckpointStore | None:
        """The checkpoints of ``root`` (default: the open folder)."""
        root = root or self.folder
        if root is None:
            return None
        key = os.path.realpath(root)
        store = self._stores.get(key)
        if store is None:
            if self.repo is not None and (Path(key) == self.repo.root or self.repo.root in Path(key).parents):
                store = CheckpointStore(self.repo.root, GitBackend(self.repo))
            else:
                store = CheckpointStore.for_folder(root, self.paths.data_dir)
            self._stores[key] = store
        return store

    def _model_name(self) -> str | None:
        backend = self._backend()
        if isinstance(backend, RemoteBackend):
            remote = backend.connected
            return remote.display_name if remote is not None else None
        engine = self._engine()
        loaded = engine.loaded if engine is not None else None
        return Path(loaded.info.path).name if loaded is not None else None

    def before_apply(self, proposal: EditProposal, accepted: dict[str, set[int]]) -> None:
        """Checkpoint the files an AI edit is about to change; raising refuses the edit."""
        store = self.store_for(proposal.root or self.folder)
        if store is None:
            paths = [c.path for c in proposal.changes if c.path is not None]
            if not paths:
                return  # only unsaved buffers: the editor's own undo covers them
            store = self.store_for(paths[0].parent)
            assert store is not None
        try:
            checkpoint_before_apply(store, proposal, accepted, self._model_name(), self.tabs.unsaved_texts())
        except QuillpadError as err:
            raise QuillpadError(f"{err} The edit was not applied, so it can still be undone safely later.") from None

    def after_apply(self, applied: tuple[AppliedChange, ...]) -> None:
        """Refresh the marks; commit the edit when the setting says so."""
        self.schedule_refresh()
        if not self.settings().git.auto_commit_ai_edits or self.repo is None:
            return
        for change in applied:
            if change.path is not None and not self.tabs.save_path(str(change.path)):
                self.notice.emit(f"{change.key} could not be saved, so the AI edit was not committed.")
                return
        try:
            commit_id = commit_applied(self.repo, applied, self.trailer())
        except QuillpadError as err:
            self.notice.emit(f"The AI edit was applied but not committed: {err}")
            return
        if commit_id:
            self.notice.emit(f"Committed the AI edit as {commit_id[:7]}.")

    def trailer(self) -> str:
        """The provenance trailer for the loaded model and the current settings."""
        engine = self._engine()
        loaded = engine.loaded if engine is not None else None
        settings = self.settings().engine
        values = model_settings(
            loaded.profile if loaded is not None else None,
            settings.sampling.model_dump(),
            thinking=settings.thinking,
            seed=settings.seed,
            context_length=loaded.context_length if loaded is not None else None,
        )
        return provenance_trailer(loaded.info.path if loaded is not None else self._model_name(), values)

    def undo_last(self) -> RestoreResult | None:
        """Put back the files of the newest AI change not undone yet."""
        store = self.store_for()
        if store is None:
            self.notice.emit("Open the project folder first; AI changes are kept per folder.")
            return None
        try:
            result = store.undo_last(self.tabs.unsaved_texts())
        except QuillpadError as err:
            self.notice.emit(str(err))
            return None
        self._after_restore(store, result)
        return result

    def show_ai_changes(self) -> AIChangesDialog | None:
        """The list of AI changes; undo the chosen one (and later ones)."""
        store = self.store_for()
        if store is None:
            self.notice.emit("Open the project folder first; AI changes are kept per folder.")
            return None
        try:
            changes = store.ai_changes()
        except QuillpadError as err:
            self.notice.emit(str(err))
            return None
        dialog = AIChangesDialog(changes, str(store.root), self.window)
        dialog.accepted.connect(lambda: self.restore(dialog.chosen) if dialog.chosen else None)
        dialog.open()
        return dialog

    def restore(self, checkpoint_id: str) -> RestoreResult | None:
        """Undo the AI change ``checkpoint_id`` and every later one."""
        store = self.store_for()
        if store is None:
            return None
        try:
            result = store.restore(checkpoint_id, self.tabs.unsaved_texts())
        except QuillpadError as err:
            self.notice.emit(str(err))
            return None
        self._after_restore(store, result)
        return result

    def _after_restore(self, store: CheckpointStore, result: RestoreResult) -> None:
        # A file whose tab had unsaved text before the AI edit gets that text back (its tab
        # reopened if it was closed since); the others show what is on disk again.
        # The unsaved texts first: their tabs then know the restored disk state, so closing
        # another tab (a file the AI created) does not ask whether to reload them.
        for rel, text in sorted(result.buffers.items()):
            self.tabs.restore_unsaved(str(store.root / rel), text)
        for rel in result.changed:
            if rel not in result.buffers:
                self.tabs.reload_path(str(store.root / rel))
        count = len(result.undone)
        what = "the last AI change" if count == 1 else f"{count} AI changes"
        files = ", ".join(result.changed[:4]) + (" …" if len(result.changed) > 4 else "")
        unsaved = ", ".join(sorted(result.buffers))
        back = f"; your unsaved text is back in {unsaved}" if unsaved else ""
        self.notice.emit(f"Undid {what}: {files} restored{back}.")
        self.schedule_refresh()
