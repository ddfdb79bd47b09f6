"""What the engine is asked to do: load options and chat requests, validated.

Validation happens in the parent, before anything reaches the worker, so a
bad value becomes a one-sentence message rather than a llama.cpp failure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from app.core.errors import QuillpadError

Role = Literal["system", "user", "assistant", "tool"]


class InvalidOptionError(QuillpadError):
    """A setting or request value that cannot be used."""


def physical_cores() -> int:
    """Physical CPU cores (llama.cpp runs best with one thread per core)."""
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
        if count:
            return int(count)
    except Exception:  # psutil missing or unable to tell: fall back below
        pass
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass(frozen=True)
class LoadOptions:
    """How to load a model. ``None`` means "choose for me"."""

    context_length: int | None = None  # None: profile default, capped by the model's training context
    threads: int | None = None  # generation; None: chosen by measured speed (all cores or one fewer)
    threads_batch: int | None = None  # prompt processing; None: physical cores
    gpu_layers: int = 0  # 0: CPU only, -1: all
    flash_attention: bool = False
    batch_size: int = 512
    allow_longer_context: bool = False  # beyond the training context (quality drops)
    tensor_split: tuple[float, ...] | None = None  # share of the model per GPU; None: llama.cpp decides
    # Saved engine states (no prompt processed twice): RAM and disk budgets in MB; 0 turns a level off.
    state_ram_mb: int = 1024
    state_disk_mb: int = 0

    @property
    def uses_gpu(self) -> bool:
        return self.gpu_layers != 0 or self.tensor_split is not None

    def on_cpu(self) -> LoadOptions:
        """The same options with every GPU setting removed."""
        return replace(self, gpu_layers=0, tensor_split=None)

    def validate(self) -> None:
        """Raise ``InvalidOptionError`` for values llama.cpp cannot use."""
        if self.context_length is not None and self.context_length <= 0:
            raise InvalidOptionError(
                f"Context length must be a positive number of tokens (got {self.context_length}); try 8192."
            )
        if self.threads is not None and self.threads <= 0:
            raise InvalidOptionError(f"Threads must be at least 1 (got {self.threads}); leave it empty for automatic.")
        if self.threads_batch is not None and self.threads_batch <= 0:
            raise InvalidOptionError(
                f"Prompt threads must be at least 1 (got {self.threads_batch}); leave it empty for automatic."
            )
        if self.state_ram_mb < 0 or self.state_disk_mb < 0:
            raise InvalidOptionError("Saved-state budgets must be 0 (off) or a positive number of MB.")
        if self.gpu_layers < -1:
            raise InvalidOptionError(
                f"GPU layers must be -1 (all), 0 (CPU only) or a positive count (got {self.gpu_layers})."
            )
        if self.batch_size <= 0:
            raise InvalidOptionError(f"Batch size must be a positive number of tokens (got {self.batch_size}).")


@dataclass(frozen=True)
class SamplingOverrides:
    """User overrides of the profile's sampling preset; ``None`` keeps the preset."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    presence_penalty: float | None = None
    repeat_penalty: float | None = None

    def validate(self) -> None:
        checks = {
            "temperature": (0.0, 5.0),
            "top_p": (0.0, 1.0),
            "min_p": (0.0, 1.0),
            "presence_penalty": (-2.0, 2.0),
            "repeat_penalty": (0.0, 5.0),
        }
        for name, (low, high) in checks.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise InvalidOptionError(f"Sampling setting {name} must be between {low} and {high} (got {value}).")
        if self.top_k is not None and self.top_k < 0:
            raise InvalidOptionError(f"Sampling setting top_k must be 0 (off) or more (got {self.top_k}).")

    def as_dict(self) -> dict[str, float | int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation.

    A ``tool`` message carries a tool's result back to the model; ``tool_call_id``
    and ``name`` say which call it answers (model servers need the id). An
    assistant turn that called tools keeps the calls in its text as the model
    wrote them (Qwen3's ``<tool_call>`` blocks), so every backend reads them the same way.
    """

    role: Role
    content: str
    tool_call_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class ChatRequest:
    """A reply to produce for ``messages`` (the last one is the user's new message)."""

    messages: tuple[ChatMessage, ...]
    thinking: bool | None = None  # None: the profile's default
    max_tokens: int | None = None  # None: up to the context's end
    seed: int | None = None  # None or -1: random
    sampling: SamplingOverrides = field(default_factory=SamplingOverrides)
    # Never end at an end-of-turn token: fixed-length output for benchmarks.
    ignore_eos: bool = False
    # A llama.cpp GBNF grammar the output must follow (thinking included).
    grammar: str | None = None
    # Tools the model may call, as OpenAI-style function schemas ({"type": "function", "function": {...}}):
    # rendered by the chat template's ``tools`` variable locally, sent as ``tools`` to a model server.
    tools: tuple[dict[str, object], ...] = ()

    def validate(self) -> None:
        if not self.messages:
            raise InvalidOptionError("There is nothing to answer: the conversation has no messages.")
        if self.messages[-1].role not in ("user", "tool"):
            raise InvalidOptionError("The last message must be the user's; write a message before sending.")
        for message in self.messages:
            if message.role not in ("system", "user", "assistant", "tool"):
                raise InvalidOptionError(f"Unknown message role {message.role!r}; use system, user, assistant or tool.")
        if self.max_tokens is not None and self.max_tokens <= 0:
            raise InvalidOptionError(f"Maximum answer length must be at least 1 token (got {self.max_tokens}).")
        if self.seed is not None and self.seed < -1:
            raise InvalidOptionError(f"Seed must be -1 (random) or a non-negative number (got {self.seed}).")
        self.sampling.validate()
