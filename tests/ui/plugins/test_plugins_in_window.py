"""Plugins in the window: slash commands in the chat, review and apply of edits, undo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.edits.proposal import replacement_proposal
from app.core.plugins.contributions import CommandResult
from app.ui.editor.document import QtEditor
from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import js, load_model

MakeWindow = Callable[[], MainWindow]


def page_text(qtbot: QtBot, window: MainWindow) -> str:
    return str(js(qtbot, window, "document.body.innerText"))


def test_help_lists_the_commands(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.chat.input.setPlainText("/help")
    window.chat.send()
    qtbot.waitUntil(lambda: "/gen" in page_text(qtbot, window) and "/edit" in page_text(qtbot, window))
    assert window.chat.input.toPlainText() == ""


def test_slash_completion_comes_from_plugins(make_window: MakeWindow) -> None:
    window = make_window()
    assert {"gen", "explain", "edit", "help"} <= set(window.plugins.complete_command(""))
    assert window.plugins.complete_command("ex") == ["explain"]


def test_unknown_command_is_a_readable_message(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.chat.input.setPlainText("/nonsense now")
    window.chat.send()
    qtbot.waitUntil(lambda: "There is no command /nonsense" in page_text(qtbot, window))


def test_third_party_plugin_command_works_in_the_chat(
    sample_installed: None, make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path
) -> None:
    window = make_window()
    records = {record.id: record for record in window.plugins.manager.records()}
    assert any(record.name == "Sample" and record.state == "enabled" for record in records.values())
    load_model(qtbot, window, qwen3_gguf)  # the sample plugin requires a model
    window.chat.input.setPlainText("/shout hello there")
    window.chat.send()
    qtbot.waitUntil(lambda: "HELLO THERE" in page_text(qtbot, window), timeout=10_000)


def test_a_command_that_asks_the_model_streams_its_reply(
    make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path
) -> None:
    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    window.new_file()
    window.tabs.insert_at_cursor("def add(a, b):\n    return a + b\n")
    window.chat.request_overrides = {"max_tokens": 16, "seed": 2}
    window.chat.input.setPlainText("/explain")
    window.chat.send()
    qtbot.waitUntil(lambda: window.chat.busy, timeout=10_000)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    messages = window.chat.store.messages(window.chat.conversation_id)  # type: ignore[arg-type]
    assert messages[0].content == "/explain" and messages[-1].role == "assistant" and messages[-1].content


def test_review_applies_only_accepted_hunks_as_one_undo_step(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.new_file()
    original = "".join(f"line {i}\n" for i in range(1, 41))
    window.tabs.insert_at_cursor(original)
    document = QtEditor(window.tabs).current()
    assert document is not None
    proposed = original.replace("line 2\n", "line two\n").replace("line 38\n", "line thirty-eight\n")
    proposal = replacement_proposal(document, 0, len(original), proposed)
    assert len(proposal.changes[0].hunks) == 2
    key = proposal.changes[0].key
    window.plugins.review = lambda proposal, parent: {key: {1}}  # accept the second hunk only
    window.plugins.carry_out(CommandResult(proposal=proposal))
    editor = window.tabs.current_editor()
    assert editor is not None
    text = editor.text()
    assert "line thirty-eight" in text and "line two" not in text
    editor.undo()
    assert editor.text() == original
    qtbot.waitUntil(lambda: "Applied changes" in page_text(qtbot, window))


def test_rejected_review_changes_nothing(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.new_file()
    window.tabs.insert_at_cursor("x = 1\n")
    document = QtEditor(window.tabs).current()
    assert document is not None
    window.plugins.review = lambda proposal, parent: None
    window.plugins.carry_out(CommandResult(proposal=replacement_proposal(document, 0, 6, "x = 2\n")))
    assert window.tabs.current_editor().text() == "x = 1\n"  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: "not applied" in page_text(qtbot, window))


def test_editor_actions_appear_in_the_context_menu(make_window: MakeWindow) -> None:
    window = make_window()
    editor = window.new_file() or window.tabs.current_editor()
    assert editor is not None
    editor.set_text("print('hi')\n")
    editor.selectAll()
    menu = editor.build_context_menu(editor.rect().center())
    labels = [action.text() for action in menu.actions()]
    plugin_labels = [entry.action.label for entry in window.plugins.manager.editor_actions()]
    assert plugin_labels and set(plugin_labels) <= set(labels)
    menu.deleteLater()


def test_plugins_can_be_turned_off(make_window: MakeWindow) -> None:
    window = make_window()
    window.plugins.apply_choices({"codegen": False})
    assert "gen" not in window.plugins.complete_command("")
    window.plugins.apply_choices({"codegen": True})
    assert "gen" in window.plugins.complete_command("")
