"""The window's index update in a low-priority child process: real child, real SQLite file."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import psutil
import pytest

from app.core.refs.background import update_in_background
from app.core.refs.index import RefIndex
from app.core.refs.indexer import IndexProgress

WRITTEN = '''
def merge_sorted(left, right):
    """Merge two sorted lists into one sorted list."""
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i]); i += 1
        else:
            out.append(right[j]); j += 1
    out.extend(left[i:]); out.extend(right[j:])
    return out
'''


def test_the_child_builds_the_index_the_app_then_reads(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "merge.py").write_text(WRITTEN, encoding="utf-8")
    path = tmp_path / "refs.sqlite"
    reader = RefIndex(path, folders=[folder], include_own_environment=False)  # the window's connection, open first
    seen: list[IndexProgress] = []
    outcome = update_in_background(path, [folder], None, progress=seen.append, include_own_environment=False)
    assert outcome.result is not None and outcome.stats is not None and not outcome.cancelled
    assert outcome.notice == ""
    assert outcome.stats.files == 1 and outcome.result.files == 1
    assert seen and seen[-1].done == seen[-1].total
    if sys.platform.startswith("linux"):
        assert "SCHED_IDLE" in outcome.priority and "nice 19" in outcome.priority
    reader.store.forget_cached()
    matches = reader.check(WRITTEN, language="python", min_tokens=20)
    assert matches and "merge.py" in matches[0].describe()
    reader.close()


def test_stopping_kills_the_child_and_leaves_a_usable_index(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    for n in range(50):
        (folder / f"m{n}.py").write_text(WRITTEN.replace("merge_sorted", f"merge_{n}"), encoding="utf-8")
    path = tmp_path / "refs.sqlite"
    calls = [0]

    def cancelled() -> bool:
        calls[0] += 1
        return calls[0] > 2  # stop while the child is still starting or indexing

    outcome = update_in_background(path, [folder], None, cancelled=cancelled, include_own_environment=False)
    assert outcome.cancelled and outcome.result is None
    again = update_in_background(path, [folder], None, include_own_environment=False)
    assert again.stats is not None and again.stats.files == 50


@pytest.mark.skipif(sys.platform == "win32", reason="permissions differ on Windows")
def test_an_index_that_cannot_be_written_gives_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be", encoding="utf-8")
    outcome = update_in_background(blocker / "refs.sqlite", [], None, include_own_environment=False)
    assert outcome.stats is None and not outcome.cancelled
    assert outcome.notice.startswith("Updating the code-reference index failed (")
    assert outcome.notice.endswith("see the log file.") and "\n" not in outcome.notice


def _indexer_children() -> list[psutil.Process]:
    """This process's spawned children, without multiprocessing's resource tracker."""
    found = []
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            line = " ".join(child.cmdline())
            if "spawn_main" in line:
                found.append(child)
    return found


def test_a_paused_update_stops_the_child_and_finishes_once_resumed(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    for n in range(20):
        (folder / f"m{n}.py").write_text(WRITTEN.replace("merge_sorted", f"merge_{n}"), encoding="utf-8")
    path = tmp_path / "refs.sqlite"
    seen: list[IndexProgress] = []
    states: list[str] = []
    started = time.monotonic()

    def paused() -> bool:
        # Held for its first two seconds, as by a reply that starts with the update; meanwhile
        # the child must be stopped and report nothing.
        held = time.monotonic() - started < 2.0
        if held and time.monotonic() - started > 1.0:
            states.extend(child.status() for child in _indexer_children())
            assert not seen
        return held

    outcome = update_in_background(
        path, [folder], None, progress=seen.append, paused=paused, include_own_environment=False
    )
    assert states and set(states) == {psutil.STATUS_STOPPED}
    assert outcome.stats is not None and outcome.stats.files == 20 and seen


def test_a_paused_child_is_still_stopped_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "merge.py").write_text(WRITTEN, encoding="utf-8")
    started = time.monotonic()
    pids: list[int] = []

    def cancelled() -> bool:
        pids.extend(child.pid for child in _indexer_children())
        return time.monotonic() - started > 1.0

    outcome = update_in_background(
        tmp_path / "refs.sqlite",
        [folder],
        None,
        cancelled=cancelled,
        paused=lambda: True,
        include_own_environment=False,
    )
    assert outcome.cancelled and pids
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in set(pids))
