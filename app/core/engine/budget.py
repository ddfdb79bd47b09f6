"""Fitting a conversation into the context window.

System prompt, attached context, history, the new message and the room
reserved for the answer must all fit. When they do not, the oldest turns go
first; the system prompt and the newest message are never dropped.

Where to cut decides what the model evaluates again. Dropping just enough
turns at every reply moves the start of the prompt at every reply, so once
a conversation fills the context each reply evaluated the whole prompt
again (the starter model: ~16 s before the first token at 3,400 tokens, a
Qwen3-8B on a laptop minutes). So when turns must go and the caller says
what the model already holds (``reuse``), a cut whose prompt the model has
mostly evaluated is kept (only the new turn is evaluated); otherwise the cut
goes down to ``LOW_WATER`` of the room, so that the next replies extend the
same prompt until the context is full again. The model sees less history
right after a cut; the prompt it sees is always exact, never shifted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.engine.options import ChatMessage
from app.core.engine.prompt import BuiltPrompt
from app.core.errors import QuillpadError

DEFAULT_ANSWER_RESERVE = 1024
LOW_WATER = 0.5  # a fresh cut leaves the prompt at most this share of the room


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
    reuse: Callable[[list[int]], int] | None = None,
) -> FittedPrompt:
    """Render and tokenize, dropping the oldest turns until the prompt fits.

    ``reuse(tokens)``: how many leading tokens of a prompt the model already
    holds (its KV cache or a saved state). Without it, just enough turns go;
    with it, see the module docstring.
    """
    reserve = answer_reserve(context_length, max_tokens)
    room = context_length - reserve
    dropped = 0
    current = messages
    last_fit: FittedPrompt | None = None
    while True:
        prompt = build(current)
        tokens = tokenize(prompt.text)
        if len(tokens) <= room:
            fitted = FittedPrompt(prompt, tokens, dropped, reserve)
            if dropped == 0 or reuse is None:
                return fitted
            if reuse(tokens) * 2 >= len(tokens) or len(tokens) <= LOW_WATER * room:
                return fitted
            last_fit = fitted
        shorter = _drop_oldest_turn(current)
        if shorter is None:
            if last_fit is not None:
                return last_fit
            raise ContextOverflowError(
                f"This message needs {len(tokens):,} tokens plus {reserve:,} kept for the answer, more than the "
                f"{context_length:,}-token context; shorten it or load the model with a longer context."
            )
        dropped += 1
        current = shorter
