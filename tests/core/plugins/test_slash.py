"""Parsing, completing and dispatching slash commands, and /help."""

from __future__ import annotations

import pytest

from app.api import CommandResult, PluginInfo, SlashCommand, hookimpl
from app.core.plugins.manager import PluginManager
from app.core.plugins.records import UnknownCommandError
from app.core.plugins.slash import SlashCall, parse_slash, unescape


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/gen a parser", SlashCall("gen", "a parser")),
        ("  /GEN   spaced  ", SlashCall("gen", "spaced")),
        ("/edit", SlashCall("edit", "")),
        ("/edit line one\nline two", SlashCall("edit", "line one\nline two")),
        ("/my-cmd x", SlashCall("my-cmd", "x")),
        ("//gen not a command", None),
        ("/usr/bin is missing", None),
        ("/", None),
        ("/ gen", None),
        ("hello /gen", None),
        ("", None),
    ],
)
def test_parse(text: str, expected: SlashCall | None) -> None:
    assert parse_slash(text) == expected


def test_unescape() -> None:
    assert unescape("//etc/hosts is odd") == "/etc/hosts is odd" and unescape("plain") == "plain"


class Two:
    info = PluginInfo("Two", "1", "two commands")

    @hookimpl
    def quillpad_slash_commands(self) -> list[SlashCommand]:
        return [
            SlashCommand("gen", "duplicate of codegen's", lambda i: CommandResult("two's gen")),
            SlashCommand("genie", "grants wishes", lambda i: CommandResult(f"wish: {i.args}"), "<wish>"),
        ]


@pytest.fixture
def both(manager: PluginManager) -> PluginManager:
    manager.discover()  # the built-in codegen plugin, from quillpad's own entry point
    manager.register(Two(), "two")
    return manager


def test_completion(both: PluginManager) -> None:
    names = [completion.name for completion in both.complete("/ge")]
    assert names == ["gen", "genie"]
    gen = both.complete("/gen")[0]
    assert gen.name == "gen" and gen.text == "/gen " and gen.plugin_id == "codegen" and gen.argument_hint
    assert {c.name for c in both.complete("/")} >= {"help", "gen", "explain", "edit", "genie"}
    assert both.complete("/gen x") == [] and both.complete("gen") == [] and both.complete("//") == []
    assert [c.name for c in both.complete("/E")] == ["edit", "explain"]


def test_first_provider_wins_and_the_clash_is_reported(both: PluginManager) -> None:
    owners = {entry.command.name: entry.plugin_id for entry in both.slash_commands()}
    assert owners["gen"] == "codegen" and owners["genie"] == "two"
    assert any("also offers /gen" in m for m in both.host.notifier.messages)  # type: ignore[attr-defined]


def test_help_lists_every_command(both: PluginManager) -> None:
    text = both.dispatch("/help").message
    for usage in ("/gen <what to write>", "/explain [question]", "/edit <instruction>", "/genie <wish>", "/help"):
        assert usage in text
    assert "*(two)*" in text


def test_dispatch_and_unknown_commands(both: PluginManager) -> None:
    assert both.dispatch("/genie a pony").message == "wish: a pony"
    with pytest.raises(UnknownCommandError, match=r"no command /gni.*Did you mean /gen"):
        both.dispatch("/gni")
    with pytest.raises(UnknownCommandError, match="not a command"):
        both.dispatch("hello")


def test_missing_requirements_are_one_sentence(both: PluginManager) -> None:
    both.host.model = None
    with pytest.raises(Exception, match=r"^/gen needs a loaded model; load a model first\.$"):
        both.dispatch("/gen something")
