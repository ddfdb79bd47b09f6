"""One supervised child process: the only place core spawns a helper process.

The engine worker, the math checker, the evaluation's answer judge and the
llama.cpp probe all need the same thing: a ``spawn``-started child (safe from
a Qt app with threads) on a duplex pipe, messages both ways, a deadline on
every wait, the child's death noticed at once (the wait also watches the
process sentinel), a kill from any thread and a fresh child afterwards, and,
when it crashed, the exit code or signal and the last lines of its log.

The messages themselves are the caller's own picklable dataclasses; this
module only carries them. A child's entry point is ``target(conn, *args)``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from app.core.errors import QuillpadError

POLL_SECONDS = 0.5  # how often a plain wait looks at the child
CANCEL_POLL_SECONDS = 0.05  # how often a cancellable wait asks whether it was cancelled
LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class ChildExit:
    """How a child ended: its exit code, and the signal's name when one killed it."""

    exit_code: int | None
    signal: str | None

    def describe(self) -> str:
        """``"killed by SIGKILL (often a sign of running out of memory)"``, ``"exit code 1"``."""
        if self.signal is not None:
            hint = " (often a sign of running out of memory)" if self.signal == "SIGKILL" else ""
            return f"killed by {self.signal}{hint}"
        return f"exit code {self.exit_code}"


def child_exit(exit_code: int | None) -> ChildExit:
    """A ``multiprocessing`` exit code as a ``ChildExit`` (negative codes are signals)."""
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return ChildExit(exit_code, name)
    return ChildExit(exit_code, None)


class ChildError(QuillpadError):
    """Something went wrong with a child process (base class)."""


class ChildDied(ChildError):
    """The child ended while a message was awaited; ``exit`` says how, ``log_tail`` what it last logged."""

    def __init__(self, message: str, exit: ChildExit, log_tail: list[str]) -> None:
        super().__init__(message)
        self.exit = exit
        self.log_tail = log_tail


class ChildTimeout(ChildError):
    """No message came before the deadline."""


class ChildCancelled(ChildError):
    """The wait was cancelled by the caller's ``cancelled`` check; the child was killed."""


class SupervisedChild:
    """A child process on a pipe; restartable. ``kill()`` is safe from any thread;
    the other calls are for one thread at a time (callers serialise them)."""

    def __init__(
        self,
        target: Callable[..., None],
        args: tuple[Any, ...] = (),
        *,
        name: str,
        log_path: Path | None = None,
    ) -> None:
        self._target = target
        self._args = args
        self.name = name
        self.log_path = log_path
        self._mp = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Connection | None = None
        self._kill_lock = threading.Lock()
        self.restarts = 0  # children killed for overrunning a deadline
        self.last_exit: ChildExit | None = None

    # -- lifecycle ------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether the child is running."""
        process = self._process
        return process is not None and process.is_alive()

    @property
    def started(self) -> bool:
        """Whether a child was started and not yet discarded (it may have died since)."""
        return self._process is not None

    @property
    def pid(self) -> int | None:
        process = self._process
        return int(process.pid) if process is not None and process.pid is not None else None

    def start(self) -> bool:
        """Start the child unless it is running; True when a new one was started.

        Raises ``ChildError`` when the operating system refuses a process.
        """
        if self.alive:
            return False
        self.discard()
        parent, child = self._mp.Pipe(duplex=True)
        process = self._mp.Process(target=self._target, args=(child, *self._args), name=self.name, daemon=True)
        try:
            process.start()
        except OSError as err:
            parent.close()
            child.close()
            raise ChildError(f"The {self.name} process could not start ({err}); try again.") from err
        child.close()
        self._process, self._conn = process, parent
        return True

    def kill(self) -> None:
        """End the child at once (any thread); a wait in progress notices through the sentinel."""
        with self._kill_lock:
            process = self._process
            if process is not None and process.is_alive():
                process.kill()

    def discard(self) -> None:
        """Kill the child if needed, wait for it and release the pipe; then ``start()`` makes a new one."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(5)
            self.last_exit = child_exit(process.exitcode)
            process.close()

    def close(self, quit_message: object | None = None, grace: float = 5.0) -> None:
        """Ask the child to quit with ``quit_message`` (if given), wait ``grace`` seconds, then make sure."""
        process, conn = self._process, self._conn
        if conn is not None and process is not None and process.is_alive() and quit_message is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(quit_message)
            process.join(grace)
        self.discard()

    def exit_info(self) -> ChildExit:
        """How the current (or last) child ended."""
        process = self._process
        if process is not None:
            return child_exit(process.exitcode)
        return self.last_exit or ChildExit(None, None)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The child's last non-blank log lines (what a native library said before dying)."""
        if self.log_path is None:
            return []
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:]

    # -- messages -------------------------------------------------------------

    def send(self, message: object) -> None:
        """Send one message; raises ``ChildDied`` if the child is gone."""
        conn = self._conn
        if conn is None:
            raise ChildDied(f"The {self.name} process is not running.", self.exit_info(), self.log_tail())
        try:
            conn.send(message)
        except (BrokenPipeError, OSError) as err:
            raise self._died() from err

    def receive(self, timeout: float | None = None, cancelled: Callable[[], bool] | None = None) -> Any:
        """The child's next message.

        Raises ``ChildDied`` if the child ends first (a message it sent just
        before dying is still returned), ``ChildTimeout`` after ``timeout``
        seconds (the child keeps running), and ``ChildCancelled`` once
        ``cancelled()`` says True (the child is killed).
        """
        conn, process = self._conn, self._process
        if conn is None or process is None:
            raise ChildDied(f"The {self.name} process is not running.", self.exit_info(), self.log_tail())
        deadline = None if timeout is None else time.monotonic() + timeout
        poll = POLL_SECONDS if cancelled is None else CANCEL_POLL_SECONDS
        while True:
            if cancelled is not None and cancelled():
                self.discard()
                raise ChildCancelled(f"The {self.name} work was stopped.")
            step = poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic()))
            ready = wait([conn, process.sentinel], step)
            if conn in ready:
                try:
                    return conn.recv()
                except (EOFError, OSError):
                    pass  # the child died: look at the sentinel below
            if process.sentinel in ready or not process.is_alive():
                if conn.poll(0):
                    with contextlib.suppress(EOFError, OSError):
                        return conn.recv()
                process.join(1)
                raise self._died()
            if deadline is not None and time.monotonic() >= deadline:
                raise ChildTimeout(f"The {self.name} process did not answer within {timeout:g} seconds.")

    def request(
        self, message: object, timeout: float, cancelled: Callable[[], bool] | None = None, start_grace: float = 0.0
    ) -> Any:
        """Send ``message`` and wait for the reply; a child that overruns ``timeout`` is killed
        (``ChildTimeout``) and a new one starts with the next request. A child started for this
        request gets ``start_grace`` more seconds (spawning and importing take a while)."""
        fresh = self.start()
        self.send(message)
        try:
            return self.receive(timeout + (start_grace if fresh else 0.0), cancelled)
        except ChildTimeout:
            self.discard()
            self.restarts += 1
            raise
        except ChildDied:
            self.discard()
            raise

    def _died(self) -> ChildDied:
        exit = self.exit_info()
        return ChildDied(f"The {self.name} process stopped unexpectedly ({exit.describe()}).", exit, self.log_tail())
