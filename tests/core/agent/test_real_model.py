"""The real engine in agent mode: Qwen3's template renders the tools, and the tiny random model's output,
whatever it is, is read without a crash and the run ends cleanly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.agent.executor import ToolExecutor
from app.core.agent.permissions import allow_list
from app.core.agent.run import AgentEnded, AgentMode, AgentRun, AgentSettingsView
from app.core.chat import ChatSession
from app.core.conversations import ConversationStore
from app.core.engine import ChatMessage, ChatRequest, LoadOptions
from app.core.engine.owner import EngineOwner
from app.core.engine.profiles import profile_for
from app.core.engine.prompt import PromptBuilder
from app.core.settings import Settings

# The tools part of Qwen3's chat template, as shipped in its GGUF files (tool list in the system turn,
# calls in assistant turns, results as <tool_response> in a user turn).
QWEN3_TOOLS_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}"
    "{{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": '
    "<args-json-object>}\\n</tool_call><|im_end|>\\n' }}"
    "{%- elif messages[0].role == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' or (message.role == 'assistant') %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{%- if loop.first or (messages[loop.index0 - 1].role != 'tool') %}{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}"
    "{%- if loop.last or (messages[loop.index0 + 1].role != 'tool') %}{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)

TOOL = {
    "type": "function",
    "function": {"name": "read_file", "description": "Read a file.", "parameters": {"type": "object"}},
}


def test_qwen3s_template_renders_tools_calls_and_results() -> None:
    builder = PromptBuilder(QWEN3_TOOLS_TEMPLATE, profile_for("qwen3"))
    messages = (
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Read a.py"),
        ChatMessage("assistant", '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py"}}\n</tool_call>'),
        ChatMessage("tool", "x = 1", tool_call_id="call_1", name="read_file"),
    )
    text = builder.build(messages, False, (TOOL,)).text
    listed = text.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0]
    assert json.loads(listed) == TOOL
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools")
    assert "<|im_start|>user\n<tool_response>\nx = 1\n</tool_response><|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert "<tools>" not in builder.build(messages[:2], False).text  # no tools: no tools block


@pytest.fixture
def owner(qwen3_gguf: Path) -> Iterator[EngineOwner]:
    with EngineOwner() as opened:
        opened.load(qwen3_gguf, LoadOptions(threads=1, context_length=2048))
        yield opened


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_tiny_model_in_agent_mode_ends_cleanly(
    owner: EngineOwner, tmp_path: Path, executor: ToolExecutor, seed: int
) -> None:
    settings = Settings()
    settings.engine.thinking = False
    settings.engine.seed = seed
    with ConversationStore(tmp_path / "c.sqlite3") as store:
        session = ChatSession(store, owner, lambda: settings)
        session.overrides["max_tokens"] = 48
        mode = AgentMode(executor, allow_list([]), limits=AgentSettingsView(step_limit=2))
        events = list(AgentRun(session, mode).run("List the files, then read calc.py."))
        request = owner.render(ChatRequest((ChatMessage("user", "hi"),), tools=executor.registry.schemas()))
    assert isinstance(events[-1], AgentEnded) and events[-1].reason in ("done", "step_limit", "loop", "malformed")
    assert request.tokens > 0
