"""Remote model servers: the same chat over an OpenAI-compatible endpoint.

``RemoteBackend`` (``client.py``) satisfies ``app.core.engine.backend.ChatBackend``
and emits the engine's own events; ``config.py`` holds the validated server
address, ``messages.py`` turns HTTP and network failures into one-sentence
messages, and ``keys.py`` keeps API keys in the system keyring.
"""

from app.core.remote.client import RemoteBackend, RemoteModel
from app.core.remote.config import RemoteConfig, RemoteServerError

__all__ = ["RemoteBackend", "RemoteConfig", "RemoteModel", "RemoteServerError"]
