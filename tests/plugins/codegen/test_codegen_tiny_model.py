"""The wiring with a real engine and the tiny random-weight model: the plugin
gets a reply, nothing crashes, and no edit is proposed from noise."""

from __future__ import annotations

from pathlib import Path

from app.core.chat.commands import run_command
from app.core.edits.document import MemoryDocument
from app.core.engine import LoadOptions
from app.core.engine.owner import EngineOwner
from app.core.engine.requests import RequestDefaults
from app.core.plugins.manager import PluginManager
from app.core.plugins.model import EngineModelClient
from tests.plugins.codegen.conftest import MAIN


def test_codegen_with_the_tiny_model(qwen3_gguf: Path, manager: PluginManager, document: MemoryDocument) -> None:
    manager.context_for("codegen").settings.set("max_tokens", 48)
    with EngineOwner() as owner:
        owner.load(qwen3_gguf, LoadOptions(threads=1, context_length=4096))
        manager.host.model = EngineModelClient(owner, RequestDefaults(thinking=False, seed=11))
        assert manager.host.available("model")
        edit = run_command(manager, "/edit use f-strings")
        assert len(edit.answers) == 1 and edit.answers[0].strip() and edit.proposal is None
        assert "no edits that could be used" in edit.messages[-1] or "None of the proposed" in edit.messages[-1]
        explain = run_command(manager, "/explain")
        assert len(explain.answers) == 1 and explain.proposal is None
        assert "<think>" not in explain.answers[0]
    assert document.text() == MAIN and document.undo_steps == 0
