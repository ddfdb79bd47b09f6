"""Agent mode: the chat session's reply loop when the model may call tools.

``AgentRun`` is the one implementation behind the window and
``quillpad chat --agent``. It sends the user's message through the
``ChatSession`` (which then offers the tools with every request), reads the
streamed answer through ``ToolCallSplitter``, runs each call — read-only
ones at once, acting ones after the ``Approver`` says so — keeps every result
in the conversation as a ``tool`` message, and asks the model again, until
the model answers without a call. The run ends early, with a message, at the
step limit, when the same call with the same arguments comes a third time,
when the model's calls stay unreadable after it was told once, or at Stop
(which also ends the tool running at that moment).

``run`` is a generator of plain data for the front-end: the model's events
(answer text with the call blocks taken out), a ``ToolStep`` per call as it
starts and ends, and ``AgentEnded`` last. It runs on the thread that iterates
it; ``stop`` works from any thread.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field

from app.core.agent.executor import ToolExecutor, ToolOutcome
from app.core.agent.permissions import ApprovalRequest, Approver
from app.core.chat.session import ChatSession, Reply
from app.core.conversations import Attachment
from app.core.edits.proposal import EditProposal
from app.core.engine.events import AnswerText, Done, EngineError, EngineEvent, ToolCalls
from app.core.plugins.background import CancelToken
from app.core.toolcalls.parser import MalformedCall, ToolCall, ToolCallSplitter, parse_call
from app.core.toolcalls.registry import RegisteredTool

DEFAULT_STEP_LIMIT = 12
LOOP_REPEATS = 3  # the same call with the same arguments this often ends the run
CALL_FORMAT = '<tool_call>\n{"name": "TOOL", "arguments": {...}}\n</tool_call>'

ReviewOutcome = tuple[bool, str]  # (accepted, what to tell the model)
Reviewer = Callable[[EditProposal], ReviewOutcome]


def no_review(_proposal: EditProposal) -> ReviewOutcome:
    """For front-ends that never write files (the CLI): every proposal is refused."""
    return False, "The edit was not applied: this front-end never writes files. Show the change in your answer instead."


@dataclass(frozen=True)
class ToolStep:
    """One tool call as the user sees it, folded: tool, arguments, state and result size."""

    call: ToolCall
    label: str
    acting: bool
    state: str  # "running", "waiting" (for approval), "done", "failed", "denied", "stopped"
    result: str = ""
    result_chars: int = 0

    def summary(self) -> str:
        """``read_file {"path": "a.py"} → 1,234 characters``."""
        args = json.dumps(self.call.arguments, ensure_ascii=False)
        if len(args) > 120:
            args = args[:117] + "…"
        tail = {
            "running": "running…",
            "waiting": "waiting for your approval",
            "done": f"→ {self.result_chars:,} characters",
            "failed": f"failed: {self.result}",
            "denied": "denied",
            "stopped": "stopped",
        }[self.state]
        return f"{self.call.name} {args} {tail}"


@dataclass(frozen=True)
class AgentEnded:
    """The run is over; ``reason`` is "done", "stopped", "error", "step_limit", "loop" or "malformed"."""

    reason: str
    message: str = ""  # one sentence for the user (empty when the model simply answered)
    steps: int = 0


AgentEvent = EngineEvent | ToolStep | AgentEnded


@dataclass
class AgentSettingsView:
    """The limits of one run."""

    step_limit: int = DEFAULT_STEP_LIMIT
    tool_timeout: float = 30.0


@dataclass
class AgentMode:
    """Agent mode of one session: the tools, who approves, who reviews edits, the limits.

    What the user allowed "for this chat" lives on the session
    (``ChatSession.allowed_tools``), so it lasts for the conversation, whatever
    mode object the front-end builds per message.
    """

    executor: ToolExecutor
    approver: Approver
    reviewer: Reviewer = no_review
    limits: AgentSettingsView = field(default_factory=AgentSettingsView)

    def attach(self, session: ChatSession) -> None:
        """Offer the tools with every chat request of ``session``."""
        session.tools = self.executor.registry.schemas

    def detach(self, session: ChatSession) -> None:
        session.tools = None


class AgentRun:
    """One user message answered in agent mode."""

    def __init__(self, session: ChatSession, mode: AgentMode) -> None:
        self.session = session
        self.mode = mode
        self.token = CancelToken()
        self.steps = 0

    def stop(self) -> None:
        """End the run: the model's reply, an approval being waited for, the tool running now."""
        self.token.cancel()
        self.session.stop()

    def run(self, text: str, attachments: Sequence[Attachment] = ()) -> Iterator[AgentEvent]:
        """Send ``text`` and follow the run to its end (``AgentEnded`` is always last)."""
        self.mode.attach(self.session)
        try:
            reply = self.session.send(text, attachments)
            yield from self._loop(reply)
        finally:
            self.mode.detach(self.session)

    def _loop(self, reply: Reply) -> Iterator[AgentEvent]:
        seen: Counter[tuple[str, str]] = Counter()
        told_malformed = False
        turn = 0
        while True:
            turn += 1
            calls: list[ToolCall | MalformedCall] = []
            final: EngineEvent | None = None
            for event in self._turn(reply, turn, calls):
                if isinstance(event, Done | EngineError):
                    final = event
                else:
                    yield event
            if self.token.cancelled or (isinstance(final, Done) and final.reason == "cancelled"):
                yield AgentEnded("stopped", "Stopped.", self.steps)
                return
            if isinstance(final, EngineError):
                yield AgentEnded("error", final.message, self.steps)
                return
            if not calls:
                yield AgentEnded("done", "", self.steps)
                return
            for item in calls:
                if isinstance(item, MalformedCall):
                    if told_malformed:
                        yield AgentEnded(
                            "malformed",
                            f"The model's tool call could not be read again ({item.problem}); the run was ended.",
                            self.steps,
                        )
                        return
                    told_malformed = True
                    self.session.add_tool_result(
                        "invalid", "invalid_call", f"Error: {item.problem}. Write a call exactly as:\n{CALL_FORMAT}"
                    )
                    continue
                if self.steps >= self.mode.limits.step_limit:
                    yield AgentEnded(
                        "step_limit",
                        f"The run reached its limit of {self.mode.limits.step_limit} tool calls and was ended; "
                        "send another message to go on.",
                        self.steps,
                    )
                    return
                seen[item.key()] += 1
                if seen[item.key()] >= LOOP_REPEATS:
                    yield AgentEnded(
                        "loop",
                        f"The model called {item.name} with the same arguments {LOOP_REPEATS} times, "
                        "so the run was ended.",
                        self.steps,
                    )
                    return
                self.steps += 1
                outcome = yield from self._call(item)
                self.session.add_tool_result(item.id, item.name, outcome.text)
                if outcome.stopped or self.token.cancelled:
                    yield AgentEnded("stopped", "Stopped.", self.steps)
                    return
            reply = self.session.start_reply()

    def _turn(self, reply: Reply, turn: int, calls: list[ToolCall | MalformedCall]) -> Iterator[EngineEvent]:
        """Stream one model reply, passing on its events with the call blocks taken out."""
        splitter = ToolCallSplitter(f"call_{turn}")
        native: list[tuple[str, str, str]] = []
        for event in self.session.stream(reply):
            if isinstance(event, AnswerText):
                for piece in splitter.feed(event.text):
                    if isinstance(piece, str):
                        yield AnswerText(piece)
                    else:
                        calls.append(piece)
            elif isinstance(event, ToolCalls):  # a model server's native calls
                native.extend(event.calls)
                for call_id, name, arguments in event.calls:
                    calls.append(parse_call(json.dumps({"name": name, "arguments": arguments}), call_id))
            elif isinstance(event, Done | EngineError):
                for piece in splitter.finish():
                    if isinstance(piece, str):
                        yield AnswerText(piece)
                    else:
                        calls.append(piece)
                if native:  # kept in the conversation as the model's own call blocks, like Qwen3's
                    blocks = "\n".join(c.as_block() for c in calls if isinstance(c, ToolCall))
                    text = "".join(reply.answer)
                    self.session.store.update_message(
                        reply.message_id, f"{text}\n{blocks}".strip(), "".join(reply.thinking)
                    )
                yield event
            else:
                yield event

    def _call(self, call: ToolCall) -> Generator[AgentEvent, None, ToolOutcome]:
        """Check, approve and run one call; returns its outcome (the generator's value)."""
        executor = self.mode.executor
        found = executor.lookup(call)
        if isinstance(found, str):
            yield ToolStep(call, call.name, False, "failed", found, len(found))
            return ToolOutcome(found, ok=False)
        entry: RegisteredTool = found
        tool = entry.tool
        label = tool.label or tool.name
        if tool.acting:
            allowed = self.session.allowed_tools
            if tool.name not in allowed:
                yield ToolStep(call, label, True, "waiting")
                request = ApprovalRequest(tool.name, label, tool.description, dict(call.arguments), entry.source)
                decision = self.mode.approver(request, self.token)
                if self.token.cancelled:
                    yield ToolStep(call, label, True, "stopped")
                    return ToolOutcome("Stopped by the user.", ok=False, stopped=True)
                if decision == "deny":
                    text = f"The user denied {tool.name}; do not call it again for this request."
                    yield ToolStep(call, label, True, "denied", text, len(text))
                    return ToolOutcome(text, ok=False)
                if decision == "allow_chat":
                    allowed.add(tool.name)
        yield ToolStep(call, label, tool.acting, "running")
        outcome = executor.run(call, entry, self.token)
        if outcome.ok and outcome.proposal is not None and not outcome.proposal.empty:
            _accepted, note = self.mode.reviewer(outcome.proposal)
            outcome = ToolOutcome(f"{outcome.text}\n\n{note}", ok=True, full_size=outcome.full_size)
        state = "stopped" if outcome.stopped else ("done" if outcome.ok else "failed")
        shown = outcome.text if not outcome.ok else outcome.text[:2000]
        yield ToolStep(call, label, tool.acting, state, shown, outcome.full_size or len(outcome.text))
        return outcome
