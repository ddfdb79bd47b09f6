"""The math plugin through the plugin manager, with a scripted model where the test is about what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.edits.document import MemoryEditor
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.runner import run_chat_input
from app.core.plugins.state import PluginStateStore
from tests.fixtures.scripted_model import ScriptedModel

GOOD = "We solve $2x + 3 = 7$.\n\n$2x = 4$\n\n$x = 2$\n\n$\\boxed{2}$"
BAD = "We solve $2x + 3 = 7$.\n\n$2x = 10$\n\n$x = 5$\n\n$\\boxed{5}$"
WORKING = "Solve $3x - 4 = 11$.\n\n$3x = 7$\n\n$x = \\frac{7}{3}$\n"


def make_manager(tmp_path: Path, model: ScriptedModel | None, editor: MemoryEditor | None = None) -> PluginManager:
    host = PluginHost(notifier=ListNotifier(), model=model, editor=editor)
    manager = PluginManager(host, PluginStateStore(tmp_path / "plugins.json"))
    manager.discover()
    assert manager.record("math").state == "enabled"
    return manager


def test_steps_asks_with_the_math_instruction_and_marks_each_step(tmp_path: Path) -> None:
    model = ScriptedModel([GOOD])
    outcome = run_chat_input(make_manager(tmp_path, model), "/steps Solve 2x + 3 = 7")
    assert "put your final answer within \\boxed{}" in model.last_prompt and "Solve 2x + 3 = 7" in model.last_prompt
    report = outcome.messages[-1]
    assert report.count("**✓ verified**") == 4 and "✓ answer verified" in report


def test_a_wrong_model_step_is_caught_and_the_answer_flagged(tmp_path: Path) -> None:
    outcome = run_chat_input(make_manager(tmp_path, ScriptedModel([BAD])), "/steps Solve 2x + 3 = 7")
    report = outcome.messages[-1]
    assert "**✗ wrong**: $2x = 10$" in report and "✗ answer wrong" in report


def test_check_marks_the_working_without_a_model(tmp_path: Path) -> None:
    outcome = run_chat_input(make_manager(tmp_path, None), "/check " + WORKING)
    assert outcome.answers == []
    assert "**✗ wrong**: $3x = 7$" in outcome.messages[0]


def test_check_asks_the_model_to_explain_only_the_first_wrong_step(tmp_path: Path) -> None:
    model = ScriptedModel(["You subtracted 4 instead of adding it to both sides."])
    outcome = run_chat_input(make_manager(tmp_path, model), "/check " + WORKING)
    assert outcome.answers == ["You subtracted 4 instead of adding it to both sides."]
    prompt = model.last_prompt
    assert "Step 2 is wrong: $3x = 7$" in prompt and "Do not solve the rest" in prompt


def test_check_uses_the_editor_selection(tmp_path: Path) -> None:
    editor = MemoryEditor()
    file = tmp_path / "homework.md"
    file.write_text("# Homework\n\n" + WORKING)
    editor.open(file)
    manager = make_manager(tmp_path, None, editor)
    result = manager.run_action("math.check", "")
    assert "**✗ wrong**" in result.message


def test_tutor_mode_gives_one_hint_at_a_time_and_holds_back_the_answer(tmp_path: Path) -> None:
    model = ScriptedModel(
        ["What could you subtract from both sides?", "So $\\boxed{2}$.", "Then $x = 2$.", "Now divide by 2.", GOOD]
    )
    manager = make_manager(tmp_path, model)
    assert "Tutor mode is on" in run_chat_input(manager, "/tutor on").messages[0]
    first = run_chat_input(manager, "/steps Solve 2x + 3 = 7")
    assert first.answers == ["What could you subtract from both sides?"] and "Hint 1" in first.messages[-1]
    assert "Give exactly ONE short hint" in model.last_prompt and "boxed" not in model.last_prompt
    for _leak in range(2):
        assert "held back" in run_chat_input(manager, "/hint").messages[-1]
    second = run_chat_input(manager, "/hint")
    assert "Hint 2" in second.messages[-1] and "What could you subtract" in model.last_prompt
    solution = run_chat_input(manager, "/hint answer")
    assert "✓ answer verified" in solution.messages[-1]
    assert "no problem" in run_chat_input(manager, "/hint").messages[0]
    assert "off" in run_chat_input(manager, "/tutor off").messages[0]


def test_bad_input_gets_a_clear_message(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, None)
    assert "Give a problem" in run_chat_input(manager, "/steps").messages[0]
    assert "Paste your working" in run_chat_input(manager, "/check").messages[0]
    with pytest.raises(Exception, match="load a model"):
        run_chat_input(manager, "/steps Solve x = 1")
