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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.core.paths import AppPaths

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2


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
    threads: int | None = Field(
        default=None, gt=0, description="generation threads; None: all cores or one fewer, whichever measures faster"
    )
    threads_batch: int | None = Field(default=None, gt=0, description="prompt threads; None: one per physical core")
    state_ram_mb: int = Field(default=1024, ge=0, description="saved chat states kept in RAM; 0: none")
    state_disk_mb: int = Field(default=4096, ge=0, description="saved chat states on disk; 0: none written")
    gpu_layers: int = Field(default=0, ge=-1, description="-1: all layers, 0: CPU only")
    flash_attention: bool = False
    seed: int = Field(default=-1, ge=-1, description="-1: a new random seed per reply")
    thinking: bool = True
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)


LOCAL_PROFILE = "This computer"
PROFILE_NAME_MAX = 60


class ConnectionProfile(_Section):
    """A named place replies come from: this computer's engine or an OpenAI-compatible model server.

    The server's API key is not here: it lives in the system keyring, under
    the profile's name and address (``app.core.remote.keys``).
    """

    name: str = Field(min_length=1, max_length=PROFILE_NAME_MAX)
    backend: Literal["local", "remote"] = "remote"
    base_url: str = ""
    model: str = ""  # empty: the first model the server lists
    read_timeout: float = Field(default=120.0, gt=0, le=3600)
    ca_file: str | None = None  # a certificate authority to trust (self-signed servers)

    @field_validator("name", mode="before")
    @classmethod
    def _strip_name(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


def _builtin_profile() -> ConnectionProfile:
    return ConnectionProfile(name=LOCAL_PROFILE, backend="local")


class ConnectionSettings(_Section):
    """The saved connection profiles and the one in use; "This computer" always exists."""

    profiles: list[ConnectionProfile] = Field(default_factory=lambda: [_builtin_profile()])
    active: str = LOCAL_PROFILE

    @model_validator(mode="after")
    def _check(self) -> ConnectionSettings:
        seen: set[str] = set()
        for profile in self.profiles:
            key = profile.name.strip().casefold()
            if key in seen:
                raise ValueError(f"Two connection profiles are named {profile.name!r}; names must be unique.")
            seen.add(key)
            if key == LOCAL_PROFILE.casefold() and profile.backend != "local":
                raise ValueError(f"The built-in profile {LOCAL_PROFILE!r} always runs models on this computer.")
        if LOCAL_PROFILE.casefold() not in seen:
            # A hand-edited file without it: the built-in profile comes back first.
            self.profiles.insert(0, _builtin_profile())
        if not any(profile.name == self.active for profile in self.profiles):
            # A hand-edited or stale pointer: fall back to the profile that always works.
            log.warning("active connection %r is not a saved profile; using %r", self.active, LOCAL_PROFILE)
            self.active = LOCAL_PROFILE
        return self

    def profile(self, name: str) -> ConnectionProfile | None:
        """The profile called ``name``, or ``None``."""
        return next((profile for profile in self.profiles if profile.name == name), None)

    @property
    def current(self) -> ConnectionProfile:
        """The profile in use."""
        found = self.profile(self.active)
        assert found is not None  # the validator guarantees it
        return found


ThemeName = Literal["system", "light", "dark"]


class UISettings(_Section):
    """How the window looks."""

    theme: ThemeName = "system"
    editor_font_size: int = Field(default=11, ge=6, le=72)
    editor_font_family: str = ""  # empty: the system's fixed-width font


class GitSettings(_Section):
    """Git integration."""

    # Commit every accepted AI edit at once, with a trailer naming the model and its settings.
    auto_commit_ai_edits: bool = False


class ChatSettings(_Section):
    """What goes with each chat message besides the user's text."""

    # The mode whose plugin system prompts apply ("chat", or one a plugin adds: "code", "math").
    mode: str = Field(default="chat", min_length=1, max_length=40)
    # Context providers (by id) the user turned off; every other one adds its context to each message.
    context_providers_off: list[str] = Field(default_factory=list)


class AgentSettings(_Section):
    """Agent mode (Settings ▸ Tools): limits, switched-off tools, MCP tools trusted as read-only."""

    step_limit: int = Field(default=12, ge=1, le=200, description="tool calls per message")
    tool_timeout: float = Field(default=30.0, gt=0, le=3600, description="seconds a tool may run")
    tools_off: list[str] = Field(default_factory=list)  # tool names the model is not offered
    # MCP tools are acting (asked about) unless named here.
    read_only_tools: list[str] = Field(default_factory=list)


class ModelsSettings(_Section):
    """Model downloads."""

    offline: bool = Field(default=False, description="True: never reach the network; downloads are refused")


class CompletionSettings(_Section):
    """Inline code completion in the editor (off until the user chooses a model)."""

    # A GGUF with fill-in-the-middle tokens (Qwen2.5-Coder, Qwen3-Coder …); None: completion is off.
    model: str | None = None
    debounce_ms: int = Field(default=300, ge=50, le=5000)
    max_tokens: int = Field(default=64, ge=1, le=512)
    max_lines: int = Field(default=8, ge=1, le=100)
    threads: int | None = Field(default=None, gt=0, description="None: chosen from the cores")


class ProjectSettings(_Section):
    """Settings of one project folder (keyed by its resolved path in ``Settings.projects``)."""

    python: str | None = Field(default=None, description="the interpreter for its tests; None: detect it")


class RefsSettings(_Section):
    """Code referencing: matching generated code against code installed on this computer."""

    enabled: bool = True
    # Folders of someone else's code to compare against too (a library checkout, say).
    folders: list[str] = Field(default_factory=list, max_length=100)
    # Normalised tokens a match must cover; the default (about 150 characters) comes from `quillpad bench refs`.
    min_tokens: int = Field(default=40, ge=20, le=2000)
    # Ask a second time before applying an edit that matches indexed code.
    confirm_matches: bool = False


class Settings(_Section):
    """All user settings; ``schema_version`` says which layout the file has."""

    schema_version: int = SCHEMA_VERSION
    engine: EngineSettings = Field(default_factory=EngineSettings)
    ui: UISettings = Field(default_factory=UISettings)
    git: GitSettings = Field(default_factory=GitSettings)
    connections: ConnectionSettings = Field(default_factory=ConnectionSettings)
    recent_models: list[str] = Field(default_factory=list, max_length=20)
    models_dir: str | None = None
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    completion: CompletionSettings = Field(default_factory=CompletionSettings)
    refs: RefsSettings = Field(default_factory=RefsSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    # Options plugins declare (PluginInfo.settings), by plugin id; checked against the declarations on use.
    plugins: dict[str, dict[str, bool | int | str]] = Field(default_factory=dict)
    # Per project folder (resolved path): added without a schema change, older files simply lack it.
    projects: dict[str, ProjectSettings] = Field(default_factory=dict)


MIGRATED_PROFILE = "Model server"


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had one app-wide server (``remote``); it becomes a profile.

    Its API key stays where version 1 put it (under the server address); the
    profile finds it there (``KeyStore.get_profile``).
    """
    data = dict(data)
    remote = data.pop("remote", None)
    profiles: list[dict[str, Any]] = [{"name": LOCAL_PROFILE, "backend": "local"}]
    active = LOCAL_PROFILE
    if isinstance(remote, dict) and str(remote.get("base_url") or "").strip():
        server = {key: remote[key] for key in ("base_url", "model", "read_timeout") if key in remote}
        profiles.append({"name": MIGRATED_PROFILE, "backend": "remote", **server})
        if remote.get("backend") == "remote":
            active = MIGRATED_PROFILE
    data["connections"] = {"profiles": profiles, "active": active}
    return data


# MIGRATIONS[n] turns a version-n dict into a version-(n+1) dict.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


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
