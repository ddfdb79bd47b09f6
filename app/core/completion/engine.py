"""``CompletionEngine``: the parent-side handle on the completion worker process.

Every request has an id from ``new_request_id()``; issuing one cancels every
older one at once (a shared integer the worker checks between tokens and
during prompt evaluation), so the user's next keystroke never waits for a
stale suggestion. ``complete`` runs one request and is called from one
background thread at a time (the editor's completion thread, the CLI, the
bench); ``new_request_id`` and ``cancel`` are safe from any thread.

A crash of the worker turns completion off (``state == "crashed"``) with
one sentence in ``reason``, said once, until ``restart()``.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.core.completion.messages import (
    Complete,
    CompletionFinished,
    CompletionLimits,
    CompletionLoad,
    CompletionModelReady,
    CompletionRefused,
    CompletionStats,
    QuitWorker,
    RenderedFim,
    RenderFim,
    SuggestionText,
    WorkerUp,
)
from app.core.completion.prompt import CompletionInput, PromptBudget
from app.core.completion.worker import completion_worker_main
from app.core.errors import QuillpadError
from app.core.supervised import ChildDied, ChildError, ChildTimeout, SupervisedChild

START_TIMEOUT = 60.0
LOAD_TIMEOUT = 300.0
REQUEST_TIMEOUT = 300.0  # per message: a long prompt on a busy machine can take minutes

CompletionState = Literal["off", "ready", "refused", "crashed"]


class CompletionUnavailable(QuillpadError):
    """Completion cannot run; the message is one sentence for the user."""


@dataclass(frozen=True)
class CompletionResult:
    """One request's outcome, as the front-end sees it."""

    request_id: int
    text: str
    reason: Literal["done", "cancelled", "error"]
    stats: CompletionStats = field(default_factory=CompletionStats)
    seconds_to_first: float | None = None  # parent-side: call to first suggestion text
    seconds_total: float = 0.0
    error: str = ""


def default_threads() -> int:
    """Half the cores, at most 4: the chat engine needs the other half, and on a busy machine
    llama.cpp's threads wait for each other (two threads on two busy cores ran 4-20x slower
    than one in ``quillpad bench complete``)."""
    import os

    return max(1, min(4, (os.cpu_count() or 2) // 2))


class CompletionEngine:
    """The completion model in its own supervised process."""

    def __init__(self, log_path: Path | None = None) -> None:
        from app.core.paths import app_paths

        self._newest: Any = multiprocessing.get_context("spawn").RawValue(ctypes.c_longlong, 0)
        self.log_path = log_path or app_paths().log_dir / "completion-worker.log"
        self._child = SupervisedChild(
            completion_worker_main, (self._newest, str(self.log_path)), name="completion model", log_path=self.log_path
        )
        self._id_lock = threading.Lock()
        self._last_id = 0
        self._load: CompletionLoad | None = None
        self.state: CompletionState = "off"
        self.reason = "No completion model is chosen; choose one in Settings ▸ Completion."
        self.format_name = ""

    # -- lifecycle -------------------------------------------------------------

    def load(self, path: str | Path, *, threads: int | None = None, context_length: int = 4096) -> str:
        """Load ``path`` for completion; its FIM format's name. Raises ``CompletionUnavailable``."""
        load = CompletionLoad(str(path), context_length, threads or default_threads())
        self._load = load
        if not Path(load.path).is_file():
            self._set("refused", f"The completion model {load.path} does not exist; choose another file.")
            raise CompletionUnavailable(self.reason)
        try:
            if self._child.start():
                up = self._child.receive(START_TIMEOUT)
                if not isinstance(up, WorkerUp):
                    raise ChildDied("The completion model process did not start.", self._child.exit_info(), [])
            self._child.send(load)
            reply = self._child.receive(LOAD_TIMEOUT)
        except ChildError:
            self._child.discard()
            how = self._child.exit_info().describe()
            self._set("crashed", f"The completion model could not be loaded ({how}); choose another file.")
            raise CompletionUnavailable(self.reason) from None
        if isinstance(reply, CompletionRefused):
            self._set("refused", reply.reason)
            raise CompletionUnavailable(reply.reason)
        assert isinstance(reply, CompletionModelReady)
        self.format_name = reply.format_name
        self._set("ready", "")
        return reply.format_name

    def restart(self) -> str:
        """Start a fresh worker and load the same model again (after a crash)."""
        if self._load is None:
            raise CompletionUnavailable(self.reason)
        self._child.discard()
        return self.load(self._load.path, threads=self._load.threads, context_length=self._load.context_length)

    def close(self) -> None:
        """End the worker and wait for it."""
        self.cancel()
        self._child.close(QuitWorker())
        if self.state == "ready":
            self._set("off", "Completion is off.")

    def kill(self) -> None:
        """End the worker at once (any thread)."""
        self._child.kill()

    @property
    def pid(self) -> int | None:
        return self._child.pid

    def _set(self, state: CompletionState, reason: str) -> None:
        self.state, self.reason = state, reason

    # -- requests --------------------------------------------------------------

    def new_request_id(self) -> int:
        """A fresh request id; every older request is cancelled from now on (any thread)."""
        with self._id_lock:
            self._last_id += 1
            self._newest.value = self._last_id
            return self._last_id

    def cancel(self) -> None:
        """Cancel whatever runs or waits (any thread)."""
        self.new_request_id()

    def is_stale(self, request_id: int) -> bool:
        return bool(self._newest.value > request_id)

    def complete(
        self,
        request: CompletionInput,
        limits: CompletionLimits | None = None,
        *,
        request_id: int | None = None,
        on_text: Callable[[int, str], None] | None = None,
    ) -> CompletionResult:
        """Fill in the middle for ``request``; ``on_text(id, suggestion)`` as it grows.

        A request whose id is already stale returns ``cancelled`` without
        touching the worker. When the worker dies, completion turns off
        (``state == "crashed"``) and the result carries the one sentence.
        """
        started = time.monotonic()
        rid = request_id if request_id is not None else self.new_request_id()
        if self.state != "ready":
            return CompletionResult(rid, "", "error", error=self.reason)
        if self.is_stale(rid):
            return CompletionResult(rid, "", "cancelled")
        first: float | None = None
        try:
            self._child.send(Complete(rid, request, limits or CompletionLimits()))
            while True:
                message = self._child.receive(REQUEST_TIMEOUT)
                if isinstance(message, SuggestionText) and message.request_id == rid:
                    if first is None:
                        first = time.monotonic() - started
                    if on_text is not None and not self.is_stale(rid):
                        on_text(rid, message.text)
                elif isinstance(message, CompletionFinished) and message.request_id == rid:
                    return CompletionResult(
                        rid,
                        message.text,
                        message.reason,
                        message.stats,
                        first,
                        time.monotonic() - started,
                        message.error,
                    )
        except (ChildDied, ChildTimeout) as err:
            self._child.discard()
            how = err.exit.describe() if isinstance(err, ChildDied) else "it stopped answering"
            self._set(
                "crashed", f"The completion model stopped unexpectedly ({how}); completion is off until you restart it."
            )
            return CompletionResult(rid, "", "error", error=self.reason)

    def render(self, request: CompletionInput, budget: PromptBudget | None = None) -> RenderedFim:
        """The exact prompt ``complete`` would send for ``request``."""
        if self.state != "ready":
            raise CompletionUnavailable(self.reason)
        try:
            self._child.send(RenderFim(request, budget or PromptBudget()))
            reply = self._child.receive(REQUEST_TIMEOUT)
        except (ChildDied, ChildTimeout):
            self._child.discard()
            self._set("crashed", "The completion model stopped unexpectedly; completion is off until you restart it.")
            raise CompletionUnavailable(self.reason) from None
        if not isinstance(reply, RenderedFim):
            raise CompletionUnavailable(getattr(reply, "reason", "The completion model could not build the prompt."))
        return reply

    def __enter__(self) -> CompletionEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
