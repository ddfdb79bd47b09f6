"""The inference engine: a llama.cpp model in a worker process, driven by plain data.

``Engine`` (``client.py``) is the parent-side handle; ``worker.py`` runs in the
child; everything they exchange is defined in ``events.py`` and ``options.py``.
"""

from app.core.engine.client import Engine, EngineState, LoadedModel
from app.core.engine.events import (
    AnswerText,
    Done,
    EngineError,
    EngineEvent,
    Notice,
    Stats,
    ThinkingText,
)
from app.core.engine.options import ChatMessage, ChatRequest, LoadOptions, SamplingOverrides

__all__ = [
    "AnswerText",
    "ChatMessage",
    "ChatRequest",
    "Done",
    "Engine",
    "EngineError",
    "EngineEvent",
    "EngineState",
    "LoadOptions",
    "LoadedModel",
    "Notice",
    "SamplingOverrides",
    "Stats",
    "ThinkingText",
]
