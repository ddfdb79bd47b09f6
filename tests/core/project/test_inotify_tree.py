"""``InotifyTree`` on its own: a real kernel queue overflow, and the probe's watch outside the limit."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from app.core.project.inotify_tree import InotifyTree, TreeOptions
from tests.fixtures.project_tree import wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def max_queued_events() -> int:
    return int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())


def test_a_real_queue_overflow_is_reported_and_new_folders_are_watched_after_it(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "old").mkdir(parents=True)
    seen: list[str] = []
    overflows = threading.Event()
    release = threading.Event()

    def changed(path: str, is_dir: bool) -> None:
        release.wait(60)  # the reader stalls on the first event, so the kernel's queue fills up
        seen.append(path)

    tree = InotifyTree(str(root), TreeOptions(changed=changed, on_overflow=overflows.set))
    tree.start()
    try:
        (root / "new" / "deeper").mkdir(parents=True)  # created while events pile up: lost in the overflow
        noisy = root / "old" / "noisy.txt"
        noisy.write_text("x")
        descriptor = os.open(noisy, os.O_WRONLY)
        try:
            # A write then a time change: two different events each round (identical neighbours would merge).
            for _ in range(max_queued_events() + 100):  # twice the queue: some were read before the stall
                os.pwrite(descriptor, b"x", 0)
                os.utime(noisy)
        finally:
            os.close(descriptor)
        release.set()
        assert overflows.wait(30), "the kernel queue did not overflow"
        wait_for(lambda: tree.watch_count == 4, what="root, old, new and new/deeper watched after the overflow")
        (root / "new" / "deeper" / "after.txt").write_text("seen\n")
        wait_for(lambda: str(root / "new" / "deeper" / "after.txt") in seen, what="an event in the new folder")
    finally:
        release.set()
        tree.stop()


def test_the_probe_watch_does_not_count_against_the_limit(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "a").mkdir(parents=True)
    probe = tmp_path / "probe"
    probe.mkdir()
    seen: list[str] = []
    tree = InotifyTree(str(root), TreeOptions(changed=lambda path, is_dir: seen.append(path), max_watches=2))
    tree.start()
    try:
        tree.watch_extra(str(probe))
        (probe / "x.txt").write_text("probe\n")
        wait_for(lambda: str(probe / "x.txt") in seen, what="the probe's event")
        tree.unwatch_extra(str(probe))
        assert tree.watch_count == 2
    finally:
        tree.stop()
    assert tree.watch_count == 0
