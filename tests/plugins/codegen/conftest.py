"""A project on disk, an editor holding its main file, and the codegen plugin
discovered through quillpad's own entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.edits.document import MemoryDocument, MemoryEditor
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.state import PluginStateStore
from tests.fixtures.scripted_model import ScriptedModel

MAIN = '''"""Greetings."""


def greet(name):
    message = "Hi " + name
    return message


def farewell(name):
    return "Bye " + name
'''


class FakeProject:
    """Just enough of the project index for the plugin."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.queries: list[tuple[str, int]] = []

    def files(self) -> list[Path]:
        return sorted(p.relative_to(self.root) for p in self.root.rglob("*.py"))

    def search(self, query: str, k: int = 8) -> list[object]:
        return []

    def assemble_context(self, query: str, max_chars: int) -> str:
        self.queries.append((query, max_chars))
        return "app/util.py defines helpers: shout(text)"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text(MAIN)
    (root / "app" / "util.py").write_text("def shout(text):\n    return text.upper()\n")
    return root


@pytest.fixture
def editor(project: Path) -> MemoryEditor:
    editor = MemoryEditor()
    editor.open(project / "app" / "main.py")
    return editor


@pytest.fixture
def document(editor: MemoryEditor) -> MemoryDocument:
    current = editor.current()
    assert current is not None
    return current


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel([])


@pytest.fixture
def notifier() -> ListNotifier:
    return ListNotifier()


@pytest.fixture
def fake_project(project: Path) -> FakeProject:
    return FakeProject(project)


@pytest.fixture
def manager(
    editor: MemoryEditor, model: ScriptedModel, notifier: ListNotifier, fake_project: FakeProject, tmp_path: Path
) -> PluginManager:
    host = PluginHost(notifier=notifier, model=model, editor=editor, project=fake_project)
    manager = PluginManager(host, PluginStateStore(tmp_path / "plugins.json"))
    manager.discover()
    assert manager.record("codegen").state == "enabled"
    return manager
