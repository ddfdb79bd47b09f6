"""Background work, the conversation id and declared options, through the manager and the headless runner."""

from __future__ import annotations

import threading

import pytest

from app.api import (
    BackgroundWork,
    Cancelled,
    CancelToken,
    CommandInvocation,
    CommandResult,
    PluginInfo,
    PluginSetting,
    QuillpadError,
    SlashCommand,
    hookimpl,
)
from app.core.chat.commands import run_command, run_result
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.options import SettingsOptions
from app.core.settings import Settings

OPTIONS = (
    PluginSetting("loud", "Shout", False),
    PluginSetting("times", "Times", 2),
    PluginSetting("word", "Word", "hi"),
)


class Worker:
    info = PluginInfo("Worker", "1.0", "background work for tests", settings=OPTIONS)

    def __init__(self) -> None:
        self.threads: list[str] = []

    @hookimpl
    def quillpad_slash_commands(self) -> list[SlashCommand]:
        return [
            SlashCommand("work", "works", self.work),
            SlashCommand("crash", "crashes in the background", self.crash),
            SlashCommand("refuse", "refuses in the background", self.refuse),
        ]

    def work(self, invocation: CommandInvocation) -> CommandResult:
        context, conversation = invocation.context, invocation.conversation_id

        def run(token: CancelToken) -> CommandResult:
            token.check()
            self.threads.append(threading.current_thread().name)
            text = " ".join([str(context.option("word"))] * int(context.option("times")))
            return CommandResult(message=f"{text.upper() if context.option('loud') else text} in {conversation}")

        return CommandResult(message="starting", background=BackgroundWork("Working…", run))

    def crash(self, invocation: CommandInvocation) -> CommandResult:
        return CommandResult(background=BackgroundWork("Crashing…", lambda token: 1 // 0))  # type: ignore[arg-type,return-value]

    def refuse(self, invocation: CommandInvocation) -> CommandResult:
        def run(token: CancelToken) -> CommandResult:
            raise QuillpadError("Nothing to work on; give it something.")

        return CommandResult(background=BackgroundWork("Refusing…", run))


def test_background_work_runs_inline_headless_with_the_conversation_id(manager: PluginManager) -> None:
    plugin = Worker()
    manager.register(plugin, "worker")
    result = manager.dispatch("/work", conversation_id=7)
    assert result.background is not None and result.background.title == "Working…"
    assert run_result(result, None).messages == ["starting", "hi hi in 7"]
    assert run_command(manager, "/work").messages[-1] == "hi hi in None"
    assert plugin.threads == [threading.current_thread().name] * 2


def test_cancelled_work_says_stopped(manager: PluginManager) -> None:
    manager.register(Worker(), "worker")
    token = CancelToken()
    token.cancel()
    assert run_result(manager.dispatch("/work"), None, token=token).messages == ["starting", "Stopped."]
    with pytest.raises(Cancelled):
        token.check()


def test_a_bug_in_background_work_turns_the_plugin_off(manager: PluginManager, notifier: ListNotifier) -> None:
    manager.register(Worker(), "worker")
    result = manager.dispatch("/crash")
    assert manager.record("worker").state == "enabled"  # nothing has run yet
    assert run_result(result, None).messages == ["Worker failed and was turned off; details are in the log."]
    assert manager.record("worker").state == "failed" and "ZeroDivisionError" in (manager.record("worker").error or "")
    assert any("was turned off" in message for message in notifier.messages)


def test_a_refusal_in_background_work_is_its_message(manager: PluginManager) -> None:
    manager.register(Worker(), "worker")
    assert run_command(manager, "/refuse").messages == ["Nothing to work on; give it something."]
    assert manager.record("worker").state == "enabled"


def test_declared_options_are_typed_and_stored_in_the_settings(manager: PluginManager) -> None:
    settings = Settings()
    saves: list[int] = []
    manager.host.options = SettingsOptions(lambda: settings, lambda: saves.append(1))
    manager.register(Worker(), "worker")
    context = manager.context_for("worker")
    assert context.options() == {"loud": False, "times": 2, "word": "hi"}
    context.set_option("loud", True)
    context.set_option("times", 3)
    assert settings.plugins == {"worker": {"loud": True, "times": 3}} and len(saves) == 2
    assert run_command(manager, "/work").messages[-1] == "HI HI HI in None"
    with pytest.raises(QuillpadError, match="takes a whole number"):
        context.set_option("times", True)
    with pytest.raises(QuillpadError, match="not declared"):
        context.option("colour")
    # A hand-edited value of the wrong type reads as the default.
    settings.plugins = {"worker": {"times": "many", "loud": 1}}
    assert context.options() == {"loud": False, "times": 2, "word": "hi"}
    assert (
        Settings.model_validate({"plugins": {"worker": {"loud": True, "times": 3}}}).plugins["worker"]["loud"] is True
    )
