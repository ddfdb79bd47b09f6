"""Three ways to watch a big project tree, side by side (``quillpad bench context --compare-watchers``).

On a generated tree of ``folders`` kept folders plus ``ignored`` folders in a
``node_modules`` (Linux, inotify), each way is set up, then a file is written
``probes`` times in the deepest folder and the time until its event arrives
is taken. Reported: set-up time, inotify watches, threads, event latency, and
the ratios to our own inotify tree, which is the way the watcher prefers:

- our inotify tree (``InotifyTree``, pruned by the project's ignore rules);
- watchdog's public ``Observer.schedule(path, recursive=False)``, once for
  each kept folder (also pruned);
- watchdog's ``Observer`` scheduled once, recursive (not pruned).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver

from app.core.project import inotify_tree
from app.core.project.ignore import IgnoreRules
from app.core.project.inotify_tree import InotifyTree, TreeOptions

PROBE_NAME = "quillpad-compare-probe"


@dataclass(frozen=True)
class WatchWay:
    """How one way of watching did."""

    name: str
    setup_seconds: float
    watches: int
    threads: int
    latency_median: float
    latency_max: float
    missed: int  # probes whose event never came


def inotify_watches() -> int:
    """inotify watches held by this process, read from /proc."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
                total += sum(1 for line in info if line.startswith("inotify wd:"))
        except OSError:
            continue
    return total


def make_tree(root: Path, folders: int, ignored: int) -> Path:
    """``folders`` kept folders (100 per package) and ``ignored`` ones in ``node_modules``; the deepest kept one."""
    deepest = root
    for number in range(folders):
        deepest = root / f"pkg{number // 100}" / f"mod{number % 100}"
        deepest.mkdir(parents=True, exist_ok=True)
    for number in range(ignored):
        (root / "node_modules" / f"dep{number}").mkdir(parents=True, exist_ok=True)
    return deepest


def _kept(root: Path, rules: IgnoreRules) -> list[str]:
    found, pending = [str(root)], [""]
    while pending:
        rel = pending.pop()
        with os.scandir(root / rel if rel else root) as entries:
            for entry in entries:
                child = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False) and not rules.dir_ignored(child):
                    found.append(entry.path)
                    pending.append(child)
    return found


class _Probe:
    def __init__(self) -> None:
        self.seen = threading.Event()

    def path(self, path: str) -> None:
        if PROBE_NAME in path:
            self.seen.set()


class _Handler(FileSystemEventHandler):
    def __init__(self, probe: _Probe) -> None:
        self._probe = probe

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._probe.path(os.fsdecode(event.src_path))


def _latencies(folder: Path, probe: _Probe, count: int) -> tuple[list[float], int]:
    times, missed = [], 0
    for number in range(count):
        probe.seen.clear()
        started = time.perf_counter()
        (folder / f"{PROBE_NAME}{number}.txt").write_bytes(b"x")
        if probe.seen.wait(5.0):
            times.append(time.perf_counter() - started)
        else:
            missed += 1
        time.sleep(0.01)
    return times, missed


def _measure(name: str, start: Callable[[_Probe], Callable[[], None]], deepest: Path, probes: int) -> WatchWay:
    watches, threads = inotify_watches(), threading.active_count()
    probe = _Probe()
    started = time.perf_counter()
    stop = start(probe)
    setup = time.perf_counter() - started
    try:
        used_watches, used_threads = inotify_watches() - watches, threading.active_count() - threads
        times, missed = _latencies(deepest, probe, probes)
    finally:
        stop()
    return WatchWay(
        name,
        setup,
        used_watches,
        used_threads,
        statistics.median(times) if times else float("inf"),
        max(times) if times else float("inf"),
        missed,
    )


def _halt(observer: BaseObserver) -> None:
    observer.stop()
    observer.join()


def compare_watchers(scratch: Path, folders: int = 5000, ignored: int = 2000, probes: int = 20) -> list[WatchWay]:
    """Build the tree under ``scratch`` and measure the three ways (Linux with inotify only; else [])."""
    if not inotify_tree.AVAILABLE:
        return []
    from watchdog.observers import Observer

    root = scratch / "watch-compare"
    deepest = make_tree(root, folders, ignored)
    rules = IgnoreRules(root)
    event_filter: list[type[FileSystemEvent]] = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent]

    def ours(probe: _Probe) -> Callable[[], None]:
        def prune(path: str) -> bool:
            return rules.is_ignored(os.path.relpath(path, root).replace(os.sep, "/"), is_dir=True)

        tree = InotifyTree(str(root), TreeOptions(changed=lambda path, is_dir: probe.path(path), prune=prune))
        tree.start()
        return tree.stop

    def per_folder(probe: _Probe) -> Callable[[], None]:
        observer = Observer()
        observer.start()
        handler = _Handler(probe)
        for folder in _kept(root, rules):
            observer.schedule(handler, folder, recursive=False, event_filter=event_filter)
        return lambda: _halt(observer)

    def recursive(probe: _Probe) -> Callable[[], None]:
        observer = Observer()
        observer.start()
        observer.schedule(_Handler(probe), str(root), recursive=True, event_filter=event_filter)
        return lambda: _halt(observer)

    return [
        _measure("our inotify tree (inotify_simple)", ours, deepest, probes),
        _measure("watchdog, one watch per folder", per_folder, deepest, probes),
        _measure("watchdog, recursive", recursive, deepest, probes),
    ]


def report(ways: list[WatchWay], folders: int, ignored: int) -> list[str]:
    """Lines for the bench's report, with ratios to the first way."""
    if not ways:
        return ["watcher comparison: not available here (it needs Linux with inotify)"]
    base = ways[0]
    lines = [f"watching {folders:,} kept folders and {ignored:,} ignored ones (ratios to the first):"]
    for way in ways:
        lines.append(
            f"  {way.name:<36}set-up {way.setup_seconds:6.2f} s ({way.setup_seconds / base.setup_seconds:5.1f}x)  "
            f"watches {way.watches:>6,}  threads {way.threads:>5,}  "
            f"event latency {way.latency_median * 1000:5.1f} ms median, {way.latency_max * 1000:5.1f} ms max"
            + (f"  ({way.missed} probes never seen)" if way.missed else "")
        )
    return lines
