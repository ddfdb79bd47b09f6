"""A persistent worker process for SymPy checks, killed and replaced when a request overruns.

SymPy can run for minutes and a thread cannot be interrupted reliably, so
checks run in a separate process started with ``spawn`` (safe from a Qt app
with threads). ``close()`` (or leaving the ``with`` block) ends it; nothing
is left running.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from app.core.errors import QuillpadError
from app.core.mathcheck.worker import serve
from app.core.supervised import ChildCancelled, ChildDied, ChildError, ChildTimeout, SupervisedChild

START_TIMEOUT = 60.0


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
        self._child = SupervisedChild(serve, name="quillpad-mathcheck")
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
        return self._child.alive

    @property
    def restarts(self) -> int:
        """How many times a request overran and the worker was replaced."""
        return self._child.restarts

    def request(self, op: str, payload: dict[str, Any], timeout: float) -> Any:
        """The worker's answer; raises ``RequestTimeout`` (worker killed) or ``CheckerError``."""
        self._check_cancelled()
        try:
            status, result = self._child.request((op, payload), timeout, self.cancelled, start_grace=START_TIMEOUT)
        except ChildTimeout:
            raise RequestTimeout(op) from None
        except ChildCancelled:
            raise CheckCancelled("The check was stopped.") from None
        except ChildDied as err:
            raise CheckerError("The math checker stopped unexpectedly; try again.") from err
        except ChildError as err:
            raise CheckerError(str(err)) from err
        if status != "ok":
            raise CheckerError(f"The math checker failed: {result}")
        return result

    def _check_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled():
            self._child.discard()
            raise CheckCancelled("The check was stopped.")

    def close(self) -> None:
        """Ask the worker to quit, then make sure it has."""
        self._child.close(("quit", {}), grace=2.0)
