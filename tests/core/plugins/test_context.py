"""The plugin context: the model without thinking, streaming, services, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api import AnswerText, AskOptions, ChatMessage, ThinkingText
from app.core.edits.document import MemoryDocument, MemoryEditor
from app.core.plugins.context import MissingCapabilityError, PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.model import ModelReplyError, answer_from_events
from tests.fixtures.scripted_model import ScriptedModel

HELLO = (ChatMessage("user", "hello"),)


def test_ask_model_strips_thinking(manager: PluginManager) -> None:
    context = manager.context_for("anyone")
    manager.host.model = ScriptedModel(["the answer"], thinking="secret reasoning")
    assert context.ask_model(HELLO) == "the answer"
    manager.host.model = ScriptedModel(["the answer"], thinking="secret reasoning", inline_thinking=True)
    assert context.ask_model(HELLO, AskOptions(max_tokens=5)) == "the answer"
    assert manager.host.model.requests[0][1].max_tokens == 5


def test_stream_model_keeps_thinking_apart(manager: PluginManager) -> None:
    manager.host.model = ScriptedModel(["streamed answer"], thinking="hmm", chunk=4)
    events = list(manager.context_for("x").stream_model(HELLO))
    assert isinstance(events[0], ThinkingText) and events[0].text == "hmm"
    assert "".join(e.text for e in events if isinstance(e, AnswerText)) == "streamed answer"


def test_model_errors_and_absence_are_plain_sentences(manager: PluginManager) -> None:
    manager.host.model = ScriptedModel(["x"], error="The model engine stopped unexpectedly; restart it.")
    with pytest.raises(ModelReplyError, match="restart it"):
        manager.context_for("x").ask_model(HELLO)
    manager.host.model = None
    with pytest.raises(MissingCapabilityError, match=r"^Asking the model needs a loaded model; load a model first\.$"):
        manager.context_for("x").ask_model(HELLO)


def test_answer_from_events_without_done() -> None:
    assert answer_from_events([AnswerText("<think>a</think>b"), AnswerText("c")]) == "bc"


def test_services_and_project_root(tmp_path: Path) -> None:
    host = PluginHost()
    manager = PluginManager(host)
    context = manager.context_for("p")
    assert context.git is None and context.sandbox is None and context.project is None  # nothing open
    assert not context.has("git") and not context.has("editor") and not context.has("model")
    with pytest.raises(MissingCapabilityError, match="in a git repository"):
        context.require("Committing", "git")
    assert context.current_document() is None and context.project_root() is None
    host.editor = MemoryEditor([MemoryDocument("x", tmp_path / "a" / "b.py")])
    assert context.has("editor") and context.project_root() == tmp_path / "a"

    class Project:
        root = tmp_path

        def files(self) -> list[Path]:
            return []

        def search(self, query: str, k: int = 8) -> list[object]:
            return []

        def assemble_context(self, query: str, max_chars: int) -> str:
            return ""

    host.project = Project()
    assert context.has("project") and context.project_root() == tmp_path


def test_settings_sections_are_per_plugin_and_saved(manager: PluginManager) -> None:
    first, second = manager.context_for("one"), manager.context_for("two")
    first.settings.set("level", 3)
    assert first.settings.get("level") == 3 and second.settings.get("level", "none") == "none"
    assert first.settings.values() == {"level": 3}
    with pytest.raises(Exception, match="cannot be saved"):
        first.settings.set("bad", object())


def test_notify_and_log(manager: PluginManager, caplog: pytest.LogCaptureFixture) -> None:
    context = manager.context_for("noisy")
    context.notify("Indexed 12 files.")
    assert manager.host.notifier.messages == ["Indexed 12 files."]  # type: ignore[attr-defined]
    assert context.log.name == "app.plugins.noisy"
