"""What a tool is: the contribution a plugin (or an MCP server) makes to agent mode.

A ``Tool`` has a name the model calls it by, a description, a JSON schema of
its arguments, and a ``run`` function. It is either read-only (runs at once,
shown folded) or acting (waits for the user's Allow). ``run`` gets a
``ToolInvocation``: the checked arguments, the plugin's context, the project
folder and a ``CancelToken`` that Stop and the time limit set, which a tool
doing slow work must watch (subprocess runners take it). It returns a
``ToolResult``: text for the model, and optionally an ``EditProposal`` the user
reviews before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.edits.proposal import EditProposal

if TYPE_CHECKING:
    # Not imported at run time: ``app.core.plugins`` imports this module (for the manager).
    from app.core.plugins.background import CancelToken
    from app.core.plugins.context import PluginContext

TOOL_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$")
EMPTY_SCHEMA: Mapping[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class ToolResult:
    """What a tool gives back: text for the model, and edits for the user to review."""

    text: str
    proposal: EditProposal | None = None


@dataclass(frozen=True)
class ToolInvocation:
    """One call of a tool, as its ``run`` sees it."""

    arguments: Mapping[str, Any]
    token: CancelToken  # set by Stop and by the time limit: long work checks it
    context: PluginContext | None = None  # the contributing plugin's context (None for MCP tools)
    project: Path | None = None  # the open project folder, if any


@dataclass(frozen=True)
class Tool:
    """A tool the model may call in agent mode (``quillpad_tools`` hook)."""

    name: str  # what the model calls, e.g. "read_file"
    description: str  # one or two sentences the model reads
    run: Callable[[ToolInvocation], ToolResult | str]
    parameters: Mapping[str, Any] = field(default_factory=lambda: dict(EMPTY_SCHEMA))  # JSON schema (object)
    acting: bool = False  # True: changes something or runs code; waits for the user's Allow
    timeout: float | None = None  # seconds; None: the app's limit (Settings ▸ Tools)
    label: str = ""  # shown to users; the name when empty

    def schema(self) -> dict[str, object]:
        """The OpenAI-style function schema (what the template's ``tools`` and servers read)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)},
        }
