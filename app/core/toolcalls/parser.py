"""Finding tool calls in a streamed answer: Qwen3's ``<tool_call>{json}</tool_call>`` blocks.

llama-cpp-python has no Qwen/Hermes tool-call parser, so the answer text is
split here as it arrives, in pieces of any size: a tag cut between two tokens
is held back until it is whole. A block inside ``<think>…</think>`` is
reasoning and never a call (the engine usually routes thinking elsewhere, but
a model can write a think block into its answer). JSON that is merely written
in the answer is text: only a complete tagged block is a call. A block whose
content is not a JSON object with a ``name`` becomes a ``MalformedCall``
carrying what was wrong, so the model can be told once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
_TAGS = (CALL_OPEN, CALL_CLOSE, THINK_OPEN, THINK_CLOSE)


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def key(self) -> tuple[str, str]:
        """The call without its id (what the loop detector compares)."""
        return self.name, json.dumps(self.arguments, sort_keys=True, ensure_ascii=False)

    def as_block(self) -> str:
        """The call as Qwen3 writes it (how it is kept in the conversation)."""
        body: dict[str, Any] = {"name": self.name, "arguments": self.arguments}
        return f"{CALL_OPEN}\n{json.dumps(body, ensure_ascii=False)}\n{CALL_CLOSE}"


@dataclass(frozen=True)
class MalformedCall:
    """A tagged block that is not a usable call."""

    raw: str
    problem: str  # one sentence: what was wrong


Piece = str | ToolCall | MalformedCall


def parse_call(raw: str, call_id: str) -> ToolCall | MalformedCall:
    """The call in a block's text, or what is wrong with it."""
    text = raw.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return MalformedCall(raw, f"the tool call is not valid JSON ({err.msg} at character {err.pos})")
    if not isinstance(data, dict):
        return MalformedCall(raw, "the tool call must be a JSON object with name and arguments")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        return MalformedCall(raw, 'the tool call has no "name" string')
    arguments = data.get("arguments", {})
    if isinstance(arguments, str):  # some models send the arguments JSON-encoded
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as err:
            return MalformedCall(raw, f'the "arguments" of {name} are not valid JSON ({err.msg})')
    if not isinstance(arguments, dict):
        return MalformedCall(raw, f'the "arguments" of {name} must be a JSON object')
    return ToolCall(call_id, name.strip(), arguments)


def _held_back(text: str) -> int:
    """How many characters at the end of ``text`` could be the start of a tag."""
    longest = 0
    for tag in _TAGS:
        for size in range(min(len(tag) - 1, len(text)), 0, -1):
            if text.endswith(tag[:size]):
                longest = max(longest, size)
                break
    return longest


class ToolCallSplitter:
    """Splits an answer streamed in arbitrary pieces into text and tool calls."""

    def __init__(self, id_prefix: str = "call") -> None:
        self._buffer = ""
        self._in_call = False
        self._in_think = False
        self._call_text: list[str] = []
        self._count = 0
        self._prefix = id_prefix

    def feed(self, text: str) -> list[Piece]:
        """What ``text`` completes: answer text (thinking included, as written) and calls."""
        self._buffer += text
        out: list[Piece] = []
        while True:
            if self._in_call:
                end = self._buffer.find(CALL_CLOSE)
                if end < 0:
                    keep = _held_back(self._buffer)
                    self._call_text.append(self._buffer[: len(self._buffer) - keep])
                    self._buffer = self._buffer[len(self._buffer) - keep :]
                    return out
                self._call_text.append(self._buffer[:end])
                self._buffer = self._buffer[end + len(CALL_CLOSE) :]
                self._in_call = False
                out.append(self._finish_call())
                continue
            tag = CALL_OPEN if not self._in_think else THINK_CLOSE
            positions = [(self._buffer.find(t), t) for t in ((tag, THINK_OPEN) if not self._in_think else (tag,))]
            found = [(pos, t) for pos, t in positions if pos >= 0]
            if not found:
                keep = _held_back(self._buffer)
                self._emit(out, self._buffer[: len(self._buffer) - keep])
                self._buffer = self._buffer[len(self._buffer) - keep :]
                return out
            pos, which = min(found)
            if which == CALL_OPEN:
                self._emit(out, self._buffer[:pos])
                self._buffer = self._buffer[pos + len(CALL_OPEN) :]
                self._in_call = True
                self._call_text = []
            elif which == THINK_OPEN:
                self._emit(out, self._buffer[: pos + len(THINK_OPEN)])
                self._buffer = self._buffer[pos + len(THINK_OPEN) :]
                self._in_think = True
            else:  # the think block ends: calls count again after it
                self._emit(out, self._buffer[: pos + len(THINK_CLOSE)])
                self._buffer = self._buffer[pos + len(THINK_CLOSE) :]
                self._in_think = False

    def finish(self) -> list[Piece]:
        """The answer ended: what was held back. An unclosed call block is malformed."""
        out: list[Piece] = []
        if self._in_call:
            self._call_text.append(self._buffer)
            self._in_call = False
            raw = "".join(self._call_text)
            call = parse_call(raw, self._next_id())
            # A block cut off by the end of the answer (the length limit, or a model that forgot
            # the closing tag) is still the model's call when its JSON is whole.
            out.append(call)
        else:
            self._emit(out, self._buffer)
        self._buffer = ""
        return out

    def _finish_call(self) -> ToolCall | MalformedCall:
        return parse_call("".join(self._call_text), self._next_id())

    def _next_id(self) -> str:
        self._count += 1
        return f"{self._prefix}_{self._count}"

    @staticmethod
    def _emit(out: list[Piece], text: str) -> None:
        if not text:
            return
        if out and isinstance(out[-1], str):
            out[-1] += text
        else:
            out.append(text)


def split_answer(text: str, id_prefix: str = "call") -> list[Piece]:
    """A whole answer split at once (what the streaming splitter yields for it)."""
    splitter = ToolCallSplitter(id_prefix)
    return [*splitter.feed(text), *splitter.finish()]
