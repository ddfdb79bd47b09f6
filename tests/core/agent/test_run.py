"""Agent runs driven by a scripted model (what the model says is the point here) through the real
session, owner, registry, built-in tools and a real project with a real pytest run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from app.api import PluginInfo, Tool, ToolInvocation, hookimpl
from app.core.agent.executor import ToolExecutor
from app.core.agent.permissions import ApprovalRequest, allow_list
from app.core.agent.run import AgentEnded, AgentEvent, AgentMode, AgentRun, AgentSettingsView, ToolStep
from app.core.chat import ChatSession
from app.core.edits.commit import apply_proposal
from app.core.edits.proposal import EditProposal
from app.core.engine import AnswerText
from app.core.plugins.background import CancelToken
from app.core.plugins.manager import PluginManager
from tests.core.agent.conftest import call
from tests.fixtures.scripted_model import Reply, ScriptedEngine

Make = Callable[[Sequence[Reply]], tuple[ChatSession, ScriptedEngine]]


def _run(session: ChatSession, mode: AgentMode, text: str = "Fix add") -> tuple[list[AgentEvent], AgentRun]:
    run = AgentRun(session, mode)
    return list(run.run(text)), run


def _steps(events: list[AgentEvent], state: str | None = None) -> list[ToolStep]:
    return [e for e in events if isinstance(e, ToolStep) and (state is None or e.state == state)]


def _answer(events: list[AgentEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, AnswerText))


def test_search_read_edit_accept_test_done(make_session: Make, executor: ToolExecutor, project_dir: Path) -> None:
    session, engine = make_session(
        [
            "Let me look. " + call("search_project", query="add"),
            call("read_file", path="calc.py"),
            call("propose_edit", path="calc.py", search="    return a - b", replace="    return a + b"),
            call("run_tests"),
            "Fixed: add now adds, and the test passes.",
        ]
    )
    asked: list[ApprovalRequest] = []
    reviewed: list[EditProposal] = []

    def approve(request: ApprovalRequest, _stop: CancelToken) -> str:
        asked.append(request)
        return "allow"

    def accept(proposal: EditProposal) -> tuple[bool, str]:
        reviewed.append(proposal)
        apply_proposal(proposal, proposal.accept_all())
        return True, "The user accepted the edit."

    mode = AgentMode(executor, approve, accept)  # type: ignore[arg-type]
    events, run = _run(session, mode)
    assert isinstance(events[-1], AgentEnded) and events[-1].reason == "done"
    done = _steps(events, "done")
    assert [s.call.name for s in done] == ["search_project", "read_file", "propose_edit", "run_tests"]
    assert "calc.py" in done[0].result and "return a - b" in done[1].result
    # Only the acting tools were asked about; the edit was written only after the accept.
    assert [a.tool for a in asked] == ["propose_edit", "run_tests"]
    assert len(reviewed) == 1 and (project_dir / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert "1 passed" in done[3].result
    assert _answer(events).startswith("Let me look.") and "<tool_call>" not in _answer(events)
    # The model got the tools and every result as a tool message.
    first = engine.requests[0]
    assert {t["function"]["name"] for t in first.tools} >= {"read_file", "run_tests", "propose_edit"}  # type: ignore[attr-defined, index]
    last = engine.requests[-1].messages  # type: ignore[attr-defined]
    tool_messages = [m for m in last if m.role == "tool"]
    assert [m.name for m in tool_messages] == ["search_project", "read_file", "propose_edit", "run_tests"]
    assert "accepted" in tool_messages[2].content
    assert run.steps == 4


def test_a_denied_acting_call_is_not_run(make_session: Make, executor: ToolExecutor, project_dir: Path) -> None:
    session, engine = make_session(
        [call("propose_edit", path="calc.py", search="    return a - b", replace="    return 0"), "Understood."]
    )
    mode = AgentMode(executor, allow_list([]))
    events, _ = _run(session, mode)
    denied = _steps(events, "denied")
    assert len(denied) == 1 and "denied" in denied[0].result
    assert (project_dir / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"
    assert events[-1] == AgentEnded("done", "", 1)
    assert "The user denied propose_edit" in engine.requests[-1].messages[-1].content  # type: ignore[attr-defined]


def test_allow_for_this_chat_asks_once_per_conversation(make_session: Make, executor: ToolExecutor) -> None:
    session, _ = make_session(
        [call("run_python", code="print(1)"), call("run_python", code="print(2)"), "ok"]
        + [call("run_python", code="print(3)"), "ok"] * 2
    )
    asked: list[str] = []

    def approve(request: ApprovalRequest, _stop: CancelToken) -> str:
        asked.append(request.tool)
        return "allow_chat"

    events, _ = _run(session, AgentMode(executor, approve))  # type: ignore[arg-type]
    assert asked == ["run_python"]
    assert len(_steps(events, "done")) + len(_steps(events, "failed")) == 2
    _run(session, AgentMode(executor, approve), "again")  # type: ignore[arg-type]  # a new mode per message
    assert asked == ["run_python"]  # …the same chat: not asked again
    session.new()
    _run(session, AgentMode(executor, approve), "new chat")  # type: ignore[arg-type]
    assert asked == ["run_python", "run_python"]


def test_the_step_limit_ends_the_run(make_session: Make, executor: ToolExecutor) -> None:
    session, _ = make_session([call("read_file", path="calc.py", start_line=n) for n in range(1, 10)])
    mode = AgentMode(executor, allow_list([]), limits=AgentSettingsView(step_limit=3))
    events, _ = _run(session, mode)
    end = events[-1]
    assert isinstance(end, AgentEnded) and end.reason == "step_limit" and "limit of 3" in end.message
    assert len(_steps(events, "done")) == 3


def test_the_same_call_three_times_ends_the_run(make_session: Make, executor: ToolExecutor) -> None:
    session, engine = make_session([call("list_files")] * 5)
    events, _ = _run(session, AgentMode(executor, allow_list([])))
    end = events[-1]
    assert isinstance(end, AgentEnded) and end.reason == "loop" and "list_files" in end.message
    assert len(_steps(events, "done")) == 2 and len(engine.requests) == 3


class _Slow:
    info = PluginInfo(name="Slow", version="1", description="a tool that waits")

    def __init__(self) -> None:
        self.started = threading.Event()
        self.ended = threading.Event()

    @hookimpl
    def quillpad_tools(self, context: object) -> list[Tool]:
        return [Tool("wait_forever", "Waits until stopped.", self.wait)]

    def wait(self, invocation: ToolInvocation) -> str:
        self.started.set()
        invocation.token.wait(60)
        self.ended.set()
        return "woke"


def test_stop_mid_tool_ends_the_run_and_the_tool(
    make_session: Make, executor: ToolExecutor, manager: PluginManager
) -> None:
    slow = _Slow()
    manager.register(slow, "slow")
    session, _ = make_session([call("wait_forever"), "never asked"])
    run = AgentRun(session, AgentMode(executor, allow_list([])))
    stopper = threading.Thread(target=lambda: slow.started.wait(10) and run.stop())
    stopper.start()
    events = list(run.run("go"))
    stopper.join()
    assert events[-1] == AgentEnded("stopped", "Stopped.", 1)
    assert slow.ended.wait(5)  # the tool's token was set: it returned
    assert session.reply is None


def test_a_call_inside_think_is_not_executed(make_session: Make, executor: ToolExecutor) -> None:
    session, _ = make_session(["<think>maybe " + call("run_python", code="print(1)") + "</think>The answer is 4."])
    asked: list[str] = []
    mode = AgentMode(executor, lambda r, s: asked.append(r.tool) or "allow")  # type: ignore[arg-type, func-returns-value]
    events, _ = _run(session, mode)
    assert _steps(events) == [] and asked == []
    assert events[-1] == AgentEnded("done", "", 0)
    assert "The answer is 4." in _answer(events)


def test_json_in_plain_text_is_not_executed(make_session: Make, executor: ToolExecutor) -> None:
    text = 'Call it like this: {"name": "run_python", "arguments": {"code": "print(1)"}}'
    session, _ = make_session([text])
    events, _ = _run(session, AgentMode(executor, allow_list(["run_python"])))
    assert _steps(events) == [] and _answer(events) == text


def test_malformed_json_is_explained_once(make_session: Make, executor: ToolExecutor) -> None:
    session, engine = make_session(["<tool_call>{name: read_file}</tool_call>", "<tool_call>{oops</tool_call>"])
    events, _ = _run(session, AgentMode(executor, allow_list([])))
    end = events[-1]
    assert isinstance(end, AgentEnded) and end.reason == "malformed"
    told = engine.requests[1].messages[-1]  # type: ignore[attr-defined]
    assert told.role == "tool" and "not valid JSON" in told.content and "<tool_call>" in told.content


def test_bad_calls_get_a_sentence_and_the_run_goes_on(make_session: Make, executor: ToolExecutor) -> None:
    session, _engine = make_session(
        [
            call("no_such_tool"),
            call("read_file", path=7),
            call("read_file", path="../outside.txt"),
            call("read_file", path="/etc/passwd"),
            "done",
        ]
    )
    events, _ = _run(session, AgentMode(executor, allow_list([])))
    failed = [s.result for s in _steps(events, "failed")]
    assert "There is no tool called 'no_such_tool'" in failed[0] and "read_file" in failed[0]
    assert "do not fit its schema" in failed[1] and "path" in failed[1]
    assert "leads out of the project" in failed[2]
    assert "absolute path" in failed[3]
    assert events[-1] == AgentEnded("done", "", 4)


def test_stop_while_waiting_for_approval_ends_the_run(make_session: Make, executor: ToolExecutor) -> None:
    session, _ = make_session([call("run_python", code="print(1)"), "never asked"])
    run_box: list[AgentRun] = []

    def approve(request: ApprovalRequest, stop: CancelToken) -> str:
        threading.Thread(target=run_box[0].stop).start()  # the user presses Stop instead of answering
        stop.wait(10)
        return "allow"

    run = AgentRun(session, AgentMode(executor, approve))  # type: ignore[arg-type]
    run_box.append(run)
    events = list(run.run("go"))
    assert events[-1] == AgentEnded("stopped", "Stopped.", 1)
    assert [s.state for s in _steps(events)] == ["waiting", "stopped"]
