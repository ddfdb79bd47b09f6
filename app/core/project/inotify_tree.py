"""Watching a folder tree with inotify, one watch per kept folder, through ``inotify_simple``.

inotify watches one folder per watch. This places a watch on the root and on
every folder below it that ``prune`` does not reject (so nothing inside a
``node_modules`` or a virtual environment uses up the system's watch limit),
never follows a symbolic link (a link loop or a link out of the project is
not entered), and adds and removes watches as folders appear, disappear and
move. One inotify file descriptor and one reader thread serve the whole tree.

Trouble is reported, never swallowed: running out of watches (the kernel's
``ENOSPC``, or our own ``max_watches``) raises ``WatchLimitError`` while the
tree is first watched and calls ``on_limit`` later; a kernel queue overflow
(events were lost) calls ``on_overflow``. A folder that cannot be watched
(no permission, gone while we walked) is skipped; a change of its mode is seen
on its parent, and the folder is watched once it can be.

Only public names of ``inotify_simple`` are used (``INotify``, ``flags``).
"""

from __future__ import annotations

import errno
import logging
import os
import select
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

try:
    from inotify_simple import INotify, flags

    AVAILABLE = sys.platform.startswith("linux")
except (ImportError, OSError):  # not Linux, or no usable libc
    AVAILABLE = False

if AVAILABLE:
    # What can change the index: content, creation, removal, renames, and mode (a folder made readable).
    WATCH_MASK = (
        flags.CREATE
        | flags.DELETE
        | flags.MODIFY
        | flags.CLOSE_WRITE
        | flags.ATTRIB
        | flags.MOVED_FROM
        | flags.MOVED_TO
        | flags.DELETE_SELF
        | flags.MOVE_SELF
        | flags.ONLYDIR
        | flags.DONT_FOLLOW
        | flags.EXCL_UNLINK
    )
    _DIR_APPEARED = flags.CREATE | flags.MOVED_TO
    _DIR_LEFT = flags.DELETE | flags.MOVED_FROM
    _SELF_GONE = flags.DELETE_SELF | flags.MOVE_SELF


class WatchLimitError(OSError):
    """The system's (or our own) limit on inotify watches was reached."""


def _never(path: str) -> bool:
    return False


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class TreeOptions:
    """Where to stop and whom to tell: ``changed(path, is_dir)`` gets every event's absolute path."""

    changed: Callable[[str, bool], None]
    prune: Callable[[str], bool] = _never  # absolute folder path -> do not watch it or anything below
    max_watches: int | None = None
    on_limit: Callable[[], None] = _nothing
    on_overflow: Callable[[], None] = _nothing


class InotifyTree:
    """Watches ``root`` and its kept folders until ``stop()`` (see the module docstring). Linux only."""

    def __init__(self, root: str, options: TreeOptions) -> None:
        self.root = os.path.normpath(root)
        self.options = options
        self._lock = threading.Lock()
        self._inotify: INotify | None = None
        self._dirs: dict[int, str] = {}  # watch descriptor -> absolute folder
        self._wds: dict[str, int] = {}  # absolute folder -> watch descriptor
        self._extra: set[str] = set()  # folders watched outside the tree (the probe), never pruned
        self._wake_read, self._wake_write = -1, -1
        self._thread: threading.Thread | None = None
        self._limit_reported = False

    @property
    def watch_count(self) -> int:
        """How many folders are watched now."""
        with self._lock:
            return len(self._wds)

    def start(self) -> None:
        """Watch the tree and start reading events. Raises ``WatchLimitError`` or ``OSError`` (root gone)."""
        self._inotify = INotify()
        try:
            self._add_tree(self.root, during_setup=True)
        except BaseException:
            self._inotify.close()
            self._inotify = None
            raise
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._read_loop, name="quillpad-inotify", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and drop every watch (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            os.write(self._wake_write, b"x")
            if thread is not threading.current_thread():
                thread.join()
            os.close(self._wake_read)
            os.close(self._wake_write)
            self._wake_read, self._wake_write = -1, -1
        inotify, self._inotify = self._inotify, None
        if inotify is not None:
            inotify.close()  # closing the descriptor removes all of its watches at once
        with self._lock:
            self._dirs.clear()
            self._wds.clear()
            self._extra.clear()

    def watch_extra(self, folder: str) -> None:
        """Also watch ``folder`` (not below the root, not pruned, not recursive): the probe uses it."""
        folder = os.path.normpath(folder)
        with self._lock:
            self._extra.add(folder)
        self._add_watch(folder, required=True, counted=False)

    def unwatch_extra(self, folder: str) -> None:
        """Stop watching a folder given to ``watch_extra``."""
        folder = os.path.normpath(folder)
        with self._lock:
            self._extra.discard(folder)
        self._remove_tree(folder)

    # --- watches --------------------------------------------------------------------------------------------

    def _add_tree(self, top: str, *, during_setup: bool = False) -> None:
        """Watch ``top`` and its kept folders (a new folder, or the root at start)."""
        if top != self.root and (os.path.islink(top) or self.options.prune(top)):
            return
        if not self._add_watch(top, required=during_setup and top == self.root):
            return
        pending = [top]
        while pending:
            folder = pending.pop()
            try:
                with os.scandir(folder) as entries:
                    children = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
            except OSError:
                continue  # gone or unreadable since it was watched: its parent's events tell the rest
            for child in children:
                if not self.options.prune(child) and self._add_watch(child):
                    pending.append(child)

    def _add_watch(self, folder: str, *, required: bool = False, counted: bool = True) -> bool:
        """Watch one folder; False when it cannot be (gone, not a folder, no permission).

        ``required``: raise instead of returning False; ``counted``: subject to ``max_watches`` (the probe's
        brief watch is not)."""
        inotify = self._inotify
        if inotify is None:
            return False
        limit = self.options.max_watches
        with self._lock:
            if folder in self._wds:
                return True
            if counted and limit is not None and len(self._wds) - len(self._extra) >= limit:
                raise WatchLimitError(errno.ENOSPC, "watch limit reached", folder)
        try:
            wd = inotify.add_watch(os.fsencode(folder), WATCH_MASK)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EMFILE):
                raise WatchLimitError(err.errno, err.strerror or "watch limit reached", folder) from err
            if required:
                raise
            log.debug("not watching %s: %s", folder, err)
            return False
        with self._lock:
            old = self._dirs.get(wd)
            if old is not None and old != folder:
                self._wds.pop(old, None)  # the same folder under a new name (a rename we saw late)
            self._dirs[wd] = folder
            self._wds[folder] = wd
        return True

    def _remove_tree(self, top: str) -> None:
        """Forget the watches of ``top`` and everything below it (it was deleted, moved or became ignored)."""
        prefix = top + os.sep
        with self._lock:
            gone = [(path, wd) for path, wd in self._wds.items() if path == top or path.startswith(prefix)]
            for path, wd in gone:
                del self._wds[path]
                self._dirs.pop(wd, None)
        inotify = self._inotify
        for _, wd in gone:
            try:
                if inotify is not None:
                    inotify.rm_watch(wd)
            except OSError:
                pass  # the kernel removed it already (the folder was deleted)

    def _resync(self) -> None:
        """Make the watches match the disk again after lost events: drop vanished folders, add new ones."""
        with self._lock:
            known = [path for path in self._wds if path not in self._extra]
        for path in known:
            if not os.path.isdir(path) or os.path.islink(path):
                self._remove_tree(path)
        self._add_tree(self.root)

    def _watched(self, folder: str) -> bool:
        with self._lock:
            return folder in self._wds

    # --- events ---------------------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        inotify = self._inotify
        if inotify is None:
            return
        poller = select.poll()
        poller.register(inotify.fileno(), select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if self._wake_read in ready:
                return
            try:
                events = inotify.read(timeout=0)
            except OSError:
                log.exception("reading inotify events failed")
                return
            for event in events:
                try:
                    self._handle(event.wd, event.mask, event.name)
                except WatchLimitError:
                    self._report_limit()
                except Exception:  # an odd event must not end watching
                    log.exception("could not handle inotify event %r", event)

    def _handle(self, wd: int, mask: int, name: str) -> None:
        if mask & flags.Q_OVERFLOW:
            self._resync()  # lost events may have been folders created or deleted
            self.options.on_overflow()
            return
        with self._lock:
            folder = self._dirs.get(wd)
            if folder is not None and mask & flags.IGNORED:  # the kernel dropped the watch (folder deleted)
                del self._dirs[wd]
                if self._wds.get(folder) == wd:
                    del self._wds[folder]
            extra = folder in self._extra
        if folder is None or mask & flags.IGNORED:
            return
        if mask & _SELF_GONE:
            if folder == self.root:
                self.options.changed(folder, True)  # the watcher checks whether the root still exists
            return  # any other folder's removal is reported by its parent
        path = os.path.join(folder, name) if name else folder
        is_dir = bool(mask & flags.ISDIR)
        if is_dir and not extra:
            if mask & _DIR_LEFT:
                self._remove_tree(path)
            elif mask & _DIR_APPEARED or (mask & flags.ATTRIB and not self._watched(path)):
                # A new folder, one moved in, or an unwatched one whose mode changed (it may be readable now).
                self._add_tree(path)
        elif not is_dir and mask & _DIR_APPEARED and folder != self.root and not extra and self.options.prune(folder):
            # A marker arrived (pyvenv.cfg): the folder became ignored, so stop watching inside it.
            self._remove_tree(folder)
        self.options.changed(path, is_dir)

    def _report_limit(self) -> None:
        if not self._limit_reported:
            self._limit_reported = True
            self.options.on_limit()
