"""Agent mode in the real window: steps folded in the chat, Allow and Deny on the approval bar, and the
window responsive while a tool runs (heartbeat ticks counted). The model is scripted (what it says is
the point); the session, owner, registry, executor and view are the real ones."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from app.api import PluginInfo, Tool, ToolInvocation, hookimpl
from app.core.engine import ChatRequest, Done, EngineEvent
from app.core.engine.events import AnswerText
from app.core.engine.owner import ReplyStream
from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import js

MakeWindow = Callable[[], MainWindow]


def _call(name: str, **arguments: object) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


class _Tools:
    info = PluginInfo(name="Window tools", version="1", description="tools for the window test")

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.stopped = threading.Event()
        self.touched: list[object] = []

    @hookimpl
    def quillpad_tools(self) -> list[Tool]:
        return [
            Tool("slow_look", "Looks slowly.", self.look),
            Tool("touch", "Changes something.", self.touch, {"type": "object"}, acting=True),
        ]

    def look(self, invocation: ToolInvocation) -> str:
        self.started.set()
        while not self.release.wait(0.02):
            if invocation.token.cancelled:  # Stop reached the tool
                self.stopped.set()
                return "stopped"
        return "seen"

    def touch(self, invocation: ToolInvocation) -> str:
        self.touched.append(invocation.arguments.get("n"))
        return "touched"


def _scripted(replies: list[str]) -> Callable[..., ReplyStream]:
    def chat(request: ChatRequest, purpose: str = "chat", request_id: int | None = None) -> ReplyStream:
        text = replies.pop(0)
        events: Iterator[EngineEvent] = iter([AnswerText(text[:7]), AnswerText(text[7:]), Done("stop", text)])
        return ReplyStream(request_id or 0, purpose, events)

    return chat


def test_agent_steps_are_folded_allow_and_deny_work_and_the_window_stays_responsive(
    make_window: MakeWindow, qtbot: QtBot
) -> None:
    window = make_window()
    tools = _Tools()
    window.plugins.manager.register(tools, "windowtools")
    replies = [_call("slow_look"), _call("touch", n=1), _call("touch", n=2), "All done."]
    window.bridge.owner.chat = _scripted(replies)  # type: ignore[method-assign]
    panel = window.chat
    panel.set_model_ready(True)
    panel.agent_box.setChecked(True)
    panel.input.setPlainText("Look, then touch twice")

    ticks: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(lambda: ticks.append(1))
    heartbeat.start()
    panel.send()
    assert panel.busy
    assert tools.started.wait(30)
    before = len(ticks)
    # The event loop keeps turning while the tool runs on its thread.
    qtbot.waitUntil(lambda: len(ticks) >= before + 10, timeout=30_000)
    assert not tools.release.is_set() and panel.busy
    tools.release.set()

    qtbot.waitUntil(lambda: panel.approval.isVisible(), timeout=30_000)
    assert panel.approval.request is not None and panel.approval.request.tool == "touch"
    qtbot.mouseClick(panel.approval.allow_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.approval.isVisible(), timeout=30_000)
    qtbot.mouseClick(panel.approval.deny_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    heartbeat.stop()

    assert tools.touched == [1]  # allowed once, the second call denied
    states = [(step.call.name, step.state) for step in panel.tool_steps.values()]
    assert states == [("slow_look", "done"), ("touch", "done"), ("touch", "denied")]
    script = (
        "JSON.stringify(Array.from(document.querySelectorAll('details.tool'))"
        ".map(d => [d.open, d.querySelector('summary').textContent]))"
    )
    shown = json.loads(str(js(qtbot, window, script)))
    assert isinstance(shown, list) and len(shown) == 3
    assert all(not is_open for is_open, _ in shown)  # folded
    assert shown[0][1].startswith("slow_look {} → 4 characters") and "denied" in shown[2][1]
    assert "All done." in str(js(qtbot, window, "document.body.innerText"))

    # Reopened from the history: the same steps, folded, and no raw call blocks in the replies.
    assert panel.conversation_id is not None
    panel.open_conversation(panel.conversation_id)
    reopened = json.loads(str(js(qtbot, window, script)))
    assert [summary.split(" ")[0] for _, summary in reopened] == ["slow_look", "touch", "touch"]
    assert all(not is_open for is_open, _ in reopened)
    body = str(js(qtbot, window, "document.body.innerText"))
    assert "<tool_call>" not in body and "All done." in body


def test_stop_in_the_window_ends_the_run_and_the_running_tool(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    tools = _Tools()
    window.plugins.manager.register(tools, "windowtools")
    window.bridge.owner.chat = _scripted([_call("slow_look"), "never asked"])  # type: ignore[method-assign]
    panel = window.chat
    panel.set_model_ready(True)
    panel.agent_box.setChecked(True)
    panel.input.setPlainText("Look")
    panel.send()
    assert tools.started.wait(30)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    assert [step.state for step in panel.tool_steps.values()] == ["stopped"]
    assert "Stopped." in str(js(qtbot, window, "document.body.innerText"))
    assert tools.stopped.is_set() and not tools.release.is_set()  # the tool ended through its token
