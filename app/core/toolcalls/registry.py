"""Every tool agent mode can offer: the plugins' (``quillpad_tools``) and the MCP servers'.

The registry only gathers and looks up; running a call is ``executor.py``.
A tool the user switched off (Settings ▸ Tools, ``AgentSettings.tools_off``)
is neither described to the model nor run. An MCP tool is acting unless the
user marked it read-only (``AgentSettings.read_only_tools``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from app.core.toolcalls.tools import Tool

if TYPE_CHECKING:
    from app.core.plugins.context import PluginContext
    from app.core.settings import AgentSettings


@dataclass(frozen=True)
class RegisteredTool:
    """A tool and where it comes from."""

    source: str  # the plugin's id, or "mcp:SERVER"
    tool: Tool
    context: PluginContext | None = None  # the plugin's context (None for MCP tools)

    @property
    def is_mcp(self) -> bool:
        return self.source.startswith("mcp:")


class ToolSource(Protocol):
    """Something that offers tools (the plugin manager, the MCP hub)."""

    def registered_tools(self) -> Sequence[RegisteredTool]:
        """The tools on offer now (an MCP server may be started to list them)."""
        ...


class ToolRegistry:
    """The tools of one session, from its sources, with the user's switches applied."""

    def __init__(self, sources: Sequence[ToolSource], settings: Callable[[], AgentSettings]) -> None:
        self.sources = list(sources)
        self.settings = settings

    def all(self) -> list[RegisteredTool]:
        """Every tool, switched on or off (for ``quillpad tools list`` and Settings ▸ Tools);
        a name offered twice keeps the first (built-ins come first)."""
        read_only = set(self.settings().read_only_tools)
        seen: dict[str, RegisteredTool] = {}
        for source in self.sources:
            for entry in source.registered_tools():
                if entry.tool.name in seen:
                    continue
                if entry.is_mcp and entry.tool.name in read_only:
                    entry = replace(entry, tool=replace(entry.tool, acting=False))
                seen[entry.tool.name] = entry
        return list(seen.values())

    def enabled(self, name: str) -> bool:
        """Whether the user has tool ``name`` on."""
        return name not in set(self.settings().tools_off)

    def active(self) -> list[RegisteredTool]:
        """The tools the model is offered."""
        return [entry for entry in self.all() if self.enabled(entry.tool.name)]

    def find(self, name: str) -> RegisteredTool | None:
        """The switched-on tool called ``name``."""
        return next((entry for entry in self.active() if entry.tool.name == name), None)

    def schemas(self) -> tuple[dict[str, object], ...]:
        """The switched-on tools as function schemas, for the request."""
        return tuple(entry.tool.schema() for entry in self.active())
