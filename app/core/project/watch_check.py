"""The self-test of file watching: does a change on disk reach the index queue on this machine?

``check_watching`` starts the real ``ProjectWatcher`` (the same choice and
probe of mechanisms a project gets) on a scratch folder, writes a file and
waits for the batch that names it. It fails when no mechanism works, when a
mechanism stayed silent after starting (a broken library release, as with
watchdog 7.1.1 and the old patched observer), or when the file never arrives.
A fallback caused by this machine (the watch limit, a file system without
inotify) is reported but passes: the app copes with it as designed.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.project.ignore import IgnoreRules
from app.core.project.watch_mechanisms import MechanismFactory
from app.core.project.watcher import Batch, ProjectWatcher

CHECK_FILE = "quillpad-watch-check.txt"


@dataclass(frozen=True)
class WatchCheck:
    """Whether watching works here, in one line for the self-test."""

    ok: bool
    detail: str


def check_watching(timeout: float = 10.0, mechanisms: Sequence[MechanismFactory] | None = None) -> WatchCheck:
    """Watch a scratch folder as a project would be watched and see a new file arrive (see the module docstring)."""
    arrived = threading.Event()
    notices: list[str] = []

    def apply(batch: Batch) -> None:
        if batch.full or CHECK_FILE in batch.files:
            arrived.set()

    with tempfile.TemporaryDirectory(prefix="quillpad-watch-check-") as scratch:
        root = Path(scratch) / "project"
        root.mkdir()
        watcher = ProjectWatcher(
            root, IgnoreRules(root), apply, debounce=0.05, on_notice=notices.append, mechanisms=mechanisms
        )
        watcher.start()
        try:
            if not watcher.wait_idle(timeout):
                return WatchCheck(False, f"no way of watching was ready within {timeout:g} s")
            started = time.perf_counter()
            (root / CHECK_FILE).write_text("checked\n", encoding="utf-8")
            seen = arrived.wait(timeout)
            delay = time.perf_counter() - started
        finally:
            watcher.stop()
    attempts = watcher.attempts
    used = next((a for a in attempts if not a.problem), None)
    failures = [f"{a.name} {a.problem}" for a in attempts if a.problem]
    if used is None:
        return WatchCheck(False, "; ".join(failures) or "no way of watching started")
    probe = f"probe event after {used.probe_seconds * 1000:.0f} ms, " if used.probe_seconds is not None else ""
    detail = f"{used.name} ({probe}a new file queued for the index after {delay:.2f} s)"
    if failures:
        detail += " after " + "; ".join(failures)
    if not seen:
        return WatchCheck(False, f"{used.name} started but a new file did not arrive within {timeout:g} s")
    silent = any("delivered no event" in failure for failure in failures)
    return WatchCheck(not silent, detail)
