"""Settings ▸ Tools: limits, per-tool switches, MCP tools trusted as read-only, and mcp.json checked."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.settings import Settings
from app.ui.shell.settings_dialog import SettingsDialog
from app.ui.shell.tools_page import ToolRow

ROWS = [
    ToolRow("read_file", "agenttools", False, "Read a file."),
    ToolRow("run_tests", "agenttools", True, "Run the tests."),
    ToolRow("calc__add", "mcp:calc", True, "Add two integers."),
]


def test_switches_and_limits_become_agent_settings(qtbot: QtBot) -> None:
    settings = Settings()
    settings.agent.tools_off = ["run_tests"]
    dialog = SettingsDialog(settings, tool_rows=ROWS, mcp_text='{"mcpServers": {}}')
    qtbot.addWidget(dialog)
    page = dialog.tools_page
    assert [page.tree.topLevelItem(i).text(1) for i in range(3)] == ["read-only", "acting", "acting"]  # type: ignore[union-attr]
    assert page.tree.topLevelItem(1).checkState(0) == Qt.CheckState.Unchecked  # type: ignore[union-attr]
    page.tree.topLevelItem(0).setCheckState(0, Qt.CheckState.Unchecked)  # type: ignore[union-attr]
    page.tree.topLevelItem(1).setCheckState(0, Qt.CheckState.Checked)  # type: ignore[union-attr]
    page.tree.topLevelItem(2).setCheckState(1, Qt.CheckState.Checked)  # type: ignore[union-attr]
    page.step_limit.setValue(5)
    page.timeout.setValue(12.0)
    agent = dialog.result_settings().agent
    assert agent.tools_off == ["read_file"] and agent.read_only_tools == ["calc__add"]
    assert (agent.step_limit, agent.tool_timeout) == (5, 12.0)


def test_a_broken_mcp_json_is_refused_with_its_line(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings(), tool_rows=ROWS, mcp_text="")
    qtbot.addWidget(dialog)
    dialog.tools_page.mcp.setPlainText('{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}')
    dialog.accept()
    assert dialog.result() == 0  # still open
    assert dialog.tools_page.problem.text().startswith("mcp.json has a syntax error on line 3")
