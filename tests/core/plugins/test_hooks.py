"""Every hook specification, through a plugin registered in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api import (
    CommandInvocation,
    CommandResult,
    ContextPiece,
    ContextProvider,
    ContextRequest,
    EditorAction,
    PanelSpec,
    PluginContext,
    PluginInfo,
    QuillpadError,
    SlashCommand,
    SystemPrompt,
    Tool,
    ToolInvocation,
    hookimpl,
)
from app.core.edits.document import MemoryDocument, MemoryEditor
from app.core.plugins.hookspecs import HOOK_NAMES, QuillpadHookSpecs
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.records import PluginError

INFO = PluginInfo("Tools", "1.0", "test tools")


def upper(invocation: CommandInvocation) -> CommandResult:
    document = invocation.context.current_document()
    assert document is not None
    selection = document.selection()
    document.replace(selection.start, selection.end, selection.text.upper())
    return CommandResult(message=f"upper-cased {len(selection.text)} characters")


class Tools:
    info = INFO

    def __init__(self) -> None:
        self.contexts: list[PluginContext] = []

    @hookimpl
    def quillpad_slash_commands(self, context: PluginContext) -> list[SlashCommand]:
        self.contexts.append(context)
        return [SlashCommand("upper", "upper-case the selection", upper)]

    @hookimpl
    def quillpad_editor_actions(self) -> list[EditorAction]:
        return [EditorAction("tools.upper", "Upper-case", upper, needs_selection=True)]

    @hookimpl
    def quillpad_system_prompts(self) -> list[SystemPrompt]:
        return [SystemPrompt("math", "  Use LaTeX.  "), SystemPrompt("chat", "")]

    @hookimpl
    def quillpad_context_providers(self) -> list[ContextProvider]:
        def provide(request: ContextRequest) -> list[ContextPiece]:
            return [ContextPiece("A", "a" * 10), ContextPiece("B", "b" * 10)]

        def refuse(request: ContextRequest) -> list[ContextPiece]:
            raise QuillpadError("The index is still being built; try again in a moment.")

        return [ContextProvider("tools.ab", "AB", provide), ContextProvider("tools.refuse", "Refuse", refuse)]

    @hookimpl
    def quillpad_panels(self) -> list[PanelSpec]:
        return [PanelSpec("tools.panel", "Tools", lambda context: ("widget", context.plugin_id))]

    @hookimpl
    def quillpad_tools(self, context: PluginContext) -> list[Tool]:
        def count(invocation: ToolInvocation) -> str:
            return str(len(invocation.arguments))

        return [Tool("count_arguments", "Counts its arguments.", count)]


@pytest.fixture
def editor() -> MemoryEditor:
    document = MemoryDocument("hello world", Path("/tmp/x.txt"))
    document.select(0, 5)
    return MemoryEditor([document])


@pytest.fixture
def tools(manager: PluginManager, editor: MemoryEditor) -> Tools:
    manager.host.editor = editor
    plugin = Tools()
    manager.register(plugin, "tools")
    return plugin


def test_every_hook_has_a_spec_and_this_test_module_covers_it() -> None:
    specs = {name for name in dir(QuillpadHookSpecs) if name.startswith("quillpad_")}
    assert specs == set(HOOK_NAMES)
    covered = {name for name in dir(Tools) if name.startswith("quillpad_")}
    assert covered == specs


def test_slash_commands_get_the_plugin_context(manager: PluginManager, tools: Tools, editor: MemoryEditor) -> None:
    assert tools.contexts[0].plugin_id == "tools" and tools.contexts[0] is manager.context_for("tools")
    assert manager.dispatch("/upper").message == "upper-cased 5 characters"
    assert editor.current().text() == "HELLO world"  # type: ignore[union-attr]


def test_editor_actions(manager: PluginManager, tools: Tools, editor: MemoryEditor) -> None:
    (entry,) = manager.editor_actions()
    assert entry.plugin_id == "tools" and entry.action.needs_selection
    manager.run_action("tools.upper")
    assert editor.current().text() == "HELLO world"  # type: ignore[union-attr]
    with pytest.raises(PluginError, match="not available"):
        manager.run_action("tools.nothing")


def test_system_prompts_per_mode(manager: PluginManager, tools: Tools) -> None:
    assert manager.system_prompt("math") == "Use LaTeX."
    assert manager.system_prompt("chat") == "" and manager.system_prompt("unknown") == ""


def test_context_providers_share_a_budget(manager: PluginManager, tools: Tools, notifier: ListNotifier) -> None:
    pieces = manager.gather_context("question", max_chars=15)
    assert [(piece.label, piece.source) for piece in pieces] == [("A", "tools")]
    assert "still being built" in notifier.messages[-1]  # a refusal is a notice, not a failure
    assert manager.record("tools").state == "enabled"
    assert manager.gather_context("q", provider_ids=["tools.refuse"]) == []


def test_panels_are_factories_called_only_on_request(manager: PluginManager, tools: Tools) -> None:
    (entry,) = manager.panels()
    assert entry.panel.title == "Tools" and entry.panel.area == "bottom"
    assert manager.create_panel("tools.panel") == ("widget", "tools")


def test_failing_panel_factory_turns_the_plugin_off(manager: PluginManager, notifier: ListNotifier) -> None:
    class BadPanel:
        info = INFO

        @hookimpl
        def quillpad_panels(self) -> list[PanelSpec]:
            return [PanelSpec("bad.panel", "Bad", lambda context: 1 / 0)]

    manager.register(BadPanel(), "bad")
    assert manager.create_panel("bad.panel") is None
    assert manager.record("bad").state == "failed" and manager.panels() == []
    assert "creating the Bad panel" in notifier.messages[-1]


def test_failing_context_provider_is_skipped(manager: PluginManager, tools: Tools) -> None:
    class BadProvider:
        info = INFO

        @hookimpl
        def quillpad_context_providers(self) -> list[ContextProvider]:
            return [ContextProvider("bad.ctx", "Bad", lambda request: [][1])]

    manager.register(BadProvider(), "bad")
    pieces = manager.gather_context("q")
    assert [piece.label for piece in pieces] == ["A", "B"]
    assert manager.record("bad").state == "failed"


def test_then_that_raises_turns_the_plugin_off(manager: PluginManager) -> None:
    from app.api import ChatMessage, ModelTurn
    from app.core.chat.commands import run_result

    def ask(invocation: CommandInvocation) -> CommandResult:
        turn = ModelTurn((ChatMessage("user", "x"),), then=lambda answer: int(answer))  # type: ignore[arg-type,return-value]
        return CommandResult(ask=turn)

    class Asker:
        info = INFO

        @hookimpl
        def quillpad_slash_commands(self) -> list[SlashCommand]:
            return [SlashCommand("ask", "asks", ask)]

    manager.register(Asker(), "asker")
    result = manager.dispatch("/ask")
    with pytest.raises(PluginError):
        run_result(result, manager.host.model)
    assert manager.record("asker").state == "failed"


def test_handler_returning_the_wrong_type_fails(manager: PluginManager) -> None:
    class Wrong:
        info = INFO

        @hookimpl
        def quillpad_slash_commands(self) -> list[SlashCommand]:
            return [SlashCommand("wrong", "returns text", lambda invocation: "text")]  # type: ignore[arg-type,return-value]

    manager.register(Wrong(), "wrong")
    with pytest.raises(PluginError):
        manager.dispatch("/wrong")
    assert "not a CommandResult" in (manager.record("wrong").error or "")


def test_bad_declarations(manager: PluginManager) -> None:
    class BadName:
        info = INFO

        @hookimpl
        def quillpad_slash_commands(self) -> list[SlashCommand]:
            return [SlashCommand("Bad Name", "x", upper)]

    class NewerApi:
        info = PluginInfo("Future", "1", "needs API 99", api_version=99)

    class NeedsWarpDrive:
        info = PluginInfo("Warp", "1", "x", requires=("warp",))  # type: ignore[arg-type]

    manager.register(BadName(), "badname")
    manager.register(NewerApi(), "newer")
    manager.register(NeedsWarpDrive(), "warp")
    assert "is not lower-case" in (manager.record("badname").error or "")
    assert "plugin API 99" in (manager.record("newer").error or "")
    assert "unknown services" in (manager.record("warp").error or "")
    with pytest.raises(PluginError, match="already registered"):
        manager.register(Tools(), "warp")


def test_tools_come_with_their_plugin_and_its_context(manager: PluginManager, tools: Tools) -> None:
    (entry,) = manager.registered_tools()
    assert (entry.source, entry.tool.name, entry.tool.acting) == ("tools", "count_arguments", False)
    assert entry.context is manager.context_for("tools")
    manager.set_enabled("tools", False)
    assert manager.registered_tools() == []


def test_a_badly_named_tool_fails_its_plugin(manager: PluginManager) -> None:
    class BadTool:
        info = INFO

        @hookimpl
        def quillpad_tools(self) -> list[Tool]:
            return [Tool("no spaces allowed", "x", lambda invocation: "")]

    record = manager.register(BadTool(), "badtool")
    assert record.state == "failed" and "quillpad_tools" in (record.error or "")
