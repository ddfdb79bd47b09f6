"""``quillpad tools list``: the tools agent mode offers, built-in, from plugins and from MCP servers."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli.chat_commands import cli_plugins
from app.core.agent.setup import mcp_hub
from app.core.paths import app_paths
from app.core.settings import load_settings
from app.core.toolcalls.registry import ToolRegistry


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``tools`` on the main parser."""
    tools = sub.add_parser("tools", help="the tools the model can use in agent mode")
    actions = tools.add_subparsers(dest="tools_command", required=True)
    listing = actions.add_parser(
        "list", help="list built-in, plugin and MCP tools (MCP servers are started to ask them, then stopped)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    """Print every tool: name, source, read-only or acting, on or off, description."""
    loaded = load_settings(app_paths())
    settings = loaded.settings
    notes: list[str] = []
    plugins = cli_plugins(None, loaded, file=None, notice=notes.append)  # type: ignore[arg-type]  # no model needed
    with mcp_hub(app_paths(), notes.append) as hub:
        registry = ToolRegistry([plugins, hub], lambda: settings.agent)
        entries = registry.all()
    rows = [
        {
            "name": entry.tool.name,
            "source": entry.source,
            "kind": "acting" if entry.tool.acting else "read-only",
            "enabled": registry.enabled(entry.tool.name),
            "description": entry.tool.description,
        }
        for entry in entries
    ]
    if args.json:
        print(json.dumps({"tools": rows, "notices": notes}, indent=2))
        return 0
    for note in notes:
        print(f"quillpad: {note}", file=sys.stderr)
    if not rows:
        print("No tools: the built-in tools plugin is off and no MCP server is configured.")
    for row in rows:
        state = "" if row["enabled"] else " (off)"
        print(f"{row['name']:<28} {row['kind']:<9} {row['source']}{state}\n    {row['description']}")
    return 0
