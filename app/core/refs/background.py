"""Updating the code-reference index in a child process at the lowest CPU priority.

The window's update runs here rather than on a thread: a thread would share
the app's interpreter lock with the GUI thread and its CPU priority with
everything else, and a first build takes minutes of CPU right when a new
user starts chatting. The child lowers its own priority
(``app.core.priority``), so the model's threads and the GUI run first; it
writes the same SQLite file the app reads checks from (WAL: readers are not
blocked). Stopping kills the child between or inside transactions; SQLite
rolls back what was half written.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

from app.core.priority import lower_child_priority
from app.core.refs.indexer import IndexProgress, UpdateResult
from app.core.refs.store import IndexStats
from app.core.supervised import ChildCancelled, ChildDied, ChildTimeout, SupervisedChild

log = logging.getLogger(__name__)

PAUSE_POLL_SECONDS = 0.1  # how soon a hold reaches the child once a reply starts
PARENT_CHECK_SECONDS = 1.0  # how often a held child looks whether the app is still there


@dataclass(frozen=True)
class UpdateRequest:
    """What the child indexes: the index file, extra folders, the open project (if any), Quillpad's own packages."""

    index_path: str
    folders: tuple[str, ...]
    project: str | None
    include_own_environment: bool = True


@dataclass(frozen=True)
class Finished:
    """The child's last message: what the update did, the index afterwards, a notice ("" for none)."""

    result: UpdateResult
    stats: IndexStats
    notice: str
    priority: str  # what the child's CPU priority was lowered to


@dataclass(frozen=True)
class Failed:
    """The update failed; ``message`` is the sentence for the user."""

    message: str


@dataclass(frozen=True)
class BackgroundOutcome:
    """How a background update ended: ``result`` and ``stats`` are None when it failed or was stopped."""

    result: UpdateResult | None
    stats: IndexStats | None
    notice: str
    cancelled: bool = False
    priority: str = ""  # the indexer's CPU priority ("nice 19, SCHED_IDLE" on Linux)


def _wait_while_held(go: EventType) -> bool:
    """Block while the parent holds the update (``go`` cleared); True, to stop, once the parent is gone.

    Called before each file the child reads, so a hold takes effect within one
    file (or one package's write to the index, which is not interrupted).
    Cooperative rather than stopping the process: a stopped child whose
    parent crashed would stay behind for ever.
    """
    parent = multiprocessing.parent_process()
    while not go.wait(PARENT_CHECK_SECONDS):
        if parent is not None and not parent.is_alive():
            return True
    return False


def _child_main(conn: Connection, request: UpdateRequest, go: EventType) -> None:
    """The child: lower the priority, update (waiting while held), report progress and the outcome."""
    from app.core.priority import lower_own_priority
    from app.core.refs.index import RefIndex

    priority = lower_own_priority()
    try:
        index = RefIndex(
            Path(request.index_path),
            folders=[Path(folder) for folder in request.folders],
            project=Path(request.project) if request.project else None,
            include_own_environment=request.include_own_environment,
        )
        notice = index.notice or ""
        result = index.update(progress=conn.send, cancelled=lambda: _wait_while_held(go))
        stats = index.stats()
        index.close()
        conn.send(Finished(result, stats, notice or index.notice or "", priority))
    except Exception as err:  # one sentence for the user; the parent logs it
        with contextlib.suppress(OSError):  # the parent is gone (a crash): nobody to tell
            conn.send(Failed(f"Updating the code-reference index failed ({err}); see the log file."))


def update_in_background(
    index_path: Path,
    folders: Sequence[Path],
    project: Path | None,
    *,
    progress: Callable[[IndexProgress], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    paused: Callable[[], bool] = lambda: False,
    include_own_environment: bool = True,
) -> BackgroundOutcome:
    """Bring the index at ``index_path`` up to date in a low-priority child; blocks until it ends.

    While ``paused()`` says True the child waits before its next file: the window
    holds it while the local model writes a reply. Its idle priority is not
    enough there: it runs in the moments between tokens when one of
    llama.cpp's threads sleeps, and each time that thread wakes it finds its
    core and caches taken (in a Qwen3-0.6B-shape run the two replies beside a
    fresh profile's first build were among its slowest: 0.82 and 0.78 x bare
    llama-cpp-python, against a median of 0.90 for the other 18).
    """
    request = UpdateRequest(
        str(index_path),
        tuple(str(folder) for folder in folders),
        str(project) if project else None,
        include_own_environment,
    )
    go = multiprocessing.get_context("spawn").Event()
    go.set()
    child = SupervisedChild(_child_main, (request, go), name="code-reference indexer")
    child.start()
    if child.pid is not None:
        lower_child_priority(child.pid)  # before its start-up imports; it lowers itself again
    try:
        while True:
            if paused():
                go.clear()
            else:
                go.set()
            try:
                message = child.receive(timeout=PAUSE_POLL_SECONDS, cancelled=cancelled)
            except ChildTimeout:
                continue
            if isinstance(message, IndexProgress):
                if progress is not None:
                    progress(message)
            elif isinstance(message, Finished):
                log.info("code-reference index updated: %s", message.result)
                return BackgroundOutcome(message.result, message.stats, message.notice, priority=message.priority)
            elif isinstance(message, Failed):
                return BackgroundOutcome(None, None, message.message)
    except ChildCancelled:
        return BackgroundOutcome(None, None, "", cancelled=True)
    except ChildDied as err:
        log.warning("code-reference indexer ended: %s; log tail: %s", err, err.log_tail)
        return BackgroundOutcome(None, None, f"{err} The code-reference index will be updated again next time.")
    finally:
        child.close()
