"""The one way the window runs work off the GUI thread.

``TaskRunner.submit(work, on_result=..., on_error=...)`` runs ``work(token)``
on the runner's thread pool and calls back on the GUI thread, through a queued
signal, with the result, the exception the work raised, or nothing but
``on_cancelled`` when the task was cancelled meanwhile. The work gets a
``TaskToken``: the plugin API's ``CancelToken`` (so a plugin's
``BackgroundWork.run`` takes it as it is, and its ``on_cancel`` hooks stop
work that blocks: kill an engine, stop a run), plus ``report(value)`` for
progress (delivered to ``on_progress`` on the GUI thread).

Work never touches a widget: it returns plain data. A runner with one thread
(the default) runs and reports its tasks in the order they were submitted.
``shutdown()`` cancels everything, drops what has not started and waits for
what has; nothing is delivered after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal

from app.core.errors import QuillpadError
from app.core.plugins.background import CancelToken

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskToken(CancelToken):
    """What a task's work receives: the plugin API's cancel token, plus progress reports."""

    def __init__(self, report: Callable[[object], None]) -> None:
        super().__init__()
        self._report = report

    def report(self, value: object) -> None:
        """Hand ``value`` (plain data) to the task's ``on_progress``, on the GUI thread."""
        if not self.cancelled:
            self._report(value)


@dataclass(eq=False)
class Task(Generic[T]):
    """A submitted task: cancel it, or ask whether it is still to be reported."""

    token: TaskToken
    on_result: Callable[[T], None] | None
    on_error: Callable[[BaseException], None] | None
    on_cancelled: Callable[[], None] | None
    on_progress: Callable[[Any], None] | None
    pending: bool = True  # until its outcome has been delivered (or dropped at shutdown)

    def cancel(self) -> None:
        """Stop the task: queued, it never runs; running, its token says so; either way
        ``on_cancelled`` is called instead of ``on_result``/``on_error``."""
        self.token.cancel()


class _Relay(QObject):
    """Lives on the GUI thread; a worker's emit is queued to it."""

    finished = Signal(object, object, bool)  # task, result or exception, whether it raised
    progress = Signal(object, object)  # task, value


class _Job(QRunnable):
    """The only QRunnable of the window: runs one task's work and emits its outcome."""

    def __init__(self, task: Task[Any], work: Callable[[TaskToken], Any], relay: _Relay) -> None:
        super().__init__()
        self.task, self.work, self.relay = task, work, relay

    def run(self) -> None:
        if self.task.token.cancelled:  # cancelled while queued: the work never starts
            self.relay.finished.emit(self.task, None, False)
            return
        try:
            outcome, raised = self.work(self.task.token), False
        except BaseException as err:  # the GUI thread decides what to show; a worker thread never dies loudly
            outcome, raised = err, True
        self.relay.finished.emit(self.task, outcome, raised)


class TaskRunner(QObject):
    """A thread pool for one part of the window, with results delivered on the GUI thread."""

    def __init__(self, parent: QObject | None = None, *, threads: int = 1) -> None:
        super().__init__(parent)
        # Created before the relay, so it is destroyed (waiting for its threads) first.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._relay.progress.connect(self._progress, Qt.ConnectionType.QueuedConnection)
        self._tasks: dict[Task[Any], _Job] = {}
        self._closed = False

    def submit(
        self,
        work: Callable[[TaskToken], T],
        *,
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Task[T]:
        """Run ``work(token)`` off the GUI thread; call back on the GUI thread with its outcome.

        ``on_error`` gets the exception (``failure_text`` makes the sentence);
        without one an error is logged. After ``shutdown`` nothing runs.
        """
        task: Task[T]
        token = TaskToken(lambda value: self._relay.progress.emit(task, value))
        task = Task(token, on_result, on_error, on_cancelled, on_progress)
        if self._closed:
            token.cancel()
            task.pending = False
            return task
        job = _Job(task, work, self._relay)
        # Python keeps the job alive until its outcome is delivered; Qt must not delete it under us.
        job.setAutoDelete(False)
        self._tasks[task] = job
        self._pool.start(job)
        return task

    @property
    def busy(self) -> bool:
        """Whether a task is queued, running, or waiting for its outcome to be delivered."""
        return bool(self._tasks)

    def cancel_all(self) -> None:
        """Cancel every task not yet delivered."""
        for task in list(self._tasks):
            task.cancel()

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Cancel all, drop the queued, wait for the running; deliver nothing more (idempotent)."""
        self._closed = True
        self.cancel_all()
        self._pool.clear()
        self._pool.waitForDone(wait_ms)
        for task in self._tasks:
            task.pending = False
        self._tasks.clear()

    def wait(self, wait_ms: int = 30_000) -> bool:
        """Block until the running and queued work has finished (tests, shutdown); True if it did."""
        return self._pool.waitForDone(wait_ms)

    def active_threads(self) -> int:
        """Pool threads running work now."""
        return self._pool.activeThreadCount()

    def _deliver(self, task: Task[Any], outcome: object, raised: bool) -> None:
        if self._tasks.pop(task, None) is None:
            return  # dropped at shutdown
        task.pending = False
        try:
            if task.token.cancelled:
                if task.on_cancelled is not None:
                    task.on_cancelled()
            elif raised:
                assert isinstance(outcome, BaseException)
                if task.on_error is not None:
                    task.on_error(outcome)
                else:
                    log.error("a background task failed", exc_info=outcome)
            elif task.on_result is not None:
                task.on_result(outcome)
        except Exception:  # a callback's bug must not escape into Qt's event loop
            log.exception("a background task's callback failed")

    def _progress(self, task: Task[Any], value: object) -> None:
        if task in self._tasks and not task.token.cancelled and task.on_progress is not None:
            task.on_progress(value)


def failure_text(err: BaseException, what: str) -> str:
    """One sentence for the user: a refusal as it is; anything else logged, with where to look."""
    if isinstance(err, QuillpadError):
        return str(err)
    log.error("%s failed", what, exc_info=err)
    return f"{what} failed ({err}); see the log file."
