"""Model family profiles: data in ``models/profiles/*.toml``, matched on GGUF metadata."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

from app.core.engine.options import SamplingOverrides

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

GENERIC = "Generic"


@dataclass(frozen=True)
class SamplingPreset:
    """A complete set of sampling values."""

    temperature: float
    top_p: float
    top_k: int
    min_p: float
    presence_penalty: float = 0.0
    repeat_penalty: float = 1.0

    def with_overrides(self, overrides: SamplingOverrides) -> SamplingPreset:
        def pick(name: str, default: float) -> float:
            value = getattr(overrides, name)
            return default if value is None else float(value)

        return SamplingPreset(
            temperature=pick("temperature", self.temperature),
            top_p=pick("top_p", self.top_p),
            top_k=self.top_k if overrides.top_k is None else overrides.top_k,
            min_p=pick("min_p", self.min_p),
            presence_penalty=pick("presence_penalty", self.presence_penalty),
            repeat_penalty=pick("repeat_penalty", self.repeat_penalty),
        )


@dataclass(frozen=True)
class FamilyProfile:
    """What Quillpad knows about a model family."""

    name: str
    match_architectures: tuple[str, ...]
    match_names: tuple[str, ...]
    default_context: int
    thinking_default: bool
    think_open: str
    think_close: str
    soft_switch: bool
    stop: tuple[str, ...]
    thinking: SamplingPreset
    non_thinking: SamplingPreset

    def matches(self, architecture: str, names: tuple[str | None, ...]) -> bool:
        if architecture in self.match_architectures:
            return True
        lowered = [n.lower() for n in names if n]
        return any(key in name for key in self.match_names for name in lowered)

    def sampling(self, thinking: bool, overrides: SamplingOverrides | None = None) -> SamplingPreset:
        preset = self.thinking if thinking else self.non_thinking
        return preset.with_overrides(overrides) if overrides else preset


def _profile_from_toml(data: dict[str, Any]) -> FamilyProfile:
    sampling = data["sampling"]
    return FamilyProfile(
        name=data["name"],
        match_architectures=tuple(data.get("match_architectures", ())),
        match_names=tuple(n.lower() for n in data.get("match_names", ())),
        default_context=int(data["default_context"]),
        thinking_default=bool(data["thinking_default"]),
        think_open=data["think_open"],
        think_close=data["think_close"],
        soft_switch=bool(data["soft_switch"]),
        stop=tuple(data.get("stop", ())),
        thinking=SamplingPreset(**sampling["thinking"]),
        non_thinking=SamplingPreset(**sampling["non_thinking"]),
    )


def load_profiles() -> list[FamilyProfile]:
    """All bundled profiles, the generic one last."""
    folder = resources.files("models") / "profiles"
    profiles = [
        _profile_from_toml(tomllib.loads(entry.read_text(encoding="utf-8")))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    ]
    profiles.sort(key=lambda p: (p.name == GENERIC, p.name))
    return profiles


def profile_for(architecture: str, *names: str | None) -> FamilyProfile:
    """The first profile matching the model, else the generic one."""
    profiles = load_profiles()
    for profile in profiles:
        if profile.name != GENERIC and profile.matches(architecture, names):
            return profile
    return next(p for p in profiles if p.name == GENERIC)
