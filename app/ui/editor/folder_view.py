"""A file tree of an opened folder; activating a file asks the editor to open it."""

from __future__ import annotations

import os

from PySide6.QtCore import QDir, QModelIndex, Signal
from PySide6.QtWidgets import QFileSystemModel, QTreeView, QWidget

# Folders nobody wants to browse in a code editor.
HIDDEN_NAMES = (".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules")


class FolderView(QTreeView):
    """The files under one folder, names only; double-click or Enter opens a file."""

    fileActivated = Signal(str)  # path of a file the user opened
    notice = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fs_model = QFileSystemModel(self)
        self.fs_model.setFilter(QDir.Filter.AllEntries | QDir.Filter.NoDotAndDotDot | QDir.Filter.AllDirs)
        self.setModel(self.fs_model)
        for column in range(1, self.fs_model.columnCount()):
            self.hideColumn(column)
        self.setHeaderHidden(True)
        self.setUniformRowHeights(True)
        self.activated.connect(self._activated)
        self.fs_model.directoryLoaded.connect(self._hide_clutter)
        self.root: str | None = None

    def set_root(self, folder: str) -> bool:
        """Show ``folder``; False, with a notice, if it is not a folder that can be read."""
        folder = os.path.abspath(os.path.expanduser(folder))
        if not os.path.isdir(folder):
            self.notice.emit(f"{folder} is not a folder; choose a folder to open.")
            return False
        if not os.access(folder, os.R_OK | os.X_OK):
            self.notice.emit(f"You do not have permission to read {folder}; choose another folder.")
            return False
        self.root = folder
        root_index = self.fs_model.setRootPath(folder)
        self.setRootIndex(root_index)
        return True

    def _hide_clutter(self, folder: str) -> None:
        parent = self.fs_model.index(folder)
        for row in range(self.fs_model.rowCount(parent)):
            index = self.fs_model.index(row, 0, parent)
            self.setRowHidden(row, parent, self.fs_model.fileName(index) in HIDDEN_NAMES)

    def _activated(self, index: QModelIndex) -> None:
        if not self.fs_model.isDir(index):
            self.fileActivated.emit(self.fs_model.filePath(index))
