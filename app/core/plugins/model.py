"""The real engine as a ``ModelClient``: defined in ``app.core.engine.model_client``, re-exported for plugins."""

from app.core.engine.model_client import EngineModelClient, ModelReplyError, answer_from_events

__all__ = ["EngineModelClient", "ModelReplyError", "answer_from_events"]
