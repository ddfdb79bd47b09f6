"""``quillpad plugins``: the installed plugins, their state and errors; turn them on or off."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli.common import SubParsers
from app.core.paths import app_paths
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.records import PluginRecord
from app.core.plugins.state import PluginStateStore


def add_parser(sub: SubParsers) -> None:
    """Register ``plugins`` on the main parser."""
    plugins = sub.add_parser(
        "plugins",
        help="list plugins with their state and errors; turn them on or off",
        description="Lists every plugin found through the quillpad.plugins entry points.",
    )
    switch = plugins.add_mutually_exclusive_group()
    switch.add_argument("--enable", metavar="NAME", help="turn a plugin on (saved in the settings)")
    switch.add_argument("--disable", metavar="NAME", help="turn a plugin off (saved in the settings)")
    plugins.add_argument("--json", action="store_true", help="print one JSON object")
    plugins.set_defaults(handler=run_plugins)


def _as_dict(record: PluginRecord) -> dict[str, Any]:
    info = record.info
    return {
        "name": record.id,
        "title": record.name,
        "version": record.version,
        "state": record.state,
        "error": record.error,
        "description": info.description if info else record.summary,
        "requires": list(info.requires) if info else [],
        "commands": [f"/{name}" for name in record.commands],
        "actions": list(record.actions),
        "source": record.source,
    }


def _format(records: list[PluginRecord]) -> str:
    if not records:
        return "No plugins are installed."
    blocks = []
    for record in records:
        row = _as_dict(record)
        lines = [f"{row['name']} {row['version']}".rstrip() + f"  [{row['state']}]"]
        if row["title"] != row["name"]:
            lines[0] += f"  {row['title']}"
        if row["description"]:
            lines.append(f"  {row['description']}")
        if row["requires"]:
            lines.append(f"  requires: {', '.join(row['requires'])}")
        if row["commands"]:
            lines.append(f"  commands: {' '.join(row['commands'])}")
        if row["error"]:
            lines.append(f"  error: {row['error']}")
        lines.append(f"  from: {row['source']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def run_plugins(args: argparse.Namespace) -> int:
    """Discover the plugins, apply --enable/--disable, print the list."""
    notifier = ListNotifier()
    manager = PluginManager(PluginHost(notifier=notifier), PluginStateStore.for_app(app_paths()))
    manager.discover()
    if args.enable or args.disable:
        manager.set_enabled(args.enable or args.disable, bool(args.enable))
    records = manager.records()
    if args.json:
        print(json.dumps({"plugins": [_as_dict(record) for record in records]}, indent=2))
    else:
        print(_format(records))
    return 0
