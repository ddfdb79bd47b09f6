"""The ways a project folder can be watched, behind one small interface.

In order of preference (``default_mechanisms``):

- ``inotify`` (Linux): ``InotifyTree``, one watch per kept folder, none
  inside ignored trees, through the ``inotify_simple`` binding;
- ``native``: watchdog's default observer for the platform (inotify,
  FSEvents, ReadDirectoryChangesW), recursive on the root: it also watches
  inside ignored trees, so on Linux it is only the fallback;
- ``polling``: watchdog's polling observer, listing folders every
  ``poll_interval`` seconds without entering ignored ones or following links.

Each turns file-system events into ``changed(absolute path, is_dir)`` calls
(a move becomes two), reports lost events through ``on_overflow`` and a watch
limit reached after starting through ``on_limit``; ``start`` raises
``WatchLimitError`` when the limit is hit at once. ``watch_extra`` watches one
more private folder, which is how the watcher proves that a mechanism
delivers events (see ``watcher``). Only watchdog's public API is used.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import watchdog.events
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
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserverVFS

from app.core.project import inotify_tree
from app.core.project.inotify_tree import InotifyTree, TreeOptions, WatchLimitError

log = logging.getLogger(__name__)

_IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})
# watchdog 7.1.1 reports lost events (a kernel queue overflow) as a public EventsLostEvent; 7.1.0 has none.
_EVENTS_LOST: type[FileSystemEvent] | None = getattr(watchdog.events, "EventsLostEvent", None)
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
    *([_EVENTS_LOST] if _EVENTS_LOST is not None else []),
]


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class MechanismOptions:
    """What every mechanism is told: the root, where events go, what to leave out, the limits."""

    root: str
    changed: Callable[[str, bool], None]  # absolute path, is it a folder
    prune: Callable[[str], bool]  # absolute folder path -> ignored (do not watch inside)
    listdir: Callable[[str | None], Iterator[os.DirEntry[str]]]  # for polling: entries to look at
    max_watches: int | None = None
    poll_interval: float = 1.0
    on_limit: Callable[[], None] = _nothing
    on_overflow: Callable[[], None] = _nothing


class Mechanism(Protocol):
    """One way of watching a folder (see the module docstring)."""

    name: str
    description: str  # for notices: "Quillpad's inotify watcher"

    def start(self) -> None:
        """Begin watching; raises ``WatchLimitError`` (limit reached) or ``OSError`` (cannot watch)."""

    def stop(self) -> None:
        """End watching and its threads (idempotent)."""

    def watch_extra(self, folder: str) -> None:
        """Also report events in ``folder`` (not recursive, nothing pruned)."""

    def unwatch_extra(self, folder: str) -> None:
        """Stop reporting events in a folder given to ``watch_extra``."""


MechanismFactory = Callable[[MechanismOptions], Mechanism]


class InotifyMechanism:
    """``InotifyTree`` on the project root."""

    name = "inotify"
    description = "Quillpad's inotify watcher"

    def __init__(self, options: MechanismOptions) -> None:
        self.tree = InotifyTree(
            options.root,
            TreeOptions(
                changed=options.changed,
                prune=options.prune,
                max_watches=options.max_watches,
                on_limit=options.on_limit,
                on_overflow=options.on_overflow,
            ),
        )

    def start(self) -> None:
        """See ``Mechanism``."""
        self.tree.start()

    def stop(self) -> None:
        """See ``Mechanism``."""
        self.tree.stop()

    def watch_extra(self, folder: str) -> None:
        """See ``Mechanism``."""
        self.tree.watch_extra(folder)

    def unwatch_extra(self, folder: str) -> None:
        """See ``Mechanism``."""
        self.tree.unwatch_extra(folder)


class _Handler(FileSystemEventHandler):
    def __init__(self, options: MechanismOptions) -> None:
        self._options = options

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._translate(event)
        except Exception:  # an odd event must not kill watchdog's dispatch thread
            log.exception("could not handle %r", event)

    def _translate(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind == "events_lost":
            self._options.on_overflow()
            return
        if kind in _IGNORED_EVENTS or (event.is_directory and kind == "modified"):
            return
        self._options.changed(os.fsdecode(event.src_path), event.is_directory)
        if kind == "moved" and event.dest_path:
            self._options.changed(os.fsdecode(event.dest_path), event.is_directory)


class WatchdogMechanism:
    """A watchdog observer scheduled recursively on the root."""

    def __init__(
        self, options: MechanismOptions, observer: Callable[[], BaseObserver], name: str, description: str
    ) -> None:
        self.name = name
        self.description = description
        self._options = options
        self._make_observer = observer
        self._observer: BaseObserver | None = None
        self._handler = _Handler(options)
        self._extra: dict[str, ObservedWatch] = {}

    def start(self) -> None:
        """See ``Mechanism``."""
        observer = self._make_observer()
        observer.start()
        try:
            observer.schedule(self._handler, self._options.root, recursive=True, event_filter=EVENT_FILTER)
        except OSError as err:
            self._halt(observer)
            if err.errno in (errno.ENOSPC, errno.EMFILE):
                raise WatchLimitError(err.errno, err.strerror or "watch limit reached", self._options.root) from err
            raise
        except BaseException:
            self._halt(observer)
            raise
        self._observer = observer

    def stop(self) -> None:
        """See ``Mechanism``."""
        observer, self._observer = self._observer, None
        self._extra.clear()
        if observer is not None:
            self._halt(observer)

    def watch_extra(self, folder: str) -> None:
        """See ``Mechanism``."""
        if self._observer is None:
            return
        try:
            self._extra[folder] = self._observer.schedule(
                self._handler, folder, recursive=False, event_filter=EVENT_FILTER
            )
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EMFILE):
                raise WatchLimitError(err.errno, err.strerror or "watch limit reached", folder) from err
            raise

    def unwatch_extra(self, folder: str) -> None:
        """See ``Mechanism``."""
        watch = self._extra.pop(folder, None)
        if watch is not None and self._observer is not None:
            self._observer.unschedule(watch)

    @staticmethod
    def _halt(observer: BaseObserver) -> None:
        observer.stop()
        if observer.is_alive():
            observer.join()


def native_mechanism(options: MechanismOptions) -> Mechanism:
    """watchdog's default observer for this platform."""
    from watchdog.observers import Observer

    return WatchdogMechanism(options, Observer, "native", "watchdog's standard observer")


def polling_mechanism(options: MechanismOptions) -> Mechanism:
    """watchdog's polling observer, listing folders through ``options.listdir``."""

    def observer() -> BaseObserver:
        return PollingObserverVFS(os.stat, options.listdir, polling_interval=options.poll_interval)

    return WatchdogMechanism(options, observer, "polling", "polling")


def inotify_mechanism(options: MechanismOptions) -> Mechanism:
    """``InotifyTree`` (Linux with ``inotify_simple``)."""
    return InotifyMechanism(options)


def default_mechanisms() -> list[MechanismFactory]:
    """The mechanisms to try on this platform, best first; polling is always last."""
    first: list[MechanismFactory] = [inotify_mechanism] if inotify_tree.AVAILABLE else []
    return [*first, native_mechanism, polling_mechanism]
