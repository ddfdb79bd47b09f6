"""Long plugin work off the GUI thread: ``BackgroundWork``, its cancel token, and how it is settled.

A command (or a model turn's ``then``) that has slow work to do (checking a
solution, running tests) returns ``CommandResult(background=BackgroundWork(...))``.
The app runs ``work.run(token)`` on a worker thread (the GUI: a thread pool;
headless: inline), shows ``title`` meanwhile, and carries out the
``CommandResult`` it returns on the thread that started it. ``run`` must not
touch the GUI; it should look at ``token.cancelled`` between slow steps (the
user pressed Stop or closed the window) and may raise ``Cancelled``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.errors import QuillpadError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.core.plugins.contributions import CommandResult


class Cancelled(QuillpadError):
    """The work was stopped by the user (or the app is closing)."""

    def __init__(self, message: str = "Stopped.") -> None:
        super().__init__(message)


class CancelToken:
    """Set once from any thread; read by the work between its steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], None]] = []

    def cancel(self) -> None:
        """Ask the work to stop as soon as it can; its ``on_cancel`` hooks run once, here."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:  # one failing hook must not keep the others from stopping their work
                log.exception("a cancel hook failed")

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` on cancel (at once if already cancelled): for work that blocks
        in something that has its own stop (a subprocess, a test run, a download)."""
        with self._lock:
            if not self._event.is_set():
                self._hooks.append(hook)
                return
        hook()

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel`` was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` if the work was asked to stop."""
        if self._event.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking at once on cancel; True if cancelled."""
        return self._event.wait(seconds)


@dataclass(frozen=True)
class BackgroundWork:
    """Slow work a command hands to the app: ``run`` happens off the GUI thread.

    ``title`` is shown while it runs, e.g. "Checking 7 steps…".
    """

    title: str
    run: Callable[[CancelToken], CommandResult]


# Runs a panel's slow work off the GUI thread: ``runner(work, on_result, on_error)``
# starts ``work(token)`` on a worker thread and calls ``on_result`` or ``on_error``
# (one sentence) back on the GUI thread; it returns the token that cancels the work.
# The window provides one; ``run_inline`` is the one without a window.
BackgroundRunner = Callable[[Callable[[CancelToken], Any], Callable[[Any], None], Callable[[str], None]], CancelToken]


def run_inline(
    work: Callable[[CancelToken], Any], on_result: Callable[[Any], None], on_error: Callable[[str], None]
) -> CancelToken:
    """A ``BackgroundRunner`` without a GUI: the work runs at once, on the caller's thread."""
    token = CancelToken()
    try:
        result = work(token)
    except QuillpadError as err:
        on_error(str(err))
    else:
        on_result(result)
    return token


class PluginFailure(QuillpadError):
    """A plugin's background work failed with a bug; ``settle`` turns the plugin off on the app's thread."""

    def __init__(self, message: str, settle: Callable[[], None]) -> None:
        super().__init__(message)
        self.settle = settle
