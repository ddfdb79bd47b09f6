"""The one way into a backend: ``EngineOwner`` holds the local engine and any
model-server connection, and runs every request in turn.

Everything that asks a model (the chat, a plugin, the commit message, an
evaluation, the CLI) goes through an owner, from any thread:

- Every request gets an id when it is made (``chat`` returns a
  ``ReplyStream`` carrying it; ``reserve_id`` hands one out before the
  request exists, for a front-end that sends on another thread).
- ``stop(request_id)`` ends that request only: the running one is stopped in
  the backend, a waiting one leaves the queue. Stopping a chat reply never
  ends a commit message or an evaluation, and the reverse.
- One request runs at a time (one model, one KV cache). A second request
  waits in a first-come, first-served queue; while it waits its stream yields
  ``Queued(position)`` whenever the number of requests ahead changes, so the
  user sees why nothing happens yet. Loading, rendering and switching
  backends wait their turn the same way.

The lock and condition below guard the queue, the running request and the
backend choice; the ``Engine`` itself is then only ever driven by the thread
whose turn it is.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.engine.backend import ChatBackend
from app.core.engine.client import Engine, EngineState, LoadedModel
from app.core.engine.events import Done, EngineEvent, Queued, RenderedPrompt
from app.core.engine.options import ChatRequest, LoadOptions

if TYPE_CHECKING:
    from app.core.remote import RemoteBackend, RemoteConfig, RemoteModel

WAIT_SECONDS = 0.25  # how often a waiting request re-reads its position (it is also woken at once)


@dataclass(eq=False)
class _Ticket:
    """One request's place in the queue."""

    id: int
    purpose: str
    cancelled: bool = False


class ReplyStream(Iterator[EngineEvent]):
    """The events of one request, tagged with its ``id``; iterate it on the thread that wants the reply.

    Nothing is queued until the first ``next()``; leaving the loop early
    (``close()``, or the generator being collected) stops the request.
    """

    def __init__(self, request_id: int, purpose: str, events: Iterator[EngineEvent]) -> None:
        self.id = request_id
        self.purpose = purpose
        self._events = events

    def __iter__(self) -> ReplyStream:
        return self

    def __next__(self) -> EngineEvent:
        return next(self._events)

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()


class EngineOwner:
    """The local engine, an optional model-server connection, and the request queue."""

    def __init__(self, engine: Engine | None = None, remote: RemoteBackend | None = None) -> None:
        """``remote``: a model-server connection already made, to use from the start (an evaluation's
        sibling connections each get an owner of their own)."""
        self.engine = engine if engine is not None else Engine()
        self._remote: RemoteBackend | None = remote
        self._backend: ChatBackend = remote if remote is not None else self.engine
        self._cond = threading.Condition()
        self._queue: deque[_Ticket] = deque()
        self._running: _Ticket | None = None
        self._ids = itertools.count(1)
        self._reserved: set[int] = set()  # ids handed out by reserve_id whose request has not arrived
        self._stopped_early: set[int] = set()  # reserved ids stopped before their request arrived
        self._closed = False

    # -- what is there --------------------------------------------------------

    @property
    def backend(self) -> ChatBackend:
        """The backend replies come from now: the local ``Engine`` or a ``RemoteBackend``."""
        with self._cond:
            return self._backend

    @property
    def remote(self) -> RemoteBackend | None:
        with self._cond:
            return self._remote

    @property
    def state(self) -> EngineState:
        """The current backend's state (``READY`` when a request may be sent)."""
        return self.backend.state

    @property
    def loaded(self) -> LoadedModel | None:
        """The local engine's model (None while a server is used or nothing is loaded)."""
        return self.engine.loaded if self.remote is None else None

    def waiting(self) -> int:
        """How many requests are queued or running."""
        with self._cond:
            return len(self._queue)

    def running_id(self) -> int | None:
        """The id of the request the backend is working on, if any."""
        with self._cond:
            return self._running.id if self._running is not None else None

    # -- the queue ------------------------------------------------------------

    def reserve_id(self) -> int:
        """A fresh request id, for a request made later with ``chat(..., request_id=...)``."""
        with self._cond:
            request_id = next(self._ids)
            self._reserved.add(request_id)
            return request_id

    def _enqueue(self, request_id: int | None, purpose: str) -> _Ticket:
        with self._cond:
            ticket = _Ticket(next(self._ids) if request_id is None else request_id, purpose)
            self._reserved.discard(ticket.id)
            if ticket.id in self._stopped_early:
                self._stopped_early.discard(ticket.id)
                ticket.cancelled = True
            self._queue.append(ticket)
            return ticket

    def _leave(self, ticket: _Ticket) -> None:
        with self._cond:
            if self._running is ticket:
                self._running = None
            if ticket in self._queue:
                self._queue.remove(ticket)
            self._cond.notify_all()

    def _wait_turn(self, ticket: _Ticket) -> Iterator[int]:
        """Yield the number of requests ahead each time it changes; return once it is this one's turn
        (or it was cancelled)."""
        last = -1
        while True:
            with self._cond:
                if ticket.cancelled or self._queue[0] is ticket:
                    if not ticket.cancelled:
                        self._running = ticket
                    return
                ahead = self._queue.index(ticket)
                if ahead == last:
                    self._cond.wait(WAIT_SECONDS)
                    continue
            last = ahead
            yield ahead

    @contextmanager
    def _turn(self, purpose: str) -> Iterator[None]:
        """Run a short exclusive job (load, render, switch) when its turn comes."""
        ticket = self._enqueue(None, purpose)
        try:
            for _ in self._wait_turn(ticket):
                pass
            yield
        finally:
            self._leave(ticket)

    def chat(self, request: ChatRequest, purpose: str = "chat", request_id: int | None = None) -> ReplyStream:
        """Queue one reply; iterate the result for its events (``Queued`` while waiting, then the reply)."""
        with self._cond:
            rid = next(self._ids) if request_id is None else request_id
        return ReplyStream(rid, purpose, self._run(rid, purpose, request))

    def _run(self, request_id: int, purpose: str, request: ChatRequest) -> Iterator[EngineEvent]:
        request.validate()  # a bad request fails at once, before it waits for anything
        ticket = self._enqueue(request_id, purpose)
        try:
            for ahead in self._wait_turn(ticket):
                yield Queued(ahead)
            if ticket.cancelled:
                yield Done("cancelled")
                return
            backend = self.backend
            events = backend.chat(request)
            stopped_in_backend = False
            try:
                for event in events:
                    # A stop that came between our turn starting and the backend resetting
                    # its stop flag would be lost: repeat it once the reply is under way.
                    if ticket.cancelled and not stopped_in_backend:
                        stopped_in_backend = True
                        backend.stop()
                    yield event
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
        finally:
            self._leave(ticket)

    def stop(self, request_id: int) -> bool:
        """End request ``request_id`` (running: stopped in the backend; waiting: taken out of the queue).

        Safe from any thread; other requests are untouched. False when no such
        request is known (it already ended, or its id was never reserved).
        """
        with self._cond:
            ticket = next((t for t in self._queue if t.id == request_id), None)
            if ticket is None:
                if request_id in self._reserved:
                    # Reserved but not arrived yet (still in a front-end's queued signal): stop it on arrival.
                    self._stopped_early.add(request_id)
                    return True
                return False
            ticket.cancelled = True
            running = self._running is ticket
            backend = self._backend
            self._cond.notify_all()
        if running:
            backend.stop()
        return True

    def stop_all(self) -> None:
        """End every request (the app is closing)."""
        with self._cond:
            for ticket in self._queue:
                ticket.cancelled = True
            backend = self._backend
            self._cond.notify_all()
        backend.stop()

    # -- the model and the backend --------------------------------------------

    def load(self, path: str | Path, options: LoadOptions | None = None) -> LoadedModel:
        """Load a model in the local engine (after the requests ahead); replies then come from it."""
        with self._turn("load"):
            self._close_remote()
            return self.engine.load(path, options)

    def restart(self) -> LoadedModel | None:
        """Restart the local engine and reload its last model."""
        with self._turn("restart"):
            return self.engine.restart()

    def unload(self) -> None:
        """Free the local model."""
        with self._turn("unload"):
            self.engine.unload()

    def render(self, request: ChatRequest) -> RenderedPrompt:
        """The exact prompt the local engine would evaluate for ``request``."""
        with self._turn("render"):
            return self.engine.render(request)

    def connect_remote(self, config: RemoteConfig) -> RemoteModel:
        """Connect to a model server and make it the backend; on failure the local engine stays."""
        from app.core.remote import RemoteBackend

        with self._turn("connect"):
            self._close_remote()
            remote = RemoteBackend(config)
            connected = remote.connect()
            with self._cond:
                self._remote, self._backend = remote, remote
            return connected

    def use_local(self) -> None:
        """Close any server connection; replies come from the local engine again."""
        with self._turn("use local"):
            self._close_remote()

    def _close_remote(self) -> None:
        with self._cond:
            remote, self._remote = self._remote, None
            self._backend = self.engine
        if remote is not None:
            remote.close()

    def close(self) -> None:
        """Stop everything and end the worker (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.stop_all()
        self._close_remote()
        self.engine.close()

    def kill(self) -> None:
        """End the worker at once from any thread (a load that will not finish at shutdown)."""
        self.engine.kill()

    def __enter__(self) -> EngineOwner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
