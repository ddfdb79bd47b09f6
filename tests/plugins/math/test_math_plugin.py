"""The math plugin through the plugin manager, with a scripted model where the test is about what it says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.chat.commands import run_command, run_result
from app.core.edits.document import MemoryEditor
from app.core.plugins.background import CancelToken
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
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
    outcome = run_command(make_manager(tmp_path, model), "/steps Solve 2x + 3 = 7")
    assert "put your final answer within \\boxed{}" in model.last_prompt and "Solve 2x + 3 = 7" in model.last_prompt
    report = outcome.messages[-1]
    assert report.count("**✓ verified**") == 4 and "✓ answer verified" in report


def test_a_wrong_model_step_is_caught_and_the_answer_flagged(tmp_path: Path) -> None:
    outcome = run_command(make_manager(tmp_path, ScriptedModel([BAD])), "/steps Solve 2x + 3 = 7")
    report = outcome.messages[-1]
    assert "**✗ wrong**: $2x = 10$" in report and "✗ answer wrong" in report


def test_check_marks_the_working_without_a_model(tmp_path: Path) -> None:
    outcome = run_command(make_manager(tmp_path, None), "/check " + WORKING)
    assert outcome.answers == []
    assert "**✗ wrong**: $3x = 7$" in outcome.messages[0]


def test_check_asks_the_model_to_explain_only_the_first_wrong_step(tmp_path: Path) -> None:
    model = ScriptedModel(["You subtracted 4 instead of adding it to both sides."])
    outcome = run_command(make_manager(tmp_path, model), "/check " + WORKING)
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
    # The check itself is background work, for the app to run off the GUI thread.
    assert result.message == "" and result.background is not None
    assert result.background.title == "Checking 3 steps…"
    assert "**✗ wrong**" in run_result(result, None).messages[0]


def test_tutor_mode_gives_one_hint_at_a_time_and_holds_back_the_answer(tmp_path: Path) -> None:
    model = ScriptedModel(
        ["What could you subtract from both sides?", "So $\\boxed{2}$.", "Then $x = 2$.", "Now divide by 2.", GOOD]
    )
    manager = make_manager(tmp_path, model)
    assert "Tutor mode is on" in run_command(manager, "/tutor on").messages[0]
    first = run_command(manager, "/steps Solve 2x + 3 = 7")
    assert first.answers == ["What could you subtract from both sides?"] and "Hint 1" in first.messages[-1]
    assert "Give exactly ONE short hint" in model.last_prompt and "boxed" not in model.last_prompt
    for _leak in range(2):
        assert "held back" in run_command(manager, "/hint").messages[-1]
    second = run_command(manager, "/hint")
    assert "Hint 2" in second.messages[-1] and "What could you subtract" in model.last_prompt
    solution = run_command(manager, "/hint answer")
    assert "✓ answer verified" in solution.messages[-1]
    assert "no problem" in run_command(manager, "/hint").messages[0]
    assert "off" in run_command(manager, "/tutor off").messages[0]


def test_bad_input_gets_a_clear_message(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, None)
    assert "Give a problem" in run_command(manager, "/steps").messages[0]
    assert "Paste your working" in run_command(manager, "/check").messages[0]
    with pytest.raises(Exception, match="load a model"):
        run_command(manager, "/steps Solve x = 1")


def test_hints_are_kept_per_conversation(tmp_path: Path) -> None:
    model = ScriptedModel(["Subtract 3 from both sides.", "Think about what multiplies x.", "Now divide by 2."])
    manager = make_manager(tmp_path, model)
    first = run_command(manager, "/hint Solve 2x + 3 = 7", conversation_id=1)
    assert "Hint 1" in first.messages[-1]
    # A new chat starts fresh: no problem, no hints.
    assert "no problem" in run_command(manager, "/hint", conversation_id=2).messages[0]
    other = run_command(manager, "/hint Solve 5y = 10", conversation_id=2)
    assert "Hint 1" in other.messages[-1] and "Subtract 3" not in model.last_prompt
    # Back in the first conversation, its hints resume where they were.
    resumed = run_command(manager, "/hint", conversation_id=1)
    assert "Hint 2" in resumed.messages[-1]
    assert "Solve 2x + 3 = 7" in model.last_prompt and "Hint 1: Subtract 3 from both sides." in model.last_prompt


def test_tutor_mode_is_a_declared_option_and_tutor_changes_it(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, None)
    (_record, declared), *_ = [page for page in manager.settings_pages() if page[0].id == "math"]
    assert [(s.key, s.default) for s in declared] == [("tutor_mode", False)]
    assert declared[0].label == "Tutor mode: hints one at a time, the answer only when asked"
    context = manager.context_for("math")
    assert context.option("tutor_mode") is False
    run_command(manager, "/tutor on")
    assert manager.host.options.values("math") == {"tutor_mode": True}
    context.set_option("tutor_mode", False)  # what Settings ▸ Plugins does
    assert "Tutor mode is off" in run_command(manager, "/tutor").messages[0]


def test_the_old_tutor_flag_in_plugins_json_is_honoured_once(tmp_path: Path) -> None:
    store = tmp_path / "plugins.json"
    store.write_text(json.dumps({"disabled": [], "sections": {"math": {"tutor_mode": True, "max_tokens": 50}}}))
    manager = make_manager(tmp_path, None)
    assert manager.context_for("math").option("tutor_mode") is True
    sections = json.loads(store.read_text())["sections"]
    assert sections["math"] == {"max_tokens": 50}  # moved out, the rest kept
    manager.context_for("math").set_option("tutor_mode", False)
    again = make_manager(tmp_path, None)  # a new session: nothing to migrate any more
    assert again.host.options.values("math") == {}
    assert again.context_for("math").option("tutor_mode") is False


def test_a_cancelled_check_stops_and_leaves_no_worker(tmp_path: Path) -> None:
    manager = make_manager(tmp_path, None)
    result = manager.dispatch("/check " + WORKING)
    assert result.background is not None
    token = CancelToken()
    token.cancel()
    assert run_result(result, None, token=token).messages == ["The check was stopped."]
