"""The trailer that names the model behind an automatically committed AI edit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from app.core.engine.options import SamplingOverrides
from app.core.engine.profiles import FamilyProfile

TRAILER_KEY = "Generated-by"


def _number(value: float | int | str | bool | None) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def provenance_trailer(model_file: str | Path | None, settings: Mapping[str, float | int | str | bool | None]) -> str:
    """``Generated-by: Quillpad (model Qwen3-8B-Q4_K_M.gguf, temperature 0.6, top_p 0.95, ...)``.

    ``settings`` keeps its order; ``None`` values are left out. One line, as
    git trailers must be.
    """
    # A local model is named by its file; a server's model ("Qwen/Qwen3-8B @ host") as it is.
    if not model_file:
        name = "unknown model"
    else:
        name = (
            Path(model_file).name
            if isinstance(model_file, Path) or str(model_file).endswith(".gguf")
            else str(model_file)
        )
    parts = [f"model {name}"] + [
        f"{key} {_number(value)}" for key, value in settings.items() if value is not None and str(value) != ""
    ]
    text = ", ".join(parts).replace("\n", " ")
    return f"{TRAILER_KEY}: Quillpad ({text})"


def auto_commit_message(keys: list[str], instruction: str, trailer: str) -> str:
    """The message of an automatic commit of an AI edit."""
    names = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
    summary = f"AI edit: {names}"
    if len(summary) > 72:
        summary = summary[:71].rstrip() + "…"
    body = f"Applied with Quillpad after review.\n\nRequest: {instruction.strip()}\n" if instruction.strip() else ""
    return f"{summary}\n\n{body}\n{trailer}\n" if body else f"{summary}\n\n{trailer}\n"


def model_settings(
    profile: FamilyProfile | None,
    overrides: Mapping[str, float | int | None],
    *,
    thinking: bool,
    seed: int,
    context_length: int | None,
) -> dict[str, float | int | str | bool | None]:
    """The settings a reply was made with: the profile's sampling preset with the user's overrides applied."""
    values: dict[str, float | int | str | bool | None] = {}
    if profile is not None:
        preset = profile.thinking if thinking else profile.non_thinking
        known = {f.name for f in fields(SamplingOverrides)}
        chosen: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None and k in known}
        effective = preset.with_overrides(SamplingOverrides(**chosen))
        values.update(
            temperature=effective.temperature,
            top_p=effective.top_p,
            top_k=int(effective.top_k),
            min_p=effective.min_p,
            presence_penalty=effective.presence_penalty,
        )
    else:
        values.update(overrides)
    values.update(thinking="on" if thinking else "off", seed="random" if seed < 0 else seed, context=context_length)
    return values
