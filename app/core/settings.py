"""Typed, versioned user settings stored as JSON in the config folder.

Every value is validated (pydantic), so a hand-edited file with a bad value is
caught with a plain message instead of surfacing later as a crash. Older
files are migrated step by step; a damaged file is set aside, not lost.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.paths import AppPaths

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


class SamplingSettings(_Section):
    """Overrides of the model family's sampling preset; None keeps the preset."""

    temperature: float | None = Field(default=None, ge=0.0, le=5.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0)
    min_p: float | None = Field(default=None, ge=0.0, le=1.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)


class EngineSettings(_Section):
    """How the local model runs."""

    context_length: int | None = Field(default=None, gt=0, le=1_048_576, description="None: the profile's default")
    threads: int | None = Field(default=None, gt=0, description="None: one per physical core")
    gpu_layers: int = Field(default=0, ge=-1, description="-1: all layers, 0: CPU only")
    flash_attention: bool = False
    seed: int = Field(default=-1, ge=-1, description="-1: a new random seed per reply")
    thinking: bool = True
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)


class RemoteSettings(_Section):
    """Where replies come from: this computer's engine or an OpenAI-compatible model server.

    The server's API key is not here: it lives in the system keyring.
    """

    backend: Literal["local", "remote"] = "local"
    base_url: str = ""
    model: str = ""  # empty: the first model the server lists
    read_timeout: float = Field(default=120.0, gt=0, le=3600)


class UISettings(_Section):
    """How the window looks."""

    theme: Literal["system", "light", "dark"] = "system"
    editor_font_size: int = Field(default=11, ge=6, le=72)
    editor_font_family: str = ""  # empty: the system's fixed-width font


class GitSettings(_Section):
    """Git integration."""

    # Commit every accepted AI edit at once, with a trailer naming the model and its settings.
    auto_commit_ai_edits: bool = False


class ModelsSettings(_Section):
    """Model downloads."""

    offline: bool = Field(default=False, description="True: never reach the network; downloads are refused")


class Settings(_Section):
    """All user settings; ``schema_version`` says which layout the file has."""

    schema_version: int = SCHEMA_VERSION
    engine: EngineSettings = Field(default_factory=EngineSettings)
    ui: UISettings = Field(default_factory=UISettings)
    git: GitSettings = Field(default_factory=GitSettings)
    remote: RemoteSettings = Field(default_factory=RemoteSettings)
    recent_models: list[str] = Field(default_factory=list, max_length=20)
    models_dir: str | None = None
    models: ModelsSettings = Field(default_factory=ModelsSettings)


# MIGRATIONS[n] turns a version-n dict into a version-(n+1) dict.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus what the user should be told about loading them."""

    settings: Settings
    notice: str | None = None
    read_only: bool = False  # True when saving would destroy a newer file


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("schema_version", 1)
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["schema_version"] = version
    return data


def _set_aside(path: Path) -> Path:
    backup = path.with_name(path.name + ".broken")
    os.replace(path, backup)
    return backup


def load_settings(paths: AppPaths) -> LoadedSettings:
    """Read settings; a missing file gives defaults, a bad one a notice."""
    path = paths.settings_file
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadedSettings(Settings())
    except OSError as err:
        return LoadedSettings(Settings(), f"Cannot read {path} ({err.strerror}); using default settings.", True)
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"bad schema_version {version!r}")
        if version > SCHEMA_VERSION:
            return LoadedSettings(
                Settings(),
                f"{path.name} was written by a newer Quillpad (schema {version}); using defaults "
                "for this session and leaving the file as it is.",
                read_only=True,
            )
        return LoadedSettings(Settings.model_validate(_migrate(data)))
    except (ValueError, ValidationError) as err:
        backup = _set_aside(path)
        log.warning("settings file %s unreadable, moved to %s: %s", path, backup, err)
        return LoadedSettings(
            Settings(),
            f"{path.name} could not be read, so defaults are in use; the old file was kept as {backup.name}.",
        )


def save_settings(paths: AppPaths, settings: Settings) -> None:
    """Write settings atomically (temporary file, flush, rename)."""
    path = paths.settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    text = settings.model_dump_json(indent=2)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
