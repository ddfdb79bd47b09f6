"""The one interface the chat needs from whatever writes replies.

The local ``Engine`` (a model in a worker process) and ``RemoteBackend`` (an
OpenAI-compatible model server) both satisfy ``ChatBackend``: they stream the
plain-data events of ``events.py`` for a ``ChatRequest``, stop from any
thread, and report their state. The GUI bridge and ``quillpad chat`` talk to
this interface only, so both kinds of backend behave the same to the user.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from app.core.engine.events import EngineEvent
from app.core.engine.options import ChatRequest

if TYPE_CHECKING:
    from app.core.engine.client import Engine, EngineState


class ChatBackend(Protocol):
    """Streams replies; the last event of ``chat`` is ``Done`` or ``EngineError``."""

    @property
    def state(self) -> EngineState:
        """What the backend is doing (``READY`` when a request may be sent)."""
        ...

    def chat(self, request: ChatRequest) -> Iterator[EngineEvent]:
        """Stream one reply. Bad requests raise ``QuillpadError`` at the first ``next()``."""
        ...

    def stop(self) -> None:
        """End the current reply as soon as possible; safe from any thread."""
        ...

    def close(self) -> None:
        """Release everything the backend holds (processes, connections)."""
        ...

    def kill(self) -> None:
        """End at once from any thread (app shutdown)."""
        ...


if TYPE_CHECKING:
    # mypy proves here that the local engine keeps satisfying the protocol.
    def _engine_is_a_backend(engine: Engine) -> ChatBackend:
        return engine
