"""The splitter on answers cut at every position, and the executor's limits on real tool threads."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api import PluginInfo, Tool, ToolInvocation, hookimpl
from app.core.agent.executor import MAX_RESULT_CHARS, ToolExecutor
from app.core.agent.paths import project_path
from app.core.errors import QuillpadError
from app.core.plugins.background import CancelToken
from app.core.plugins.manager import PluginManager
from app.core.toolcalls.parser import MalformedCall, ToolCall, ToolCallSplitter, split_answer

ANSWER = (
    'Sure. <think>what about <tool_call>{"name": "x"}</tool_call>?</think> '
    '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py"}}\n</tool_call>'
    '<tool_call>{"name": "list_files", "arguments": "{}"}</tool_call> bye'
)


def _pieces(chunks: list[str]) -> list[object]:
    splitter = ToolCallSplitter()
    out: list[object] = []
    for chunk in chunks:
        out.extend(splitter.feed(chunk))
    out.extend(splitter.finish())
    text = "".join(p for p in out if isinstance(p, str))
    return [text, *[p for p in out if not isinstance(p, str)]]


def test_tags_split_anywhere_give_the_same_result() -> None:
    whole = _pieces([ANSWER])
    assert whole[0] == 'Sure. <think>what about <tool_call>{"name": "x"}</tool_call>?</think>  bye'
    assert whole[1:] == [ToolCall("call_1", "read_file", {"path": "a.py"}), ToolCall("call_2", "list_files", {})]
    for cut in range(1, len(ANSWER)):
        assert _pieces([ANSWER[:cut], ANSWER[cut:]]) == whole, cut
    assert _pieces(list(ANSWER)) == whole  # one character at a time


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{oops", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"arguments": {}}', '"name"'),
        ('{"name": "a", "arguments": [1]}', "must be a JSON object"),
    ],
)
def test_malformed_calls_say_what_is_wrong(body: str, problem: str) -> None:
    (piece,) = split_answer(f"<tool_call>{body}</tool_call>")
    assert isinstance(piece, MalformedCall) and problem in piece.problem


def test_an_unclosed_call_at_the_end_still_counts_when_whole() -> None:
    assert split_answer('<tool_call>{"name": "a"}') == [ToolCall("call_1", "a", {})]


def test_paths_stay_inside_the_project(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("no")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    assert project_path(root, "sub") == (root / "sub").resolve()
    for bad, words in [("../secret.txt", "leads out"), ("/etc/passwd", "absolute"), ("link.txt", "outside")]:
        with pytest.raises(QuillpadError, match=words):
            project_path(root, bad)


class _Misbehaving:
    info = PluginInfo(name="Bad tools", version="1", description="tools that go wrong")

    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl
    def quillpad_tools(self, context: object) -> list[Tool]:
        return [
            Tool("raises", "Raises.", self.raises),
            Tool("hangs", "Ignores its token for a while.", self.hangs, timeout=0.3),
            Tool("waits", "Waits on its token.", lambda inv: str(inv.token.wait(30)), timeout=0.3),
            Tool("huge", "Returns 10 MB.", lambda inv: "x" * 10_000_000),
        ]

    def raises(self, invocation: ToolInvocation) -> str:
        raise RuntimeError("disk on fire")

    def hangs(self, invocation: ToolInvocation) -> str:
        self.release.wait(10)
        return "late"


@pytest.fixture
def bad(manager: PluginManager) -> _Misbehaving:
    plugin = _Misbehaving()
    manager.register(plugin, "bad")
    return plugin


def _run(executor: ToolExecutor, name: str) -> str:
    found = executor.lookup(ToolCall("c", name, {}))
    assert not isinstance(found, str)
    return executor.run(ToolCall("c", name, {}), found, CancelToken()).text


def test_a_tool_that_raises_is_a_sentence(executor: ToolExecutor, bad: _Misbehaving) -> None:
    assert _run(executor, "raises") == "raises failed (RuntimeError: disk on fire)."


def test_a_hanging_tool_is_stopped_at_its_limit(executor: ToolExecutor, bad: _Misbehaving) -> None:
    assert _run(executor, "waits") == "waits took longer than 0.3 s and was stopped."
    assert _run(executor, "hangs") == "hangs took longer than 0.3 s and was stopped."
    bad.release.set()  # the one that ignored its token finishes on its own; its result is dropped


def test_a_10_mb_result_is_truncated_with_a_note(executor: ToolExecutor, bad: _Misbehaving) -> None:
    text = _run(executor, "huge")
    assert len(text) < MAX_RESULT_CHARS + 200 and "10,000,000 characters" in text


_FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    "<think>",
    "</think>",
    "<tool",
    "_call>",
    "</",
    '{"name": "a"}',
    "{",
    "x",
    "\n",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30), st.lists(st.integers(1, 7), min_size=1, max_size=10))
def test_any_text_in_any_pieces_splits_like_the_whole(fragments: list[str], sizes: list[int]) -> None:
    """Whatever a model writes, cut wherever the tokens fall: no crash, and the same calls and text."""
    text = "".join(fragments)
    chunks, at, turn = [], 0, 0
    while at < len(text):
        size = sizes[turn % len(sizes)]
        chunks.append(text[at : at + size])
        at, turn = at + size, turn + 1
    assert _pieces(chunks) == _pieces([text])
    for piece in _pieces(chunks)[1:]:
        assert isinstance(piece, ToolCall | MalformedCall)
