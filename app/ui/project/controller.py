"""The open project in the window: indexing in the background, the watcher,
``@file`` completion, and the context attached to each message.

Indexing runs on a thread pool (the app stays usable, and search works on
what is indexed so far); the watcher's callbacks arrive on its own thread and
reach the GUI through a queued signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.core.errors import QuillpadError
from app.core.paths import AppPaths
from app.core.plugins.context import PluginHost
from app.core.plugins.project_access import ProjectAccessAdapter
from app.core.project import IndexStats, Project

log = logging.getLogger(__name__)

MAX_COMPLETIONS = 50


class _OpenSignals(QObject):
    progress = Signal(int, int)
    finished = Signal(object)  # IndexStats
    failed = Signal(str)


class _OpenJob(QRunnable):
    """Index (or catch up on) a project off the GUI thread."""

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        self.signals = _OpenSignals()

    def run(self) -> None:
        try:
            stats = self.project.open(progress=lambda done, total: self.signals.progress.emit(done, total))
        except QuillpadError as err:
            self.signals.failed.emit(str(err))
        except Exception as err:  # a sentence for the user, the traceback for the log
            log.exception("indexing failed")
            self.signals.failed.emit(f"Indexing the project failed unexpectedly ({err}); see the log file.")
        else:
            self.signals.finished.emit(stats)


class _RefreshJob(QRunnable):
    """Index files the editor just saved, off the GUI thread."""

    def __init__(self, project: Project, paths: list[str], done: Callable[[list[str]], None]) -> None:
        super().__init__()
        self.project = project
        self.paths = paths
        self.done = done  # called on the pool thread: it only emits a signal

    def run(self) -> None:
        try:
            self.done(self.project.refresh(self.paths))
        except Exception:  # the watcher catches up anyway; a save must not raise into the pool
            log.exception("indexing a saved file failed")


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
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._jobs: set[_OpenJob] = set()
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
        job = _OpenJob(project)
        job.setAutoDelete(False)
        self._jobs.add(job)
        job.signals.progress.connect(lambda done, total: self.progress.emit(f"Indexing {done:,}/{total:,} files…"))
        job.signals.finished.connect(lambda stats, j=job, p=project: self._on_indexed(j, p, stats))
        job.signals.failed.connect(lambda message, j=job: self._on_failed(j, message))
        self.progress.emit(f"Indexing {project.name}…")
        self.pool.start(job)
        self.opened.emit(str(project.root))
        return True

    def _on_indexed(self, job: _OpenJob, project: Project, stats: IndexStats) -> None:
        self._jobs.discard(job)
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

    def _on_failed(self, job: _OpenJob, message: str) -> None:
        self._jobs.discard(job)
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
            self.pool.start(_RefreshJob(project, [path], lambda changed: self.filesChanged.emit(list(changed))))

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
        self.pool.waitForDone(30_000)
        if project is not None:
            project.close()

    def shutdown(self) -> None:
        self.close()
