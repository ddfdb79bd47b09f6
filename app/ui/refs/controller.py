"""The code-reference index in the window.

The index is opened and updated off the GUI thread through ``app.ui.tasks``
(a first build of a big environment takes minutes; the window stays usable
and checks answer from what is indexed so far). Checks of code blocks and
edits run on a second one-thread runner and come back on the GUI thread; no
worker touches a widget. Closing the window cancels an update between two
packages. While the local model writes a reply, a running update is paused.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.errors import QuillpadError
from app.core.paths import AppPaths
from app.core.refs import RefIndex, RefMatch, default_index_path, project_exclusions
from app.core.refs.background import update_in_background
from app.core.refs.store import IndexStats
from app.core.settings import RefsSettings
from app.ui.tasks import TaskRunner, TaskToken

log = logging.getLogger(__name__)


def describe_stats(stats: IndexStats) -> str:
    """One line about the index, for Settings and the status bar."""
    if not stats.sources:
        return "The code-reference index is empty."
    took = f", last update took {stats.build_seconds:.0f} s" if stats.build_seconds else ""
    return (
        f"{stats.sources} packages and folders, {stats.files:,} files, {stats.tokens / 1e6:.1f} M tokens, "
        f"{stats.size_bytes / 1e6:.0f} MB on disk{took}."
    )


class RefsController(QObject):
    """Owns the index for the window."""

    notice = Signal(str)
    progress = Signal(str)  # status-bar text while updating ("" when done)
    statsChanged = Signal(str)  # describe_stats of the index after an update

    def __init__(self, paths: AppPaths, settings: Callable[[], RefsSettings], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self.settings = settings
        self.project: Path | None = None
        self.cancel_event = threading.Event()
        self.pause_event = threading.Event()  # set while the local model writes a reply
        self.update_tasks = TaskRunner(self)
        self.check_tasks = TaskRunner(self)
        self._index: RefIndex | None = None
        self._lock = threading.Lock()
        self._updating = False
        self._again = False
        self._requests: dict[int, Callable[[list[RefMatch]], None]] = {}
        self._next_request = 0
        self.status = ""

    @property
    def enabled(self) -> bool:
        return self.settings().enabled

    def open_index(self) -> RefIndex:
        """The index, opened on first use (from any thread)."""
        with self._lock:
            if self._index is None:
                folders = [Path(folder).expanduser() for folder in self.settings().folders]
                self._index = RefIndex(default_index_path(self.paths), folders=folders, project=self.project)
            else:
                self._index.folders = tuple(Path(folder).expanduser() for folder in self.settings().folders)
            return self._index

    # -- updating -------------------------------------------------------------

    def start_update(self, project: Path | None = None) -> None:
        """Bring the index up to date in the background (again after the current update, if one runs)."""
        if project is not None:
            self.project = project
        if not self.enabled:
            return
        if self._updating:
            self._again = True
            return
        self._updating = True
        self.cancel_event.clear()
        project = self.project
        self.update_tasks.submit(
            lambda token: self._update(project, token),
            on_result=lambda outcome: self._on_finished(*outcome),
            on_progress=lambda report: self._on_progress(*report),
        )

    def _update(self, project: Path | None, token: TaskToken) -> tuple[IndexStats | None, str]:
        """Update the index in a low-priority child (waiting off the GUI thread): its stats and a notice."""
        try:
            index = self.open_index()  # the window's own connection, for checks meanwhile
            outcome = update_in_background(
                default_index_path(self.paths),
                index.folders,
                project,
                progress=lambda p: token.report((p.done, p.total, p.current)),
                cancelled=self.cancel_event.is_set,
                paused=self.pause_event.is_set,
            )
            index.store.forget_cached()  # the child may have replaced files, reusing their ids
        except Exception as err:  # a sentence for the user, the traceback for the log
            log.exception("updating the code-reference index failed")
            return None, f"Updating the code-reference index failed ({err}); see the log file."
        return outcome.stats, outcome.notice

    def hold_for_reply(self, held: bool) -> None:
        """Pause a running update while the local model writes a reply (and resume it after).

        The update already runs at idle priority; see ``update_in_background``
        for why that is not enough while llama.cpp decodes on every core.
        """
        if held:
            self.pause_event.set()
        else:
            self.pause_event.clear()

    @property
    def updating(self) -> bool:
        return self._updating

    def caveat(self) -> str:
        """Why a "no match" may say little right now ("" when the index is complete)."""
        if self._updating:
            return "The code-reference index is still being built, so matches may be missing."
        try:
            built = bool(self.open_index().store.sources())  # a few rows: quick on the GUI thread
        except (sqlite3.Error, QuillpadError):
            built = False
        if not built:
            return "The code-reference index has not been built yet (it starts shortly after the window opens)."
        return ""

    def _on_progress(self, done: int, total: int, current: str) -> None:
        if current:
            self.progress.emit(f"Indexing installed code for code references: {done + 1}/{total} {current}")

    def _on_finished(self, stats: IndexStats | None, notice: str) -> None:
        self._updating = False
        self.progress.emit("")
        if notice:
            self.notice.emit(notice)
        if stats is not None:
            self.status = describe_stats(stats)
            self.statsChanged.emit(self.status)
        if self._again and not self.cancel_event.is_set():
            self._again = False
            self.start_update()

    # -- checking ---------------------------------------------------------------

    def check_now(self, text: str, *, language: str | None = None, filename: str | None = None) -> list[RefMatch]:
        """Matches of ``text`` (on the calling thread; quick, but not for the GUI thread with big text)."""
        if not self.enabled:
            return []
        index = self.open_index()
        return index.check(
            text,
            language=language,
            filename=filename,
            exclusions=project_exclusions(self.project),
            min_tokens=self.settings().min_tokens,
        )

    def check(
        self,
        text: str,
        done: Callable[[list[RefMatch]], None],
        *,
        language: str | None = None,
        filename: str | None = None,
    ) -> None:
        """Check ``text`` off the GUI thread; ``done(matches)`` is called on the GUI thread."""
        if not self.enabled:
            return
        self._next_request += 1
        request = self._next_request
        self._requests[request] = done

        def failed(err: BaseException) -> None:
            log.error("checking code against the index failed", exc_info=err)
            self._on_checked(request, [])

        self.check_tasks.submit(
            lambda token: self.check_now(text, language=language, filename=filename),
            on_result=lambda matches: self._on_checked(request, matches),
            on_error=failed,
        )

    def _on_checked(self, request: int, matches: list[RefMatch]) -> None:
        done = self._requests.pop(request, None)
        if done is not None:
            done(matches)

    def forget(self, done: Callable[[list[RefMatch]], None]) -> None:
        """Drop pending answers for ``done`` (its widget is going away)."""
        for request, callback in list(self._requests.items()):
            if callback == done:
                del self._requests[request]

    def shutdown(self) -> None:
        """Stop the update between two packages, wait for workers, close the index; idempotent."""
        self.cancel_event.set()
        self._again = False
        self._requests.clear()
        self.update_tasks.shutdown(60_000)
        self.check_tasks.shutdown(10_000)
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
