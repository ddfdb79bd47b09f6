"""``mcp.json`` in the config folder: MCP servers in the shape Cursor and LM Studio use.

::

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                  "env": {"DEBUG": "1"}},
        "remote": {"url": "http://127.0.0.1:8000/mcp"}}}

A server with ``command`` runs over stdio; one with ``url`` is reached over
streamable HTTP. A bad entry is left out with a sentence naming it; a syntax
error names its line, and the entries that can still be read are kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_NAME = "mcp.json"
SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class McpServerConfig:
    """One configured server."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    disabled: bool = False

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "http"

    def to_json(self) -> dict[str, Any]:
        if self.command:
            data: dict[str, Any] = {"command": self.command, "args": list(self.args)}
            if self.env:
                data["env"] = dict(self.env)
        else:
            data = {"url": self.url}
        if self.disabled:
            data["disabled"] = True
        return data


@dataclass(frozen=True)
class McpConfig:
    """What the file holds, and what could not be used (one sentence each)."""

    servers: tuple[McpServerConfig, ...] = ()
    problems: tuple[str, ...] = ()


def _server(name: str, data: object) -> McpServerConfig | str:
    if not SERVER_NAME_RE.match(name):
        return f"The MCP server name {name!r} in mcp.json may only have letters, digits, _ and -; it was skipped."
    if not isinstance(data, dict):
        return f"The MCP server {name} in mcp.json is not an object; it was skipped."
    command, url = data.get("command"), data.get("url")
    args, env = data.get("args", []), data.get("env", {})
    disabled = bool(data.get("disabled", False))
    if isinstance(command, str) and command.strip():
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            return f"The args of MCP server {name} in mcp.json must be a list of strings; it was skipped."
        if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            return f"The env of MCP server {name} in mcp.json must map names to strings; it was skipped."
        return McpServerConfig(name, command.strip(), tuple(args), dict(env), disabled=disabled)
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return McpServerConfig(name, url=url, disabled=disabled)
    return f"The MCP server {name} in mcp.json needs a command (stdio) or an http(s) url; it was skipped."


def _salvage(text: str) -> dict[str, object]:
    """The server entries still readable in a file with a syntax error."""
    decoder = json.JSONDecoder()
    found: dict[str, object] = {}
    for match in re.finditer(r'"([^"\\]+)"\s*:\s*\{', text):
        try:
            value, _end = decoder.raw_decode(text, match.end() - 1)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and ("command" in value or "url" in value):
            found.setdefault(match.group(1), value)
    return found


def parse_mcp_config(text: str) -> McpConfig:
    """Read the text of an ``mcp.json``."""
    problems: list[str] = []
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        problems.append(
            f"mcp.json has a syntax error on line {err.lineno} ({err.msg}); fix it there — "
            "the servers that could still be read were loaded."
        )
        entries: object = _salvage(text)
    else:
        if not isinstance(data, dict):
            return McpConfig((), ("mcp.json must hold an object with mcpServers; no MCP server was loaded.",))
        entries = data.get("mcpServers", {})
        if not isinstance(entries, dict):
            return McpConfig((), ("mcpServers in mcp.json must be an object; no MCP server was loaded.",))
    servers: list[McpServerConfig] = []
    assert isinstance(entries, dict)
    for name, value in entries.items():
        server = _server(str(name), value)
        if isinstance(server, str):
            problems.append(server)
        else:
            servers.append(server)
    return McpConfig(tuple(servers), tuple(problems))


def load_mcp_config(path: Path) -> McpConfig:
    """Read ``path`` (an absent file is an empty configuration)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return McpConfig()
    except (OSError, UnicodeDecodeError) as err:
        return McpConfig((), (f"mcp.json could not be read ({err}); no MCP server was loaded.",))
    return parse_mcp_config(text)


def save_mcp_config(path: Path, servers: list[McpServerConfig]) -> None:
    """Write ``servers`` to ``path`` (Settings ▸ Tools), atomically."""
    data = {"mcpServers": {server.name: server.to_json() for server in servers}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
