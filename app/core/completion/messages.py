"""What the completion engine and its worker process say to each other (picklable dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.core.completion.prompt import CompletionInput, PromptBudget


@dataclass(frozen=True)
class CompletionLoad:
    """Load a completion model."""

    path: str
    context_length: int = 4096
    threads: int = 2
    # Small batches: a request cancelled mid-prompt keeps every finished batch in the KV cache,
    # so the next keystroke (same prefix) continues from there instead of starting over.
    batch_size: int = 64


@dataclass(frozen=True)
class CompletionLimits:
    """How long a suggestion may be."""

    max_tokens: int = 64
    max_lines: int = 8
    budget: PromptBudget = field(default_factory=PromptBudget)


@dataclass(frozen=True)
class Complete:
    """Fill in the middle for request ``request_id`` (aborted once a newer id is issued)."""

    request_id: int
    request: CompletionInput
    limits: CompletionLimits = CompletionLimits()


@dataclass(frozen=True)
class RenderFim:
    """Build the prompt for ``request`` without generating (tests, ``--show-prompt``)."""

    request: CompletionInput
    budget: PromptBudget = field(default_factory=PromptBudget)


@dataclass(frozen=True)
class QuitWorker:
    """End the worker process."""


@dataclass(frozen=True)
class WorkerUp:
    """The worker started (sent once)."""

    pid: int


@dataclass(frozen=True)
class CompletionModelReady:
    """The model loaded and its FIM format is known."""

    format_name: str
    n_ctx: int


@dataclass(frozen=True)
class CompletionRefused:
    """The model cannot be used for completion; ``reason`` is one sentence for the user."""

    reason: str


@dataclass(frozen=True)
class RenderedFim:
    """The prompt a request would send, and its size in tokens."""

    text: str
    tokens: int
    related: tuple[str, ...]


@dataclass(frozen=True)
class SuggestionText:
    """The suggestion so far (already tidied), sent as it grows."""

    request_id: int
    text: str


@dataclass(frozen=True)
class CompletionStats:
    """What one request cost."""

    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    prompt_tokens_reused: int = 0
    generated_tokens: int = 0
    seconds_to_first: float | None = None  # worker-side: request received to first suggestion text
    seconds_total: float = 0.0


FinishReason = Literal["done", "cancelled", "error"]


@dataclass(frozen=True)
class CompletionFinished:
    """The end of one request: the final suggestion (empty when none), why it ended, its cost."""

    request_id: int
    text: str
    reason: FinishReason
    stats: CompletionStats
    error: str = ""
