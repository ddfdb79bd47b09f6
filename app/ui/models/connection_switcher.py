"""Switching connection profile in one action: a combo in the status bar and
a "Model ▸ Connection" menu, both listing the saved profiles."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QMenu, QWidget

from app.core.settings import ConnectionSettings


class ConnectionSwitcher(QObject):
    """Shows the profiles; ``chosen`` carries the name the user picked."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.combo = QComboBox(parent)
        self.combo.setObjectName("connectionSwitcher")
        self.combo.setToolTip("Where replies come from (edit connections in Settings)")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.activated.connect(lambda index: self.chosen.emit(self.combo.itemText(index)))
        self.menu = QMenu("Connection", parent)
        self._group = QActionGroup(self)
        self._group.setExclusive(True)

    def refresh(self, connections: ConnectionSettings) -> None:
        """List ``connections``' profiles with the active one checked."""
        with QSignalBlocker(self.combo):
            self.combo.clear()
            for profile in connections.profiles:
                self.combo.addItem(profile.name)
                where = profile.base_url if profile.backend == "remote" else "a GGUF model on this computer"
                self.combo.setItemData(self.combo.count() - 1, where, Qt.ItemDataRole.ToolTipRole)
            self.combo.setCurrentText(connections.active)
        for action in self._group.actions():
            self._group.removeAction(action)
            action.deleteLater()
        self.menu.clear()
        for profile in connections.profiles:
            action = QAction(profile.name, self.menu)
            action.setCheckable(True)
            action.setChecked(profile.name == connections.active)
            action.triggered.connect(lambda _checked=False, name=profile.name: self.chosen.emit(name))
            self._group.addAction(action)
            self.menu.addAction(action)
