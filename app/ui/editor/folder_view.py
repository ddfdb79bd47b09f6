"""A file tree of an opened folder; activating a file asks the editor to open it.

Files and folders carry their git status as a coloured letter after the name
(see ``app.core.git.status.MARKS``), with a tooltip that spells it out.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QDir, QEvent, QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QHelpEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileSystemModel,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QTreeView,
    QWidget,
)

from app.core.git.status import MARKS, StatusKind, StatusMap

# Folders nobody wants to browse in a code editor.
HIDDEN_NAMES = (".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules")

STATUS_COLOURS: dict[StatusKind, str] = {
    "conflicted": "#d32f2f",
    "modified": "#b26a00",
    "added": "#2e7d32",
    "deleted": "#c62828",
    "renamed": "#1565c0",
    "untracked": "#6a1b9a",
    "ignored": "#8a8a8a",
}
_DESCRIPTIONS: dict[StatusKind, str] = {
    "conflicted": "conflicted: resolve the merge conflict, then stage it",
    "modified": "modified",
    "added": "added",
    "deleted": "deleted",
    "renamed": "renamed",
    "untracked": "untracked (not in git yet)",
    "ignored": "ignored by .gitignore",
}


def _plain(index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
    """A delegate may be handed a persistent index; the model's methods take a plain one."""
    return index if isinstance(index, QModelIndex) else index.sibling(index.row(), index.column())


class GitStatusDelegate(QStyledItemDelegate):
    """Draws a row's name with its git mark and colour."""

    def __init__(self, view: FolderView) -> None:
        super().__init__(view)
        self.view = view

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        kind = self.view.git_kind(_plain(index))
        if kind is None:
            return
        option.text = f"{option.text}  {MARKS[kind]}"
        palette = option.palette
        palette.setColor(QPalette.ColorRole.Text, QColor(STATUS_COLOURS[kind]))
        option.palette = palette

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        kind = self.view.git_kind(_plain(index))
        if event.type() == QEvent.Type.ToolTip and kind is not None:
            QToolTip.showText(
                event.globalPos(), f"{self.view.fs_model.fileName(_plain(index))}: {_DESCRIPTIONS[kind]}", view
            )
            return True
        return super().helpEvent(event, view, option, index)


class FolderView(QTreeView):
    """The files under one folder, names only; double-click or Enter opens a file."""

    fileActivated = Signal(str)  # path of a file the user opened
    notice = Signal(str)
    diffRequested = Signal(str)  # path of a changed file whose git diff the user asked for

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
        self.git_root: str | None = None
        self.git_status: StatusMap | None = None
        self.setItemDelegate(GitStatusDelegate(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)

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
        self.set_git_status(None, None)
        root_index = self.fs_model.setRootPath(folder)
        self.setRootIndex(root_index)
        return True

    def set_git_status(self, repo_root: str | None, status: StatusMap | None) -> None:
        """Show ``status`` (paths relative to ``repo_root``); None hides every mark."""
        self.git_root = os.path.realpath(repo_root) if repo_root else None
        self.git_status = status
        self.viewport().update()

    def git_kind(self, index: QModelIndex) -> StatusKind | None:
        """The git status of the file or folder at ``index``, if it has one."""
        if self.git_status is None or self.git_root is None or not index.isValid():
            return None
        path = os.path.realpath(self.fs_model.filePath(index))
        rel = os.path.relpath(path, self.git_root)
        if rel == "." or rel.startswith(".."):
            return None
        return self.git_status.kind_for(rel.replace(os.sep, "/"))

    def context_actions(self, index: QModelIndex) -> list[tuple[str, Callable[[], None]]]:
        """What the right-click menu offers for the row at ``index``."""
        kind = self.git_kind(index)
        if kind is None or kind == "ignored" or self.fs_model.isDir(index):
            return []
        path = self.fs_model.filePath(index)
        return [("Show git diff", lambda: self.diffRequested.emit(path))]

    def _context_menu(self, position: QPoint) -> None:
        actions = self.context_actions(self.indexAt(position))
        if not actions:
            return
        menu = QMenu(self)
        for label, slot in actions:
            menu.addAction(label).triggered.connect(lambda _checked=False, s=slot: s())
        menu.exec(self.viewport().mapToGlobal(position))

    def _hide_clutter(self, folder: str) -> None:
        parent = self.fs_model.index(folder)
        for row in range(self.fs_model.rowCount(parent)):
            index = self.fs_model.index(row, 0, parent)
            self.setRowHidden(row, parent, self.fs_model.fileName(index) in HIDDEN_NAMES)

    def _activated(self, index: QModelIndex) -> None:
        if not self.fs_model.isDir(index):
            self.fileActivated.emit(self.fs_model.filePath(index))
