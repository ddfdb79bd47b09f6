"""Agent mode over a model server: the OpenAI ``tools`` field out, native ``tool_calls`` in (streamed in
fragments), results back as ``tool`` messages with their call's id — through the same run as locally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.agent.executor import ToolExecutor
from app.core.agent.permissions import allow_list
from app.core.agent.run import AgentEnded, AgentMode, AgentRun, ToolStep
from app.core.chat import ChatSession
from app.core.conversations import ConversationStore
from app.core.engine.owner import EngineOwner
from app.core.remote import RemoteConfig
from app.core.settings import Settings
from tests.fixtures.fake_openai_server import DONE, FakeOpenAIServer, Script


def _fragment(**delta: object) -> str:
    data = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    return "data: " + json.dumps(data)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def test_native_tool_calls_run_and_their_results_go_back_with_ids(
    server: FakeOpenAIServer, executor: ToolExecutor, tmp_path: Path
) -> None:
    call = {"index": 0, "id": "call_abc", "type": "function", "function": {"name": "read_file", "arguments": ""}}
    server.script = Script(
        lines=[
            _fragment(content="Reading. "),
            _fragment(tool_calls=[call]),
            _fragment(tool_calls=[{"index": 0, "function": {"arguments": '{"path": '}}]),
            _fragment(tool_calls=[{"index": 0, "function": {"arguments": '"calc.py"}'}}]),
            "data: " + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            DONE,
        ]
    )
    settings = Settings()
    with EngineOwner() as owner, ConversationStore(tmp_path / "c.sqlite3") as store:
        owner.connect_remote(RemoteConfig(server.base_url, read_timeout=10))
        session = ChatSession(store, owner, lambda: settings)
        events = list(AgentRun(session, AgentMode(executor, allow_list([]))).run("What is in calc.py?"))
    steps = [e for e in events if isinstance(e, ToolStep) and e.state == "done"]
    assert steps and steps[0].call.name == "read_file" and "return a - b" in steps[0].result
    # The same call every turn: the loop detector ends it, as locally.
    assert isinstance(events[-1], AgentEnded) and events[-1].reason == "loop"
    first, second = server.requests[0], server.requests[1]
    assert {tool["function"]["name"] for tool in first["tools"]} >= {"read_file", "propose_edit"}
    assistant, result = second["messages"][-2:]
    assert assistant["role"] == "assistant" and assistant["content"] == "Reading."
    assert assistant["tool_calls"][0]["id"] == "call_abc"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"path": "calc.py"}
    assert result["role"] == "tool" and result["tool_call_id"] == "call_abc" and "return a - b" in result["content"]
