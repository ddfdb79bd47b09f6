"""One reply from the model for one task, as plain data.

Any ``ModelClient`` will do (the app's engine through ``EngineModelClient``,
or a scripted model in tests): the events are collected into a
``Generation`` with the answer, the thinking and the figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.core.engine.events import AnswerText, Done, EngineError, Stats, ThinkingText
from app.core.engine.model_client import AskOptions, ModelClient
from app.core.engine.options import ChatMessage
from app.core.errors import QuillpadError
from app.core.evaluation.extract import split_thinking


class EvaluationCancelled(QuillpadError):
    """The run was cancelled; finished tasks are kept."""


class ModelCrashed(QuillpadError):
    """The engine died during the run; the run stops and can be resumed."""


@dataclass(frozen=True)
class Generation:
    """What the model said for one task."""

    answer: str  # without thinking
    thinking: str
    finish: str  # "stop", "length", or "error"
    error: str = ""
    completion_tokens: int = 0
    thinking_tokens: int = 0
    prompt_tokens: int = 0
    seconds: float = 0.0  # of the reply that counts (the last attempt)
    transient: bool = False  # an error that asking again may cure (a server's hiccup)
    status: int | None = None  # the HTTP status of a server's error
    retry_after: float | None = None
    attempts: int = 1
    request_seconds: float = 0.0  # all attempts and waits together
    server_facts: dict[str, str] = field(default_factory=dict)  # model id, system_fingerprint of the reply

    @property
    def server_failed(self) -> bool:
        """The server, not the model, failed this task: a hiccup that outlasted the retries, or an HTTP
        error such as 400 for settings it refuses. Such a task is an error, not a wrong answer."""
        return self.finish == "error" and (self.transient or self.status is not None)


def generate(
    client: ModelClient,
    messages: tuple[ChatMessage, ...],
    *,
    thinking: bool | None,
    seed: int,
    max_tokens: int | None,
) -> Generation:
    """Ask ``client`` once. Raises ``EvaluationCancelled`` when stopped, ``ModelCrashed`` when the engine died."""
    started = time.monotonic()
    answer: list[str] = []
    thought: list[str] = []
    stats: Stats | None = None
    options = AskOptions(thinking=thinking, max_tokens=max_tokens, seed=seed)
    for event in client.stream(messages, options):
        if isinstance(event, AnswerText):
            answer.append(event.text)
        elif isinstance(event, ThinkingText):
            thought.append(event.text)
        elif isinstance(event, Stats):
            stats = event
        elif isinstance(event, EngineError):
            if event.crashed:
                raise ModelCrashed(event.message)
            return Generation(
                "".join(answer),
                "".join(thought),
                "error",
                error=event.message,
                seconds=time.monotonic() - started,
                transient=event.transient,
                status=event.status,
                retry_after=event.retry_after,
            )
        elif isinstance(event, Done):
            if event.reason == "cancelled":
                raise EvaluationCancelled("The evaluation was cancelled.")
            text, thinking_text = split_thinking(event.answer or "".join(answer), event.thinking or "".join(thought))
            return Generation(
                text,
                thinking_text,
                event.reason,
                completion_tokens=stats.completion_tokens if stats else 0,
                thinking_tokens=stats.thinking_tokens if stats else 0,
                prompt_tokens=stats.prompt_tokens if stats else 0,
                seconds=time.monotonic() - started,
            )
    text, thinking_text = split_thinking("".join(answer), "".join(thought))
    return Generation(text, thinking_text, "error", error="The reply ended without a final event.", transient=True)
