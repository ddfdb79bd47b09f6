"""Model family profiles: data in ``models/profiles/*.toml``, matched on GGUF metadata."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from app.core.engine.options import SamplingOverrides

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

GENERIC = "Generic"
log = logging.getLogger(__name__)


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


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _user_profiles(folder: Path) -> list[dict[str, Any]]:
    """User profile files; a broken one is skipped with a log entry, not fatal."""
    found = []
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data.get("name"), str):
                raise ValueError("it has no name")
            found.append(data)
        except (OSError, ValueError) as err:
            log.warning("ignoring profile %s: %s", path, err)
    return found


def load_profiles(user_dir: Path | None = None) -> list[FamilyProfile]:
    """Bundled profiles, with the user's files in ``user_dir`` laid over them.

    A user file whose ``name`` matches a bundled profile overrides just the
    values it sets (say, ``[sampling.thinking] temperature``); a new name adds
    a family. The generic profile comes last.
    """
    folder = resources.files("models") / "profiles"
    raw = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            raw[data["name"]] = data
    for data in _user_profiles(user_dir) if user_dir else []:
        raw[data["name"]] = _merge(raw.get(data["name"], {}), data)
    profiles = []
    for name, data in raw.items():
        try:
            profiles.append(_profile_from_toml(data))
        except (KeyError, TypeError, ValueError) as err:
            log.warning("ignoring profile %s: missing or bad value %s", name, err)
    profiles.sort(key=lambda p: (p.name == GENERIC, p.name))
    return profiles


def profile_for(architecture: str, *names: str | None, user_dir: Path | None = None) -> FamilyProfile:
    """The first profile matching the model, else the generic one."""
    profiles = load_profiles(user_dir)
    for profile in profiles:
        if profile.name != GENERIC and profile.matches(architecture, names):
            return profile
    return next(p for p in profiles if p.name == GENERIC)
