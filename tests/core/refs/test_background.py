"""The window's index update in a low-priority child process: real child, real SQLite file."""

from __future__ import annotations

import contextlib
import subprocess
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
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
    return found


def _library(tmp_path: Path, files: int) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    for n in range(files):
        (folder / f"m{n}.py").write_text(WRITTEN.replace("merge_sorted", f"merge_{n}"), encoding="utf-8")
    return folder


def test_a_held_update_waits_and_finishes_once_released(tmp_path: Path) -> None:
    folder = _library(tmp_path, 20)
    seen: list[IndexProgress] = []
    samples: list[tuple[float, float]] = []  # (time, the child's CPU seconds) while held
    progress_while_held: list[int] = []
    released: list[float] = []
    started = time.monotonic()

    def started_and_waiting() -> bool:
        """The child has done its start-up (imports, opening the index: well over 0.15 s of CPU)
        and used no CPU for the last second since."""
        recent = [cpu for at, cpu in samples if at > samples[-1][0] - 1.0]
        return recent[0] > 0.15 and samples[-1][0] - samples[0][0] > 1.0 and recent[-1] - recent[0] < 0.01

    def paused() -> bool:
        # Held from the start until the child has started and then waited for a second (at idle
        # priority it may take long to start on a busy machine: 60 s at most, then the assertion
        # below fails); once released, released for good.
        if released:
            return False
        children = _indexer_children()
        if children:
            with contextlib.suppress(psutil.Error):
                samples.append((time.monotonic(), sum(children[0].cpu_times()[:2])))
        if time.monotonic() - started > 60 or (samples and started_and_waiting()):
            released.append(time.monotonic())
            return False
        progress_while_held.append(len(seen))
        return True

    outcome = update_in_background(
        tmp_path / "refs.sqlite", [folder], None, progress=seen.append, paused=paused, include_own_environment=False
    )
    assert started_and_waiting()
    assert set(progress_while_held) == {0}  # it waited before its first package
    assert outcome.stats is not None and outcome.stats.files == 20 and seen


def test_a_held_update_is_still_stopped_at_once(tmp_path: Path) -> None:
    folder = _library(tmp_path, 1)
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


HOLDING_PARENT = """
import sys, psutil
from pathlib import Path
from app.core.refs.background import update_in_background

told = []

def held():
    # Tell the test the child's pid once it exists; hold the update for ever.
    children = [c.pid for c in psutil.Process().children() if "spawn_main" in " ".join(c.cmdline())]
    if children and not told:
        told.append(print(*children, flush=True))
    return True

update_in_background(Path(sys.argv[1]), [Path(sys.argv[2])], None, paused=held, include_own_environment=False)
"""


def test_a_held_child_ends_when_the_app_dies(tmp_path: Path) -> None:
    folder = _library(tmp_path, 3)
    app = subprocess.Popen(
        [sys.executable, "-c", HOLDING_PARENT, str(tmp_path / "refs.sqlite"), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert app.stdout is not None
        pids = [int(pid) for pid in app.stdout.readline().split()]  # the child, held before its first package
        assert pids
        child = psutil.Process(pids[0])
        app.kill()  # a crash: nothing tells the child
        app.wait(10)
        # At idle priority on a busy machine the child may take a while to get a core and look.
        gone, alive = psutil.wait_procs([child], timeout=90)
        assert gone and not alive
    finally:
        app.kill()
        app.wait(10)
