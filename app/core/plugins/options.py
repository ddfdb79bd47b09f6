"""Plugins' declared options (``PluginInfo.settings``), kept in the app's typed settings.

A plugin declares each option with a label and a default; the app stores the
values under ``Settings.plugins[plugin_id]`` (the GUI) or in memory (tests,
headless runs), shows them in Settings ▸ Plugins, and hands plugins only
values of the declared type: a hand-edited value of the wrong type reads as
the default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from app.core.errors import QuillpadError
from app.core.plugins.contributions import OptionValue, PluginSetting
from app.core.settings import Settings


class OptionError(QuillpadError):
    """A plugin option that is not declared, or a value of the wrong type."""


class OptionStore(Protocol):
    """Where option values live, by plugin id."""

    def values(self, plugin_id: str) -> dict[str, OptionValue]:
        """A copy of the stored values of one plugin (undeclared or stale keys included)."""
        ...

    def store(self, plugin_id: str, key: str, value: OptionValue) -> None:
        """Keep ``value`` and save."""
        ...


class MemoryOptions:
    """Options kept for this session only."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, OptionValue]] = {}

    def values(self, plugin_id: str) -> dict[str, OptionValue]:
        return dict(self.data.get(plugin_id, {}))

    def store(self, plugin_id: str, key: str, value: OptionValue) -> None:
        self.data.setdefault(plugin_id, {})[key] = value


class SettingsOptions:
    """Options in ``Settings.plugins``: ``current`` gives the settings in use, ``save`` writes them."""

    def __init__(self, current: Callable[[], Settings], save: Callable[[], None]) -> None:
        self.current = current
        self.save = save

    def values(self, plugin_id: str) -> dict[str, OptionValue]:
        return dict(self.current().plugins.get(plugin_id, {}))

    def store(self, plugin_id: str, key: str, value: OptionValue) -> None:
        settings = self.current()
        # A new dict, so pydantic validates the assignment.
        settings.plugins = {**settings.plugins, plugin_id: {**settings.plugins.get(plugin_id, {}), key: value}}
        self.save()


def declared(settings: Sequence[PluginSetting], key: str) -> PluginSetting:
    """The declaration of ``key``; raises ``OptionError`` naming the declared ones."""
    found = next((setting for setting in settings if setting.key == key), None)
    if found is None:
        known = ", ".join(setting.key for setting in settings) or "none"
        raise OptionError(f"The option {key} is not declared in the plugin's PluginInfo.settings (declared: {known}).")
    return found


def effective(settings: Sequence[PluginSetting], stored: dict[str, OptionValue]) -> dict[str, OptionValue]:
    """Every declared option's value: the stored one when it has the right type, else the default."""
    return {s.key: stored[s.key] if s.key in stored and s.accepts(stored[s.key]) else s.default for s in settings}


def checked_value(setting: PluginSetting, value: object) -> OptionValue:
    """``value`` if it fits ``setting``'s type; raises ``OptionError`` otherwise."""
    if not setting.accepts(value):
        kind = {bool: "true or false", int: "a whole number"}.get(type(setting.default), "text")
        raise OptionError(f"The option {setting.key} takes {kind}, not {value!r}; change it to such a value.")
    assert isinstance(value, bool | int | str)
    return value
