"""The hooks a plugin can implement (pluggy project name ``quillpad``).

Each hook may take ``context`` (the plugin's ``PluginContext``) or nothing,
and returns a list of contributions. The manager calls them once, when the
plugin is turned on. ``quillpad_panels`` is the only hook about Qt, and it
returns factories, so plugins without panels, and every plugin headless,
never touch Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

from app.core.plugins.context import PluginContext
from app.core.plugins.contributions import (
    ContextProvider,
    EditorAction,
    PanelSpec,
    SlashCommand,
    SystemPrompt,
)

PROJECT = "quillpad"
ENTRY_POINT_GROUP = "quillpad.plugins"

if TYPE_CHECKING:
    from app.core.toolcalls.tools import Tool

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class QuillpadHookSpecs:
    """Hook specifications; implementations use ``@hookimpl`` with the same names."""

    @hookspec
    def quillpad_slash_commands(self, context: PluginContext) -> Sequence[SlashCommand]:  # type: ignore[empty-body]  # a spec has no body
        """Chat commands such as ``/gen``."""

    @hookspec
    def quillpad_editor_actions(self, context: PluginContext) -> Sequence[EditorAction]:  # type: ignore[empty-body]  # a spec has no body
        """Actions for the editor's context menu."""

    @hookspec
    def quillpad_system_prompts(self, context: PluginContext) -> Sequence[SystemPrompt]:  # type: ignore[empty-body]  # a spec has no body
        """Text added to the system prompt of a mode."""

    @hookspec
    def quillpad_context_providers(self, context: PluginContext) -> Sequence[ContextProvider]:  # type: ignore[empty-body]  # a spec has no body
        """Sources of context for messages."""

    @hookspec
    def quillpad_tools(self, context: PluginContext) -> Sequence[Tool]:  # type: ignore[empty-body]  # a spec has no body
        """Tools the model may call in agent mode (``app.api.Tool``)."""

    @hookspec
    def quillpad_panels(self, context: PluginContext) -> Sequence[PanelSpec]:  # type: ignore[empty-body]  # a spec has no body
        """Qt panels (the GUI only; factories import Qt themselves)."""


HOOK_NAMES = (
    "quillpad_slash_commands",
    "quillpad_editor_actions",
    "quillpad_system_prompts",
    "quillpad_context_providers",
    "quillpad_tools",
    "quillpad_panels",
)
