"""Agent-mode fixtures: a real owner and session over a scripted engine, a real project with tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from app.core.agent.executor import ToolExecutor
from app.core.chat import ChatSession
from app.core.conversations import ConversationStore
from app.core.engine.owner import EngineOwner
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.project_access import ProjectAccessAdapter
from app.core.plugins.state import PluginStateStore
from app.core.project import Project
from app.core.settings import Settings
from app.core.toolcalls.registry import ToolRegistry
from plugins.agenttools import AgentToolsPlugin
from tests.fixtures.scripted_model import Reply, ScriptedEngine

CALC = "def add(a, b):\n    return a - b\n"
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "calc.py").write_text(CALC, encoding="utf-8")
    (root / "test_calc.py").write_text(TEST_CALC, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@pytest.fixture
def project(project_dir: Path, isolated_home: Path) -> Iterator[Project]:
    with Project(project_dir, isolated_home / "data") as opened:
        opened.open()
        yield opened


@pytest.fixture
def settings() -> Settings:
    value = Settings()
    value.engine.thinking = False
    return value


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    with ConversationStore(tmp_path / "conversations.sqlite3") as opened:
        yield opened


@pytest.fixture
def manager(tmp_path: Path, project: Project) -> PluginManager:
    from app.core.git.access import RepoGitAccess  # noqa: F401  (the real git access, when a test wants it)

    host = PluginHost(notifier=ListNotifier(), project=ProjectAccessAdapter(project))
    plugins = PluginManager(host, PluginStateStore(tmp_path / "plugins.json"))
    plugins.register(AgentToolsPlugin(), "agenttools")
    return plugins


@pytest.fixture
def make_session(
    store: ConversationStore, settings: Settings, manager: PluginManager
) -> Iterator[Callable[[Sequence[Reply]], tuple[ChatSession, ScriptedEngine]]]:
    owners: list[EngineOwner] = []

    def make(replies: Sequence[Reply]) -> tuple[ChatSession, ScriptedEngine]:
        engine = ScriptedEngine(replies)
        owner = EngineOwner(engine)  # type: ignore[arg-type]  # a stand-in engine behind the real queue
        owners.append(owner)
        return ChatSession(store, owner, lambda: settings, plugins=manager), engine

    yield make
    for owner in owners:
        owner.close()


@pytest.fixture
def registry(manager: PluginManager, settings: Settings) -> ToolRegistry:
    return ToolRegistry([manager], lambda: settings.agent)


@pytest.fixture
def executor(registry: ToolRegistry, project_dir: Path) -> ToolExecutor:
    return ToolExecutor(registry, project_dir, default_timeout=5.0)


def call(name: str, **arguments: object) -> str:
    """A Qwen3-style tool call block."""
    import json

    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


PYTHON = sys.executable
