"""Fitting a conversation into the context window.

System prompt, attached context, history, the new message and the room
reserved for the answer must all fit. When they do not, the oldest turns go
first; the system prompt and the newest message are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.engine.options import ChatMessage
from app.core.engine.prompt import BuiltPrompt
from app.core.errors import QuillpadError

DEFAULT_ANSWER_RESERVE = 1024


class ContextOverflowError(QuillpadError):
    """The newest message alone does not fit in the context."""


@dataclass(frozen=True)
class FittedPrompt:
    """The prompt that fits, its tokens, and what had to go."""

    prompt: BuiltPrompt
    tokens: list[int]
    dropped_turns: int
    answer_reserve: int


def answer_reserve(context_length: int, max_tokens: int | None) -> int:
    """Tokens kept free for the answer."""
    wanted = max_tokens if max_tokens is not None else DEFAULT_ANSWER_RESERVE
    return max(1, min(wanted, context_length // 2))


def _drop_oldest_turn(messages: tuple[ChatMessage, ...]) -> tuple[ChatMessage, ...] | None:
    """Remove the oldest user turn and the replies to it; None if nothing can go."""
    first = 1 if messages and messages[0].role == "system" else 0
    last = len(messages) - 1  # the newest message stays
    if first >= last:
        return None
    end = first + 1
    while end < last and messages[end].role != "user":
        end += 1
    return messages[:first] + messages[end:]


def fit_to_context(
    messages: tuple[ChatMessage, ...],
    build: Callable[[tuple[ChatMessage, ...]], BuiltPrompt],
    tokenize: Callable[[str], list[int]],
    context_length: int,
    max_tokens: int | None,
) -> FittedPrompt:
    """Render and tokenize, dropping the oldest turns until the prompt fits."""
    reserve = answer_reserve(context_length, max_tokens)
    dropped = 0
    current = messages
    while True:
        prompt = build(current)
        tokens = tokenize(prompt.text)
        if len(tokens) + reserve <= context_length:
            return FittedPrompt(prompt, tokens, dropped, reserve)
        shorter = _drop_oldest_turn(current)
        if shorter is None:
            raise ContextOverflowError(
                f"This message needs {len(tokens):,} tokens plus {reserve:,} kept for the answer, more than the "
                f"{context_length:,}-token context; shorten it or load the model with a longer context."
            )
        dropped += 1
        current = shorter
