"""What the parent and the engine worker say to each other on their pipe: typed, picklable data.

Commands go to the worker; replies come back. A chat's events (``events.py``)
and a rendered prompt also travel as replies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.engine.options import ChatRequest
from app.core.engine.profiles import FamilyProfile


@dataclass(frozen=True)
class WorkerLoad:
    """Resolved load settings (the parent has validated and clamped them)."""

    path: str
    context_length: int
    threads: int
    gpu_layers: int
    flash_attention: bool
    batch_size: int
    profile: FamilyProfile
    chat_template: str | None
    tensor_split: tuple[float, ...] | None = None
    threads_batch: int = 0  # prompt processing; 0: same as ``threads``
    auto_threads: bool = False  # choose the generation thread count by measured speed (``threads.py``)
    state_folder: str | None = None  # saved states on disk (``state_cache.py``); None: RAM only
    state_ram_bytes: int = 0
    state_disk_bytes: int = 0


# -- parent -> worker ---------------------------------------------------------


@dataclass(frozen=True)
class LoadModel:
    """Load a model (replacing any loaded one)."""

    load: WorkerLoad


@dataclass(frozen=True)
class StartChat:
    """Stream the events of one reply; the last is ``Done`` or ``EngineError``."""

    request: ChatRequest


@dataclass(frozen=True)
class RenderPrompt:
    """Answer with the ``RenderedPrompt`` the request would evaluate."""

    request: ChatRequest


@dataclass(frozen=True)
class UnloadModel:
    """Free the model; the worker keeps running."""


@dataclass(frozen=True)
class Quit:
    """End the worker."""


WorkerCommand = LoadModel | StartChat | RenderPrompt | UnloadModel | Quit


# -- worker -> parent ---------------------------------------------------------


@dataclass(frozen=True)
class WorkerReady:
    """The worker has started (first message)."""

    pid: int


@dataclass(frozen=True)
class ModelLoaded:
    """The model is loaded with this context length."""

    context_length: int


@dataclass(frozen=True)
class LoadFailed:
    """llama.cpp refused the model; ``reason`` is its most telling log line."""

    reason: str
    log_tail: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ModelUnloaded:
    """The model was freed."""
