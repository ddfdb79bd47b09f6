"""/steps with a real engine and the tiny random-weight model: the path works and noise is never verified."""

from __future__ import annotations

from pathlib import Path

from app.core.chat.commands import run_command
from app.core.engine import LoadOptions
from app.core.engine.owner import EngineOwner
from app.core.engine.requests import RequestDefaults
from app.core.plugins.model import EngineModelClient
from tests.plugins.math.test_math_plugin import make_manager


def test_steps_with_the_tiny_model(qwen3_gguf: Path, tmp_path: Path) -> None:
    manager = make_manager(tmp_path, None)
    manager.context_for("math").settings.set("max_tokens", 48)
    with EngineOwner() as owner:
        owner.load(qwen3_gguf, LoadOptions(threads=1, context_length=4096))
        manager.host.model = EngineModelClient(owner, RequestDefaults(thinking=False, seed=5))
        outcome = run_command(manager, "/steps Solve 2x + 3 = 7")
    assert len(outcome.answers) == 1
    report = outcome.messages[-1]
    assert report.startswith("**Steps checked by SymPy**")
    assert "✓ verified" not in report and "✓ answer verified" not in report
