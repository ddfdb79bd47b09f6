"""Events the engine reports while it works: small, picklable, plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DoneReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class ThinkingText:
    """A piece of the model's thinking (text inside ``<think>…</think>``)."""

    text: str


@dataclass(frozen=True)
class AnswerText:
    """A piece of the answer proper."""

    text: str


@dataclass(frozen=True)
class Notice:
    """Something the user should know that did not stop the reply."""

    message: str


@dataclass(frozen=True)
class Queued:
    """The request waits for the engine: ``position`` requests are ahead of it (1: the one running).

    Sent again whenever the position changes; the request starts once none is ahead.
    """

    position: int


@dataclass(frozen=True)
class Stats:
    """Figures for one reply."""

    prompt_tokens: int
    prompt_tokens_evaluated: int
    prompt_tokens_reused: int
    completion_tokens: int
    thinking_tokens: int
    time_to_first_token: float  # seconds from request to first generated token
    prompt_seconds: float
    decode_seconds: float
    dropped_turns: int = 0
    threads: int = 0  # generation threads at the end of the reply (0: not known, e.g. a server)
    # Generated tokens per generation thread count, most first (the automatic
    # policy may switch mid-reply); empty when not known.
    thread_tokens: tuple[tuple[int, int], ...] = ()
    # Seconds between consecutive generated tokens (empty when not known): where a reply was slow.
    token_gaps: tuple[float, ...] = ()

    @property
    def decode_tokens_per_second(self) -> float:
        if self.decode_seconds <= 0 or self.completion_tokens < 2:
            return 0.0
        return (self.completion_tokens - 1) / self.decode_seconds

    def to_dict(self) -> dict[str, float | int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_evaluated": self.prompt_tokens_evaluated,
            "prompt_tokens_reused": self.prompt_tokens_reused,
            "completion_tokens": self.completion_tokens,
            "thinking_tokens": self.thinking_tokens,
            "time_to_first_token": round(self.time_to_first_token, 4),
            "prompt_seconds": round(self.prompt_seconds, 4),
            "decode_seconds": round(self.decode_seconds, 4),
            "decode_tokens_per_second": round(self.decode_tokens_per_second, 2),
            "dropped_turns": self.dropped_turns,
            "threads": self.threads,
        }


@dataclass(frozen=True)
class Done:
    """The reply ended. ``answer`` and ``thinking`` hold all of it (partial if stopped)."""

    reason: DoneReason
    answer: str = ""
    thinking: str = ""


@dataclass(frozen=True)
class EngineError:
    """The request failed; ``message`` is one sentence for the user.

    ``crashed`` means the worker process died (see ``exit_code``/``signal``
    and ``log_tail``); the engine must then be restarted. Whatever partial
    answer had streamed is in ``answer``.

    A model server's failure says whether asking again may help:
    ``transient`` for a lost connection, a stream closed early, a malformed
    event, a stall, HTTP 429 and 5xx; ``status`` is the HTTP status when the
    server answered with one, ``retry_after`` its ``Retry-After`` in seconds.
    """

    message: str
    crashed: bool = False
    exit_code: int | None = None
    signal: str | None = None
    log_tail: list[str] = field(default_factory=list)
    answer: str = ""
    thinking: str = ""
    transient: bool = False
    status: int | None = None
    retry_after: float | None = None


def queued_message(position: int) -> str:
    """What to tell the user about a waiting request."""
    ahead = "1 request is" if position == 1 else f"{position} requests are"
    return f"Waiting for the model: {ahead} ahead of this one (position {position + 1} in the queue)."


@dataclass(frozen=True)
class RenderedPrompt:
    """Exactly what a request would send to the model (for previews and tests)."""

    text: str
    tokens: int
    dropped_turns: int
    thinking: bool
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolCalls:
    """Tool calls a model server returned natively (OpenAI ``tool_calls``), before ``Done``.

    The local engine never sends this: Qwen3 writes its calls into the answer
    text, and agent mode reads them from there.
    """

    calls: tuple[tuple[str, str, str], ...]  # (id, function name, arguments as JSON text)


EngineEvent = ThinkingText | AnswerText | Notice | Queued | Stats | ToolCalls | Done | EngineError


def event_to_dict(event: EngineEvent) -> dict[str, object]:
    """The JSON-lines form used by ``quillpad chat --json``."""
    if isinstance(event, ThinkingText):
        return {"type": "thinking", "text": event.text}
    if isinstance(event, AnswerText):
        return {"type": "text", "text": event.text}
    if isinstance(event, Notice):
        return {"type": "notice", "message": event.message}
    if isinstance(event, Queued):
        return {"type": "queued", "position": event.position}
    if isinstance(event, Stats):
        return {
            "type": "stats",
            **event.to_dict(),
            "thread_tokens": {str(threads): count for threads, count in event.thread_tokens},
        }
    if isinstance(event, Done):
        return {"type": "done", "reason": event.reason}
    if isinstance(event, ToolCalls):
        return {"type": "tool_calls", "calls": [{"id": i, "name": n, "arguments": a} for i, n, a in event.calls]}
    return {
        "type": "error",
        "message": event.message,
        "crashed": event.crashed,
        "exit_code": event.exit_code,
        "signal": event.signal,
    }
