"""Chat-flow fixtures: a real tiny model behind an owner that records what it was asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.chat import ChatSession
from app.core.conversations import ConversationStore
from app.core.engine import ChatRequest, LoadOptions
from app.core.engine.owner import EngineOwner, ReplyStream
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.state import PluginStateStore
from app.core.settings import Settings


class RecordingOwner(EngineOwner):
    """A real owner that keeps every chat request, so a test can render the exact prompt the engine got."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[ChatRequest] = []

    def chat(self, request: ChatRequest, purpose: str = "chat", request_id: int | None = None) -> ReplyStream:
        self.requests.append(request)
        return super().chat(request, purpose, request_id)

    def last_prompt(self) -> str:
        """The text the model evaluated for the last request, rendered by the engine itself."""
        return self.render(self.requests[-1]).text


@pytest.fixture
def owner(qwen3_gguf: Path) -> Iterator[RecordingOwner]:
    """The tiny real model (a worker per test: the suite fails on processes left running)."""
    with RecordingOwner() as owner:
        owner.load(qwen3_gguf, LoadOptions(threads=1, context_length=4096))
        yield owner


@pytest.fixture
def settings() -> Settings:
    value = Settings()
    value.engine.thinking = False
    value.engine.seed = 7
    return value


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    with ConversationStore(tmp_path / "conversations.sqlite3") as store:
        yield store


@pytest.fixture
def notifier() -> ListNotifier:
    return ListNotifier()


@pytest.fixture
def plugins(notifier: ListNotifier, tmp_path: Path) -> PluginManager:
    return PluginManager(PluginHost(notifier=notifier), PluginStateStore(tmp_path / "plugins.json"))


@pytest.fixture
def session(store: ConversationStore, owner: RecordingOwner, settings: Settings, plugins: PluginManager) -> ChatSession:
    chat = ChatSession(store, owner, lambda: settings, plugins=plugins)
    chat.overrides["max_tokens"] = 8
    return chat
