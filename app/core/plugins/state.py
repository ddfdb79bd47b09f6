"""Which plugins are turned off, and each plugin's own settings.

Kept in ``plugins.json`` in the config folder, apart from ``settings.json``,
so a plugin writing odd values can never make the app's own settings
unreadable. Writes are atomic; a damaged file is set aside with a notice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import QuillpadError
from app.core.paths import AppPaths

log = logging.getLogger(__name__)

FILE_NAME = "plugins.json"
SCHEMA_VERSION = 1


class PluginSettingsError(QuillpadError):
    """A plugin setting that cannot be stored."""


@dataclass
class PluginState:
    """Turned-off plugins (by id) and each plugin's settings section."""

    disabled: set[str] = field(default_factory=set)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)


class PluginStateStore:
    """Reads and writes ``plugins.json``; ``path=None`` keeps everything in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.notice: str | None = None
        self.state = self._load()

    @classmethod
    def for_app(cls, paths: AppPaths) -> PluginStateStore:
        """The store in the app's config folder."""
        return cls(paths.config_dir / FILE_NAME)

    def _load(self) -> PluginState:
        if self.path is None:
            return PluginState()
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return PluginState()
        except OSError as err:
            self.notice = f"Cannot read {self.path} ({err.strerror}); every plugin is on for this session."
            return PluginState()
        try:
            data = json.loads(raw)
            disabled = data["disabled"]
            sections = data.get("sections", {})
            if not (isinstance(disabled, list) and all(isinstance(item, str) for item in disabled)):
                raise ValueError("disabled is not a list of names")
            if not (isinstance(sections, dict) and all(isinstance(v, dict) for v in sections.values())):
                raise ValueError("sections is not an object of objects")
            return PluginState(set(disabled), {str(k): dict(v) for k, v in sections.items()})
        except (ValueError, KeyError, TypeError) as err:
            backup = self.path.with_name(self.path.name + ".broken")
            with contextlib.suppress(OSError):
                os.replace(self.path, backup)
            log.warning("plugin settings %s unreadable, moved to %s: %s", self.path, backup, err)
            self.notice = f"{self.path.name} could not be read, so every plugin is on; the old file was kept."
            return PluginState()

    def save(self) -> None:
        """Write the state atomically."""
        if self.path is None:
            return
        data = {
            "schema_version": SCHEMA_VERSION,
            "disabled": sorted(self.state.disabled),
            "sections": self.state.sections,
        }
        try:
            text = json.dumps(data, indent=2, sort_keys=True)
        except (TypeError, ValueError) as err:
            message = f"A plugin setting cannot be saved ({err}); use text, numbers or lists."
            raise PluginSettingsError(message) from None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".plugins-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def set_disabled(self, plugin_id: str, disabled: bool) -> None:
        """Turn a plugin off or on, and save."""
        if disabled:
            self.state.disabled.add(plugin_id)
        else:
            self.state.disabled.discard(plugin_id)
        self.save()

    def section(self, plugin_id: str) -> StoredSection:
        """The settings section of one plugin."""
        return StoredSection(self, plugin_id)


class StoredSection:
    """One plugin's settings, saved on every change."""

    def __init__(self, store: PluginStateStore, plugin_id: str) -> None:
        self._store = store
        self._id = plugin_id

    def get(self, key: str, default: Any = None) -> Any:
        return self._store.state.sections.get(self._id, {}).get(key, default)

    def set(self, key: str, value: Any) -> None:
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise PluginSettingsError(
                f"The setting {key} cannot be saved ({err}); use text, numbers, lists or mappings."
            ) from None
        self._store.state.sections.setdefault(self._id, {})[key] = value
        self._store.save()

    def values(self) -> dict[str, Any]:
        return dict(self._store.state.sections.get(self._id, {}))
