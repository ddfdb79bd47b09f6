"""Settings ▸ Tools: agent mode's limits, every tool with its switch, and the MCP servers (``mcp.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.agent.mcp_config import parse_mcp_config
from app.core.settings import AgentSettings

MCP_EXAMPLE = '{\n  "mcpServers": {\n    "example": {"command": "python", "args": ["-m", "my_server"]}\n  }\n}\n'


@dataclass(frozen=True)
class ToolRow:
    """A tool as the page lists it."""

    name: str
    source: str  # the plugin, or "mcp:SERVER"
    acting: bool  # as declared (MCP tools: always acting unless marked read-only here)
    description: str

    @property
    def is_mcp(self) -> bool:
        return self.source.startswith("mcp:")


class ToolsPage(QWidget):
    """Edits a copy of the agent settings and the text of ``mcp.json``."""

    def __init__(self, agent: AgentSettings, rows: Sequence[ToolRow], mcp_text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.step_limit = QSpinBox()
        self.step_limit.setRange(1, 200)
        self.step_limit.setValue(agent.step_limit)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1.0, 3600.0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(agent.tool_timeout)
        limits = QGroupBox("Agent mode")
        form = QFormLayout(limits)
        form.addRow("Tool calls per message:", self.step_limit)
        form.addRow("Time limit per tool:", self.timeout)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Tool", "Kind", "From", "Description"])
        self.tree.setRootIsDecorated(False)
        off, read_only = set(agent.tools_off), set(agent.read_only_tools)
        self._rows = list(rows)
        for row in self._rows:
            item = QTreeWidgetItem([row.name, "", row.source, row.description])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Unchecked if row.name in off else Qt.CheckState.Checked)
            item.setToolTip(0, "Offered to the model when checked")
            if row.is_mcp:
                trusted = row.name in read_only
                item.setCheckState(1, Qt.CheckState.Checked if trusted else Qt.CheckState.Unchecked)
                item.setText(1, "read-only" if trusted else "acting")
                item.setToolTip(1, "Check to trust this MCP tool as read-only: it then runs without asking")
            else:
                item.setText(1, "acting" if row.acting else "read-only")
            self.tree.addTopLevelItem(item)
        tools = QGroupBox("Tools (MCP servers' tools appear once the server has been used)")
        QVBoxLayout(tools).addWidget(self.tree)

        self.mcp = QPlainTextEdit(mcp_text or "")
        self.mcp.setPlaceholderText(MCP_EXAMPLE)
        servers = QGroupBox("MCP servers (mcp.json: command/args/env for stdio, url for streamable HTTP)")
        column = QVBoxLayout(servers)
        column.addWidget(self.mcp)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c62828")
        self.problem.hide()
        column.addWidget(self.problem)
        column.addWidget(QLabel("Servers start when the model first uses them and stop when Quillpad closes."))

        layout = QVBoxLayout(self)
        layout.addWidget(limits)
        layout.addWidget(tools, 1)
        layout.addWidget(servers, 1)

    def mcp_problem(self) -> str | None:
        """What is wrong with the servers' text (its first problem), or None."""
        problems = parse_mcp_config(self.mcp.toPlainText()).problems
        return problems[0] if problems else None

    def mcp_text(self) -> str:
        return self.mcp.toPlainText()

    def agent_values(self) -> dict[str, object]:
        """The ``agent`` section as edited."""
        off: list[str] = []
        read_only: list[str] = []
        for index, row in enumerate(self._rows):
            item = self.tree.topLevelItem(index)
            if item is None:
                continue
            if item.checkState(0) != Qt.CheckState.Checked:
                off.append(row.name)
            if row.is_mcp and item.checkState(1) == Qt.CheckState.Checked:
                read_only.append(row.name)
        return {
            "step_limit": self.step_limit.value(),
            "tool_timeout": self.timeout.value(),
            "tools_off": off,
            "read_only_tools": read_only,
        }
