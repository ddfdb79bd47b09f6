"""The MCP client against real servers built with the SDK's MCPServer: stdio and streamable HTTP on
127.0.0.1, a crash mid-call, a server that will not start, garbage, silence, and mcp.json."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.agent.executor import ToolExecutor
from app.core.agent.mcp import McpError, McpHub
from app.core.agent.mcp_config import McpServerConfig, parse_mcp_config
from app.core.plugins.background import CancelToken
from app.core.settings import AgentSettings
from app.core.toolcalls.parser import ToolCall
from app.core.toolcalls.registry import ToolRegistry

ROOT = str(Path(__file__).resolve().parents[3])
ENV = {"PYTHONPATH": ROOT}


def _server(name: str, kind: str) -> McpServerConfig:
    return McpServerConfig(name, sys.executable, ("-m", "tests.fixtures.mcp_servers", kind), ENV)


@pytest.fixture
def hub() -> Iterator[McpHub]:
    with McpHub([_server("calc", "stdio")], start_timeout=30) as opened:
        yield opened


def test_a_stdio_server_is_listed_called_and_stopped(hub: McpHub) -> None:
    assert not hub.running("calc")  # started on first use only
    names = [tool.qualified for tool in hub.tools("calc")]
    assert names == ["calc__add", "calc__shout", "calc__crash", "calc__hang"]
    assert hub.call("calc", "add", {"a": 2, "b": 40}) == "42"
    registry = ToolRegistry([hub], AgentSettings)
    entry = registry.find("calc__shout")
    assert entry is not None and entry.tool.acting  # MCP tools act unless marked read-only
    assert "Echo the text back" in entry.tool.description
    trusted = ToolRegistry([hub], lambda: AgentSettings(read_only_tools=["calc__shout"]))
    assert not trusted.find("calc__shout").tool.acting  # type: ignore[union-attr]
    hub.stop("calc")
    assert not hub.running("calc")


def test_a_crash_mid_call_is_reported_and_the_server_restarts(hub: McpHub) -> None:
    told: list[str] = []
    hub.on_notice = told.append  # the window's notifier, the CLI's stderr
    with pytest.raises(McpError, match="calc"):
        hub.call("calc", "crash", {})
    assert told == hub.notices[-1:] and "The MCP server calc failed" in told[0]
    assert not hub.running("calc")
    assert hub.call("calc", "shout", {"text": "again"}) == "AGAIN"


def test_a_call_that_never_answers_ends_at_the_tool_limit(hub: McpHub) -> None:
    executor = ToolExecutor(ToolRegistry([hub], AgentSettings), default_timeout=1.0)
    call = ToolCall("c", "calc__hang", {})
    entry = executor.lookup(call)
    assert not isinstance(entry, str)
    outcome = executor.run(call, entry, CancelToken())
    assert not outcome.ok and "took longer than 1 s" in outcome.text
    assert hub.call("calc", "add", {"a": 1, "b": 1}) == "2"  # the server still serves


def test_servers_that_fail_to_start_are_one_sentence_each() -> None:
    servers = [
        McpServerConfig("missing", "/no/such/command"),
        _server("quits", "exit"),
        _server("garbage", "garbage"),
        _server("silent", "silent"),
    ]
    with McpHub(servers, start_timeout=3) as hub:
        messages = {}
        for name in hub.names:
            with pytest.raises(McpError) as caught:
                hub.tools(name)
            messages[name] = str(caught.value)
        assert "command was not found" in messages["missing"]
        for name in ("quits", "garbage", "silent"):  # exit, non-protocol output, silence: none is ready
            assert messages[name].startswith(f"The MCP server {name} ") and "mcp.json" in messages[name]
        assert "within 3 s" in messages["silent"]
        assert ToolRegistry([hub], AgentSettings).all() == []  # listed as nothing, the rest of the app goes on
        assert all("\n" not in m and "Traceback" not in m for m in messages.values())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.mcp_servers", "http", str(port)],
        env={**__import__("os").environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_a_streamable_http_server_is_listed_called_and_stopped(http_server: str) -> None:
    with McpHub([McpServerConfig("web", url=http_server)], start_timeout=30) as hub:
        assert [tool.name for tool in hub.tools("web")][:2] == ["add", "shout"]
        assert hub.call("web", "shout", {"text": "over http"}) == "OVER HTTP"
        hub.stop("web")
        assert not hub.running("web")


def test_mcp_json_in_the_cursor_shape() -> None:
    config = parse_mcp_config(
        '{"mcpServers": {"files": {"command": "npx", "args": ["-y", "srv"], "env": {"A": "1"}},'
        ' "web": {"url": "http://127.0.0.1:9/mcp"}, "bad": {"args": []}}}'
    )
    assert [(s.name, s.transport) for s in config.servers] == [("files", "stdio"), ("web", "http")]
    assert config.servers[0].args == ("-y", "srv") and config.servers[0].env == {"A": "1"}
    assert config.problems == (
        "The MCP server bad in mcp.json needs a command (stdio) or an http(s) url; it was skipped.",
    )


def test_a_syntax_error_names_its_line_and_the_other_servers_still_load() -> None:
    text = (
        '{\n  "mcpServers": {\n    "one": {"command": "a"},\n    "two": {"command": "b",}\n'
        '    "three": {"url": "http://x/mcp"}\n  }\n}\n'
    )
    config = parse_mcp_config(text)
    (problem,) = config.problems
    assert problem.startswith("mcp.json has a syntax error on line 4")
    assert [s.name for s in config.servers] == ["one", "three"]
