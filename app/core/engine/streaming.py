"""Streaming text filters: the thinking splitter and stop strings.

Both receive text in arbitrary pieces (a tag can be split across tokens) and
hold back only what might still turn out to be part of a tag.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

Channel = Literal["thinking", "answer"]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class _State(Enum):
    START = 1  # nothing but whitespace seen; a think block may still open
    THINKING = 2
    AFTER_THINKING = 3  # skipping the blank lines between </think> and the answer
    ANSWER = 4


class ThinkSplitter:
    """Routes a reply's text to the thinking or the answer channel.

    Only a think block at the very start of the reply counts as thinking, as
    Qwen3 produces it; a ``<think>`` later on (say, in code the model writes)
    is ordinary answer text. ``start_in_thinking`` is for templates whose
    generation prompt already opens the block, so only the closing tag comes.
    """

    def __init__(self, open_tag: str = "<think>", close_tag: str = "</think>", start_in_thinking: bool = False):
        self.open_tag = open_tag
        self.close_tag = close_tag
        self._state = _State.THINKING if start_in_thinking else _State.START
        self._held = ""
        self._thinking_started = False

    @property
    def in_thinking(self) -> bool:
        return self._state == _State.THINKING

    def feed(self, text: str) -> list[tuple[Channel, str]]:
        """Split one more piece of text; returns (channel, text) pieces to emit."""
        out: list[tuple[Channel, str]] = []
        data = self._held + text
        self._held = ""
        while data:
            if self._state == _State.START:
                stripped = data.lstrip()
                if not stripped:
                    self._held = data
                    return out
                if stripped.startswith(self.open_tag):
                    data = stripped[len(self.open_tag) :]
                    self._state = _State.THINKING
                elif self.open_tag.startswith(stripped):
                    self._held = data
                    return out
                else:
                    self._state = _State.ANSWER
                    data = stripped
            elif self._state == _State.THINKING:
                if not self._thinking_started:
                    data = data.lstrip("\n")
                    if not data:
                        return out
                    self._thinking_started = True
                end = data.find(self.close_tag)
                if end >= 0:
                    body = data[:end].rstrip()
                    if body:
                        out.append(("thinking", body))
                    data = data[end + len(self.close_tag) :]
                    self._state = _State.AFTER_THINKING
                    continue
                keep = _partial_suffix(data, self.close_tag)
                body = data[: len(data) - keep]
                # Trailing blank space is held back: it is dropped if the tag follows.
                visible = body.rstrip()
                self._held = body[len(visible) :] + data[len(data) - keep :]
                if visible:
                    out.append(("thinking", visible))
                return out
            elif self._state == _State.AFTER_THINKING:
                data = data.lstrip()
                if data:
                    self._state = _State.ANSWER
            else:
                out.append(("answer", data))
                return out
        return out

    def finish(self) -> list[tuple[Channel, str]]:
        """Flush what was held back when the reply ends."""
        held, self._held = self._held, ""
        if self._state == _State.START and held.strip():
            return [("answer", held.strip())]
        if self._state == _State.THINKING and held.strip():
            return [("thinking", held.rstrip())]
        return []


class StopStrings:
    """Cuts the stream at the first stop string, holding back possible starts of one."""

    def __init__(self, stops: tuple[str, ...] | list[str]):
        self.stops = tuple(s for s in stops if s)
        self._first_chars = frozenset(s[0] for s in self.stops)
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Return the text that is safe to emit; sets ``stopped`` at a stop string."""
        if self.stopped:
            return ""
        if not self.stops:
            return text
        data = self._held + text
        if not self._held and not any(c in data for c in self._first_chars):
            return data  # the common case, once per token: no stop can start here
        cut = min((i for i in (data.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self._held = ""
            self.stopped = True
            return data[:cut]
        keep = max(_partial_suffix(data, s) for s in self.stops)
        self._held = data[len(data) - keep :] if keep else ""
        return data[: len(data) - keep]

    def finish(self) -> str:
        held, self._held = self._held, ""
        return "" if self.stopped else held
