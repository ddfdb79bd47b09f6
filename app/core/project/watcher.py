"""Watching a project folder and handing its changes over in debounced batches.

watchdog reports file-system events; this turns them into relative paths,
drops ignored ones, and collects them until the folder has been quiet for
``debounce`` seconds (or ``max_delay`` has passed since the first one), then
hands the whole set to ``apply`` on its own thread. A ``git checkout``
touching thousands of files therefore becomes one batch. Batches that grow
huge, a changed ``.gitignore``, a lost-events overflow and the switch to
polling become one full check instead (``Batch.full``), which compares the
whole folder with the index by size and time.

On Linux the observer places no inotify watches inside ignored folders (see
``inotify_pruned``). When the system's watch limit is reached anyway, the
watcher falls back to polling every ``poll_interval`` seconds, again without
entering ignored folders, and says so once through ``on_notice``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from app.core.project import inotify_pruned
from app.core.project.ignore import IgnoreRules, is_rules_file
from app.core.project.inotify_pruned import PruneOptions, WatchLimitError

log = logging.getLogger(__name__)

DEFAULT_DEBOUNCE = 0.2
DEFAULT_MAX_DELAY = 2.0
DEFAULT_POLL_INTERVAL = 1.0
# Past this many pending paths a full check is cheaper than remembering them all.
MAX_PENDING_PATHS = 20_000
_IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})
# Only events that can change what is indexed. Reading a file or listing a folder (which the indexer itself
# does, thousands of times in a full check) must not produce events: they would fill the kernel's queue.
EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]

LIMIT_NOTICE = (
    "The system's limit on watched folders was reached, so Quillpad now checks this project for changes every "
    "{interval:g} seconds instead of at once; raising fs.inotify.max_user_watches restores instant updates."
)
ROOT_GONE_NOTICE = "The project folder {root} was deleted or moved; reopen it to use it as context again."


@dataclass
class Batch:
    """Changed paths (relative) since the last batch, or ``full`` for a check of everything."""

    files: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    full: bool = False
    rules_changed: bool = False
    root_gone: bool = False

    def __bool__(self) -> bool:
        return bool(self.files or self.dirs or self.full or self.root_gone)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: ProjectWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._watcher._on_event(event)
        except Exception:  # an odd event must not kill watchdog's dispatch thread
            log.exception("could not handle %r", event)


class ProjectWatcher:
    """Watches one project root; ``apply`` receives each debounced ``Batch`` on the watcher's thread."""

    def __init__(
        self,
        root: Path,
        rules: IgnoreRules,
        apply: Callable[[Batch], None],
        *,
        debounce: float = DEFAULT_DEBOUNCE,
        max_delay: float = DEFAULT_MAX_DELAY,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_watches: int | None = None,
        force_polling: bool = False,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.rules = rules
        self._apply = apply
        self.debounce = debounce
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.max_watches = max_watches
        self.force_polling = force_polling
        self._on_notice = on_notice
        self._root_str = os.fsdecode(root)
        self._cond = threading.Condition()
        self._pending = Batch()
        self._first_event = 0.0
        self._last_event = 0.0
        self._stopping = False
        self._limit_hit = False
        self._busy = False
        self._notified_limit = False
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None
        self.mode = "stopped"  # "inotify", "native", "polling" or "stopped"

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start watching (idempotent). Never raises for a watch limit: it polls instead."""
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
        self._observer = self._start_observer()
        self._thread = threading.Thread(target=self._run, name="quillpad-project-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the observer and the batch thread and wait for both (idempotent)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._stop_observer()
        self.mode = "stopped"

    def request_full_check(self) -> None:
        """Queue a check of the whole folder (for example right after starting)."""
        self._add(full=True)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being applied; False if that did not happen within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy or self._limit_hit:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    @property
    def running(self) -> bool:
        """Whether the batch thread is running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    # --- observers ------------------------------------------------------------------------------------------

    def _start_observer(self) -> BaseObserver:
        if not self.force_polling:
            try:
                observer, mode = self._native_observer()
                self._schedule(observer)
                self.mode = mode
                return observer
            except WatchLimitError:
                log.warning("inotify watch limit reached for %s; polling instead", self.root)
                self._announce_limit()
            except OSError as err:
                log.warning("cannot watch %s natively (%s); polling instead", self.root, err)
        observer = self._polling_observer()
        self._schedule(observer)
        self.mode = "polling"
        return observer

    def _native_observer(self) -> tuple[BaseObserver, str]:
        if sys.platform.startswith("linux") and inotify_pruned.AVAILABLE:
            options = PruneOptions(
                prune=self._prune,
                max_watches=self.max_watches,
                on_limit=self._watch_limit_later,
                on_overflow=self.request_full_check,
            )
            return inotify_pruned.PrunedInotifyObserver(options), "inotify"
        from watchdog.observers import Observer

        return Observer(), "native"

    def _polling_observer(self) -> BaseObserver:
        return PollingObserverVFS(os.stat, self._listdir, polling_interval=self.poll_interval)

    def _schedule(self, observer: BaseObserver) -> None:
        observer.start()
        try:
            observer.schedule(_Handler(self), self._root_str, recursive=True, event_filter=EVENT_FILTER)
        except BaseException:
            self._halt(observer)
            raise

    @staticmethod
    def _halt(observer: BaseObserver) -> None:
        observer.stop()
        if observer.is_alive():
            observer.join()

    def _stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            self._halt(observer)

    def _relative(self, path: str) -> str | None:
        if path.startswith(self._root_str) and path[len(self._root_str) : len(self._root_str) + 1] == os.sep:
            return path[len(self._root_str) + 1 :].replace(os.sep, "/")
        return None

    def _prune(self, path: bytes) -> bool:
        rel = self._relative(os.fsdecode(path))
        return rel is not None and self.rules.is_ignored(rel, is_dir=True)

    def _listdir(self, path: str | None) -> Iterator[os.DirEntry[str]]:
        """``os.scandir`` for the polling observer, leaving out links and ignored entries."""
        folder = path if path is not None else "."
        rel_dir = self._relative(folder)
        prefix = "" if rel_dir is None else rel_dir + "/"
        with os.scandir(folder) as entries:
            kept = []
            for entry in entries:
                try:
                    if entry.is_symlink():
                        continue
                    rel = prefix + entry.name
                    if entry.is_dir(follow_symlinks=False):
                        if self.rules.dir_ignored(rel):
                            continue
                    elif self.rules.file_ignored(rel):
                        continue
                except OSError:
                    continue
                kept.append(entry)
        return iter(kept)

    def _watch_limit_later(self) -> None:
        # Called on watchdog's reader thread: switching observers happens on ours.
        with self._cond:
            self._limit_hit = True
            self._cond.notify_all()

    def _announce_limit(self) -> None:
        if self._notified_limit:
            return
        self._notified_limit = True
        if self._on_notice is not None:
            self._on_notice(LIMIT_NOTICE.format(interval=self.poll_interval))

    def _switch_to_polling(self) -> None:
        self._stop_observer()
        self._announce_limit()
        try:
            observer = self._polling_observer()
            self._schedule(observer)
        except OSError:
            log.exception("cannot poll %s either", self.root)
            self.mode = "stopped"
            return
        self._observer = observer
        self.mode = "polling"
        self.request_full_check()  # events between the two observers were lost

    def _restart_observer(self) -> None:
        self._stop_observer()
        try:
            self._observer = self._start_observer()
        except OSError:
            log.exception("cannot watch %s again", self.root)
            self.mode = "stopped"

    # --- events ---------------------------------------------------------------------------------------------

    def _on_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind in _IGNORED_EVENTS or (event.is_directory and kind == "modified"):
            return
        paths = [event.src_path]
        if kind == "moved" and event.dest_path:
            paths.append(event.dest_path)
        files: set[str] = set()
        dirs: set[str] = set()
        full = rules_changed = root_gone = False
        for raw in paths:
            path = os.fsdecode(raw)
            if path == self._root_str:
                if kind in ("deleted", "moved") or not os.path.isdir(path):
                    root_gone = True
                continue
            rel = self._relative(path)
            if rel is None:
                continue
            if not event.is_directory and is_rules_file(rel):
                if self.rules.folder_reason(rel.rpartition("/")[0]) is None:
                    rules_changed = full = True
                continue
            if self.rules.is_ignored(rel, is_dir=event.is_directory):
                continue
            (dirs if event.is_directory else files).add(rel)
        if files or dirs or full or root_gone:
            self._add(files, dirs, full=full, rules_changed=rules_changed, root_gone=root_gone)

    def _add(
        self,
        files: set[str] | None = None,
        dirs: set[str] | None = None,
        *,
        full: bool = False,
        rules_changed: bool = False,
        root_gone: bool = False,
    ) -> None:
        with self._cond:
            pending = self._pending
            now = time.monotonic()
            if not pending:
                self._first_event = now
            self._last_event = now
            pending.full |= full
            pending.rules_changed |= rules_changed
            pending.root_gone |= root_gone
            if not pending.full:
                pending.files |= files or set()
                pending.dirs |= dirs or set()
                if len(pending.files) + len(pending.dirs) > MAX_PENDING_PATHS:
                    pending.full = True
            if pending.full:
                pending.files.clear()
                pending.dirs.clear()
            self._cond.notify_all()

    # --- the batch thread -----------------------------------------------------------------------------------

    def _next_batch(self) -> Batch | None:
        """Wait for a quiet moment after some changes; None when stopping."""
        with self._cond:
            while True:
                if self._stopping:
                    return None
                if self._limit_hit:
                    return Batch()  # an empty batch: the loop switches observers
                if self._pending:
                    now = time.monotonic()
                    due = min(self._last_event + self.debounce, self._first_event + self.max_delay)
                    if now >= due:
                        batch, self._pending = self._pending, Batch()
                        self._busy = True
                        return batch
                    self._cond.wait(due - now)
                else:
                    self._cond.wait()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._handle(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _handle(self, batch: Batch) -> None:
        if self._limit_hit:
            with self._cond:
                self._limit_hit = False
            if self.mode != "polling":
                self._switch_to_polling()
            if not batch:
                return
        if batch.root_gone and self._on_notice is not None:
            self._on_notice(ROOT_GONE_NOTICE.format(root=self.root))
        if batch.rules_changed:
            self.rules.reload()
            if self.mode == "inotify":
                self._restart_observer()  # watches follow the rules: a folder may no longer be ignored
        try:
            self._apply(batch)
        except Exception:  # one failed batch must not end watching; the next full check repairs
            log.exception("could not apply changes in %s", self.root)
