"""Agent mode as the app and the CLI set it up: the plugins' tools plus the MCP servers of ``mcp.json``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.agent.executor import ToolExecutor
from app.core.agent.mcp import McpHub
from app.core.agent.mcp_config import CONFIG_NAME, load_mcp_config
from app.core.agent.permissions import Approver
from app.core.agent.run import AgentMode, AgentSettingsView, Reviewer, no_review
from app.core.paths import AppPaths
from app.core.plugins.manager import PluginManager
from app.core.settings import Settings
from app.core.toolcalls.registry import ToolRegistry, ToolSource


def mcp_hub(paths: AppPaths, notice: Callable[[str], None]) -> McpHub:
    """The servers in the config folder's ``mcp.json`` (none started yet); each problem is a notice, and so
    is each server that later fails (``notice`` must then be callable from any thread)."""
    config = load_mcp_config(paths.config_dir / CONFIG_NAME)
    for problem in config.problems:
        notice(problem)
    return McpHub(config.servers, log_dir=paths.log_dir, on_notice=notice)


def agent_mode(
    plugins: PluginManager,
    hub: McpHub | None,
    settings: Callable[[], Settings],
    project: Path | None,
    approver: Approver,
    reviewer: Reviewer = no_review,
) -> AgentMode:
    """The agent mode of a session: built-in and plugin tools first, then MCP ones, with the user's limits."""
    sources: list[ToolSource] = [plugins] if hub is None else [plugins, hub]
    registry = ToolRegistry(sources, lambda: settings().agent)
    agent = settings().agent
    executor = ToolExecutor(registry, project, default_timeout=agent.tool_timeout)
    return AgentMode(executor, approver, reviewer, AgentSettingsView(agent.step_limit, agent.tool_timeout))
