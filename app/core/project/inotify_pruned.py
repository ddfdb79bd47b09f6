"""A watchdog inotify observer that never places watches inside ignored folders.

inotify watches one folder per watch, and watchdog's recursive inotify
emitter adds one for every folder below the root, including every folder of
a ``node_modules`` or a virtual environment: a big repository can use up the
system's watch limit (``fs.inotify.max_user_watches``) on trees that are
ignored anyway. This observer is watchdog's own, with the part that adds
watches replaced: it skips folders for which ``prune`` says yes, never
follows symbolic links, and stops at ``max_watches``.

Running out of watches raises ``WatchLimitError`` while the watch is being
set up; later (a new folder appears after the limit is reached) it calls
``on_limit`` instead, on watchdog's reader thread. A kernel queue overflow
(events were lost) calls ``on_overflow``.

This hooks into watchdog internals (``InotifyWatchGroup._add_all_callbacks``,
present since watchdog 6); ``AVAILABLE`` is False when they are not there,
and the caller then uses watchdog's default observer.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from watchdog.observers.api import DEFAULT_OBSERVER_TIMEOUT, BaseObserver

log = logging.getLogger(__name__)

try:
    from watchdog.observers.inotify import InotifyEmitter, InotifyWatchGroup
    from watchdog.observers.inotify_c import InotifyFD

    AVAILABLE = all(
        hasattr(InotifyWatchGroup, name) for name in ("_add_all_callbacks", "on_queue_overflow", "is_active")
    )
except Exception:  # not Linux, no usable libc, or another watchdog layout
    AVAILABLE = False


class WatchLimitError(OSError):
    """The system's (or our own) limit on inotify watches was reached."""


def _never(path: bytes) -> bool:
    return False


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class PruneOptions:
    """How the observer limits its watches, and whom it tells about trouble."""

    prune: Callable[[bytes], bool] = _never  # absolute folder path -> do not watch it or below
    max_watches: int | None = None
    on_limit: Callable[[], None] = _nothing
    on_overflow: Callable[[], None] = _nothing


if AVAILABLE:

    @dataclass
    class _PrunedWatchGroup(InotifyWatchGroup):
        options: PruneOptions = field(default_factory=PruneOptions)

        def _add_all_callbacks(self, path: bytes) -> None:
            try:
                self._add_tree(path)
            except WatchLimitError:
                if not self.is_active:
                    raise  # still setting up: the caller falls back to polling
                # A folder created later: we are on watchdog's reader thread, so only report it.
                self.options.on_limit()

        def _add_tree(self, path: bytes) -> None:
            if path != self.path and (os.path.islink(path) or self.options.prune(path)):
                return
            if not self._add_watch(path) or not self.is_recursive:
                return
            for root, dirnames, _ in os.walk(path, followlinks=False):
                kept = []
                for name in dirnames:
                    full = os.path.join(root, name)
                    if os.path.islink(full) or self.options.prune(full):
                        continue
                    if self._add_watch(full):
                        kept.append(name)
                dirnames[:] = kept

        def _add_watch(self, path: bytes) -> bool:
            limit = self.options.max_watches
            if limit is not None and len(self._active_callbacks_by_watch) >= limit:
                raise WatchLimitError(errno.ENOSPC, "watch limit reached", os.fsdecode(path))
            if path != self.path and not os.access(path, os.R_OK | os.X_OK):
                return False
            try:
                wd = self._inotify_fd.add_callback(path, self.event_mask, self._callback, self._id)
            except OSError as err:
                if err.errno in (errno.ENOSPC, errno.EMFILE):
                    raise WatchLimitError(err.errno, err.strerror or "watch limit reached", os.fsdecode(path)) from err
                if path == self.path:
                    raise
                return False  # vanished or became unreadable while we walked
            self._active_callbacks_by_path[path] = wd
            self._active_callbacks_by_watch[wd] = path
            return True

        def on_queue_overflow(self) -> None:
            super().on_queue_overflow()
            self.options.on_overflow()

    class _PrunedEmitter(InotifyEmitter):
        def __init__(self, *args: Any, options: PruneOptions, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._options = options

        def on_thread_start(self) -> None:
            self._inotify = _PrunedWatchGroup(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                event_mask=self.get_event_mask_from_filter(),
                is_recursive=self.watch.is_recursive,
                follow_symlink=False,
                options=self._options,
            )

    class PrunedInotifyObserver(BaseObserver):
        """watchdog's inotify observer with pruned recursion (see the module docstring)."""

        def __init__(self, options: PruneOptions, *, timeout: float = DEFAULT_OBSERVER_TIMEOUT) -> None:
            self._inotify_fd = InotifyFD()
            self._inotify_fd.start()
            super().__init__(_PrunedEmitter, timeout=timeout, inotify_fd=self._inotify_fd, options=options)

        def on_thread_stop(self) -> None:
            super().on_thread_stop()
            self._inotify_fd.stop()
            if self._inotify_fd.is_alive():
                self._inotify_fd.join()
