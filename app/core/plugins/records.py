"""What the manager reports about plugins and their contributions: plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.core.errors import QuillpadError
from app.core.plugins.contributions import ContextProvider, EditorAction, PanelSpec, PluginInfo

PluginState = Literal["enabled", "disabled", "failed"]


class PluginError(QuillpadError):
    """A plugin failed or is not usable; the message names it and what to do."""


class UnknownCommandError(QuillpadError):
    """A slash command nobody provides."""


@dataclass
class PluginRecord:
    """A plugin as ``quillpad plugins`` and the settings page show it."""

    id: str  # the entry point's name; what settings store
    source: str  # "quillpad 0.1.0 (entry point plugins.codegen:plugin)" or "registered in code"
    state: PluginState
    info: PluginInfo | None = None
    error: str | None = None
    commands: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    summary: str = ""  # the distribution's summary, for plugins not loaded

    @property
    def name(self) -> str:
        return self.info.name if self.info else self.id

    @property
    def version(self) -> str:
        return self.info.version if self.info else ""


@dataclass(frozen=True)
class RegisteredAction:
    """An editor action and the plugin that provides it."""

    plugin_id: str
    action: EditorAction


@dataclass(frozen=True)
class RegisteredProvider:
    """A context provider and the plugin that provides it."""

    plugin_id: str
    provider: ContextProvider


@dataclass(frozen=True)
class RegisteredPanel:
    """A panel and the plugin that provides it."""

    plugin_id: str
    panel: PanelSpec
