"""The open project in the window: indexing in the background, the watcher,
``@file`` completion, and the context attached to each message.

Indexing runs off the GUI thread through ``app.ui.tasks`` (the app stays
usable, and search works on what is indexed so far); the watcher's callbacks arrive on its own thread and
reach the GUI through a queued signal.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.errors import QuillpadError
from app.core.paths import AppPaths
from app.core.plugins.context import PluginHost
from app.core.plugins.project_access import ProjectAccessAdapter
from app.core.project import IndexStats, Project
from app.ui.tasks import TaskRunner, TaskToken, failure_text

log = logging.getLogger(__name__)

MAX_COMPLETIONS = 50


class ProjectController(QObject):
    """One project at a time; ``project`` is None when no folder is open."""

    notice = Signal(str)
    progress = Signal(str)  # status-bar text while indexing ("" when done)
    filesChanged = Signal(list)  # relative paths re-indexed after a change on disk
    opened = Signal(str)  # the root

    def __init__(self, paths: AppPaths, host: PluginHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self.host = host
        self.project: Project | None = None
        self.tasks = TaskRunner(self)  # indexing
        self.save_tasks = TaskRunner(self, threads=1)  # files the editor saved, in order
        self._files: list[str] = []
        self.filesChanged.connect(self._refresh_files)

    def open(self, folder: str) -> bool:
        """Open ``folder`` as the project (closing the previous one)."""
        try:
            project = Project(Path(folder), self.paths.data_dir)
        except QuillpadError as err:
            self.notice.emit(str(err))
            return False
        self.close()
        self.project = project
        self.host.project = ProjectAccessAdapter(project)

        def index(token: TaskToken) -> IndexStats:
            return project.open(progress=lambda done, total: token.report((done, total)))

        self.progress.emit(f"Indexing {project.name}…")
        self.tasks.submit(
            index,
            on_result=lambda stats: self._on_indexed(project, stats),
            on_error=lambda err: self._on_failed(failure_text(err, "Indexing the project")),
            on_progress=lambda counts: self.progress.emit(f"Indexing {counts[0]:,}/{counts[1]:,} files…"),
        )
        self.opened.emit(str(project.root))
        return True

    def _on_indexed(self, project: Project, stats: IndexStats) -> None:
        if project is not self.project:
            return  # another folder was opened meanwhile
        self.progress.emit("")
        self._refresh_files()
        skipped = stats.skipped_text()
        self.notice.emit(
            f"Indexed {project.name}: {stats.files:,} files, {stats.chunks:,} chunks in {stats.seconds:.1f} s"
            + (f"; left out: {skipped}." if skipped else ".")
        )
        try:
            project.start_watching(
                lambda changed: self.filesChanged.emit(list(changed)),
                on_notice=self.notice.emit,  # a queued signal: safe from the watcher thread
            )
        except QuillpadError as err:
            self.notice.emit(str(err))

    def _on_failed(self, message: str) -> None:
        self.progress.emit("")
        self.notice.emit(message)

    def _refresh_files(self, _changed: list[str] | None = None) -> None:
        self._files = self.project.files() if self.project is not None else []

    def complete_file(self, prefix: str) -> list[str]:
        """Project files for ``@`` completion: name matches first, then path matches."""
        needle = prefix.lower()
        by_name = [f for f in self._files if Path(f).name.lower().startswith(needle)]
        by_path = [f for f in self._files if needle in f.lower() and f not in by_name]
        return (by_name + by_path)[:MAX_COMPLETIONS]

    def file_saved(self, path: str) -> None:
        """The editor saved ``path``: make it searchable now rather than when the watcher notices."""
        project = self.project
        if project is not None and path and project.relative(path) is not None:
            # On failure the watcher catches up anyway; the error is only logged.
            self.save_tasks.submit(
                lambda _token: project.refresh([path]),
                on_result=lambda changed: self.filesChanged.emit(list(changed)),
                on_error=lambda _err: log.warning("indexing a saved file failed", exc_info=_err),
            )

    def note_opened(self, path: str) -> None:
        """The user switched to ``path`` in the editor: its chunks rank higher for a while."""
        if self.project is not None and path:
            self.project.note_file(path, "opened")

    def message_sent(self) -> None:
        """Start a new "changed since your last message" window."""
        if self.project is not None:
            self.project.mark_message_sent()

    def close(self) -> None:
        """Stop watching and let a running index job end (idempotent)."""
        project, self.project = self.project, None
        self.host.project = None
        self._files = []
        if project is not None:
            project.stop()
        for runner in (self.tasks, self.save_tasks):
            runner.cancel_all()  # what the stopped indexing reports is not shown
            runner.wait(30_000)
        if project is not None:
            project.close()

    def shutdown(self) -> None:
        self.close()
        self.save_tasks.shutdown()
        self.tasks.shutdown()
