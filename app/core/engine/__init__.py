"""The inference engine: a llama.cpp model in a worker process, driven by plain data.

``EngineOwner`` (``owner.py``) is the one way in for the app: it holds the
local ``Engine`` and any model-server connection and queues requests, each
with an id that Stop names. ``Engine`` (``client.py``) is the parent-side
handle on the worker; ``worker.py`` runs in the child; they speak the typed
messages of ``messages.py`` and the events of ``events.py``. ``requests.py``
turns settings into requests; ``model_client.py`` is ``ModelClient`` for
plugins, git and evaluations.
"""

from app.core.engine.client import Engine, EngineState, LoadedModel
from app.core.engine.events import (
    AnswerText,
    Done,
    EngineError,
    EngineEvent,
    Notice,
    Queued,
    Stats,
    ThinkingText,
)
from app.core.engine.options import ChatMessage, ChatRequest, LoadOptions, SamplingOverrides
from app.core.engine.owner import EngineOwner, ReplyStream

__all__ = [
    "AnswerText",
    "ChatMessage",
    "ChatRequest",
    "Done",
    "Engine",
    "EngineError",
    "EngineEvent",
    "EngineOwner",
    "EngineState",
    "LoadOptions",
    "LoadedModel",
    "Notice",
    "Queued",
    "ReplyStream",
    "SamplingOverrides",
    "Stats",
    "ThinkingText",
]
