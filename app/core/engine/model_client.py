"""Asking a model from anywhere in core: ``ModelClient``, ``AskOptions`` and the real client.

Plugins, commit messages and evaluations all ask through a ``ModelClient``;
``EngineModelClient`` is the real one, sending through the ``EngineOwner``
(so its requests queue behind the chat's and stop on their own) with the
request built by ``RequestDefaults``. Scripted fakes in tests meet the same
protocol. ``app.api`` re-exports ``ModelClient`` and ``AskOptions`` for plugins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from app.core.edits.thinking import strip_thinking
from app.core.engine.client import EngineState
from app.core.engine.events import AnswerText, Done, EngineError, EngineEvent
from app.core.engine.options import ChatMessage
from app.core.engine.owner import EngineOwner
from app.core.engine.requests import RequestDefaults
from app.core.errors import QuillpadError


@dataclass(frozen=True)
class AskOptions:
    """How to ask the model. ``None`` leaves the choice to the user's settings."""

    thinking: bool | None = None
    max_tokens: int | None = None
    seed: int | None = None
    # A llama.cpp GBNF grammar; clients that cannot constrain output ignore it
    # (see ``ModelClient.supports_grammar``). It applies to thinking too.
    grammar: str | None = None


@runtime_checkable
class ModelClient(Protocol):
    """Asks a model. ``stream`` yields the engine's events, ending with ``Done`` or ``EngineError``."""

    supports_grammar: bool

    def ready(self) -> bool:
        """Whether a model is loaded and can answer."""
        ...

    def stream(self, messages: Sequence[ChatMessage], options: AskOptions) -> Iterator[EngineEvent]:
        """The events of one reply (blocking between events)."""
        ...

    def ask(self, messages: Sequence[ChatMessage], options: AskOptions) -> str:
        """The whole answer, without thinking; raises ``QuillpadError`` if the reply failed."""
        ...

    def stop(self) -> None:
        """End this client's current reply early (safe from any thread); other requests go on."""
        ...


class ModelReplyError(QuillpadError):
    """The model's reply failed; the message is the engine's."""


def answer_from_events(events: Iterable[EngineEvent]) -> str:
    """The answer a stream of events carries, without thinking.

    Raises ``ModelReplyError`` when the stream ends with an ``EngineError``.
    """
    pieces: list[str] = []
    for event in events:
        if isinstance(event, AnswerText):
            pieces.append(event.text)
        elif isinstance(event, Done):
            return strip_thinking(event.answer or "".join(pieces))
        elif isinstance(event, EngineError):
            raise ModelReplyError(event.message)
    return strip_thinking("".join(pieces))


class EngineModelClient:
    """Asks through the app's ``EngineOwner``; blocking, so call it off the GUI thread.

    ``defaults`` (or a function returning the current ones) fills what
    ``AskOptions`` leaves open. ``purpose`` names the requests in the queue
    ("commit message", "evaluation", …). ``stop()`` ends only the requests
    this client started.
    """

    supports_grammar = True

    def __init__(
        self,
        owner: EngineOwner,
        defaults: RequestDefaults | Callable[[], RequestDefaults] | None = None,
        *,
        purpose: str = "plugin",
    ) -> None:
        self.owner = owner
        self._defaults = defaults if defaults is not None else RequestDefaults()
        self.purpose = purpose
        self._lock = threading.Lock()
        self._active: set[int] = set()

    @property
    def defaults(self) -> RequestDefaults:
        return self._defaults() if callable(self._defaults) else self._defaults

    def ready(self) -> bool:
        # A busy backend still has its model: this client's request queues behind the running one.
        return self.owner.state in (EngineState.READY, EngineState.BUSY)

    def stream(self, messages: Sequence[ChatMessage], options: AskOptions) -> Iterator[EngineEvent]:
        request = self.defaults.request(
            messages,
            thinking=options.thinking,
            max_tokens=options.max_tokens,
            seed=options.seed,
            grammar=options.grammar,
        )
        reply = self.owner.chat(request, self.purpose)
        with self._lock:
            self._active.add(reply.id)
        return self._tracked(reply.id, reply)

    def _tracked(self, request_id: int, events: Iterator[EngineEvent]) -> Iterator[EngineEvent]:
        try:
            yield from events
        finally:
            with self._lock:
                self._active.discard(request_id)

    def ask(self, messages: Sequence[ChatMessage], options: AskOptions) -> str:
        return answer_from_events(self.stream(messages, options))

    def stop(self) -> None:
        with self._lock:
            active = list(self._active)
        for request_id in active:
            self.owner.stop(request_id)
