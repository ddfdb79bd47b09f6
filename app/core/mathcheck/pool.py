"""A persistent worker process for SymPy checks, killed and replaced when a request overruns.

SymPy can run for minutes and a thread cannot be interrupted reliably, so
checks run in a separate process started with ``spawn`` (safe from a Qt app
with threads). ``close()`` (or leaving the ``with`` block) ends it; nothing
is left running.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from app.core.errors import QuillpadError
from app.core.mathcheck.worker import serve

START_TIMEOUT = 60.0
POLL_SECONDS = 0.05  # how often a waiting request looks whether it was cancelled


class CheckerError(QuillpadError):
    """The check worker could not be started or answered with an error."""


class RequestTimeout(Exception):
    """A request overran; the worker was killed."""


class CheckCancelled(CheckerError):
    """The check was stopped (``CheckWorker.cancelled`` said so); the worker was killed."""


class CheckWorker:
    """One worker process; ``request`` sends a request and waits at most ``timeout`` seconds.

    ``cancelled``, when set, is asked while a request waits (from the waiting
    thread); once it says True the worker is killed and ``CheckCancelled`` raised.
    """

    def __init__(self) -> None:
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.restarts = 0
        self.cancelled: Callable[[], bool] | None = None

    def __enter__(self) -> CheckWorker:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self._process is not None and self._process.is_alive()

    def _start(self) -> Connection:
        if self._conn is not None and self.alive:
            return self._conn
        self._kill()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child,), name="quillpad-mathcheck", daemon=True)
        try:
            process.start()
        except OSError as err:
            raise CheckerError(f"The math checker could not start ({err}); try again.") from err
        child.close()
        self._process, self._conn = process, parent
        return parent

    def request(self, op: str, payload: dict[str, Any], timeout: float) -> Any:
        """The worker's answer; raises ``RequestTimeout`` (worker killed) or ``CheckerError``."""
        self._check_cancelled()
        first = self._conn is None or not self.alive
        conn = self._start()
        try:
            conn.send((op, payload))
            deadline = time.monotonic() + timeout + (START_TIMEOUT if first else 0.0)
            while not conn.poll(max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))):
                self._check_cancelled()
                if time.monotonic() >= deadline:
                    self._kill()
                    self.restarts += 1
                    raise RequestTimeout(op)
            status, result = conn.recv()
        except (EOFError, OSError, BrokenPipeError) as err:
            self._kill()
            raise CheckerError("The math checker stopped unexpectedly; try again.") from err
        if status != "ok":
            raise CheckerError(f"The math checker failed: {result}")
        return result

    def _check_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled():
            self._kill()
            raise CheckCancelled("The check was stopped.")

    def _kill(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(5)
            process.close()

    def close(self) -> None:
        """Ask the worker to quit, then make sure it has."""
        if self._conn is not None and self.alive:
            with contextlib.suppress(OSError, BrokenPipeError):
                self._conn.send(("quit", {}))
            if self._process is not None:
                self._process.join(2)
        self._kill()
