"""Settings become engine requests here, and only here.

``load_options`` turns the user's settings into ``LoadOptions``;
``RequestDefaults`` holds what a chat request takes from them (thinking,
seed, sampling) and builds every ``ChatRequest`` the app sends: the chat,
plugins' model turns, commit messages and evaluations all come through
``RequestDefaults.request``, so a sampling setting means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.core.engine.options import ChatMessage, ChatRequest, LoadOptions, SamplingOverrides
from app.core.settings import Settings


def load_options(settings: Settings) -> LoadOptions:
    """Engine load options from the user's settings."""
    engine = settings.engine
    return LoadOptions(
        context_length=engine.context_length,
        threads=engine.threads,
        threads_batch=engine.threads_batch,
        state_ram_mb=engine.state_ram_mb,
        state_disk_mb=engine.state_disk_mb,
        gpu_layers=engine.gpu_layers,
        flash_attention=engine.flash_attention,
    )


def sampling_overrides(settings: Settings) -> SamplingOverrides:
    """The user's sampling settings (``None`` fields keep the model profile's preset)."""
    return SamplingOverrides(**settings.engine.sampling.model_dump())


@dataclass(frozen=True)
class RequestDefaults:
    """What a request takes when its sender leaves a choice open."""

    thinking: bool | None = None  # None: the model profile's default
    seed: int | None = None  # None or -1: random
    sampling: SamplingOverrides = field(default_factory=SamplingOverrides)
    max_tokens: int | None = None  # None: up to the end of the context

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestDefaults:
        """The user's defaults: thinking on or off, seed, sampling."""
        return cls(thinking=settings.engine.thinking, seed=settings.engine.seed, sampling=sampling_overrides(settings))

    def request(
        self,
        messages: Sequence[ChatMessage],
        *,
        thinking: bool | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        grammar: str | None = None,
        ignore_eos: bool = False,
    ) -> ChatRequest:
        """A request for ``messages``; each argument left ``None`` takes the default."""
        return ChatRequest(
            tuple(messages),
            thinking=self.thinking if thinking is None else thinking,
            max_tokens=self.max_tokens if max_tokens is None else max_tokens,
            seed=self.seed if seed is None else seed,
            sampling=self.sampling,
            grammar=grammar,
            ignore_eos=ignore_eos,
        )
