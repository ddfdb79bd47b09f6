"""The editor's questions to the user, as plain functions over modal dialogs.

The editor never opens a dialog itself: it calls an attribute (``ask_reload``,
``ask_save_changes``…) that defaults to one of these and that tests replace.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Literal

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from app.core.drafts import Draft

SaveChoice = Literal["save", "discard", "cancel"]
RestoreChoice = Literal["restore", "discard", "later"]

_Button = QMessageBox.StandardButton


def _names(titles: Sequence[str], limit: int = 8) -> str:
    shown = [f"<li>{html.escape(t)}</li>" for t in titles[:limit]]
    if len(titles) > limit:
        shown.append(f"<li>… and {len(titles) - limit} more</li>")
    return "<ul>" + "".join(shown) + "</ul>"


def ask_save_changes(parent: QWidget | None, titles: Sequence[str]) -> SaveChoice:
    """Save, discard or cancel, for buffers with unsaved changes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved changes")
    if len(titles) == 1:
        box.setText(f"Save the changes to {html.escape(titles[0])}?")
    else:
        box.setText(f"Save the changes to {len(titles)} files?" + _names(titles))
    box.setInformativeText("Your changes are lost if you don't save them.")
    box.setStandardButtons(_Button.Save | _Button.Discard | _Button.Cancel)
    box.setDefaultButton(_Button.Save)
    answer = box.exec()
    if answer == _Button.Save:
        return "save"
    if answer == _Button.Discard:
        return "discard"
    return "cancel"


def ask_reload(parent: QWidget | None, name: str) -> bool:
    """True to reload a file that changed on disk although its buffer has unsaved changes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("File changed on disk")
    box.setText(f"{html.escape(name)} was changed by another program, and you have unsaved changes.")
    box.setInformativeText("Reload it and lose your changes, or keep your version (saving will overwrite the file)?")
    reload_button = box.addButton("Reload", QMessageBox.ButtonRole.DestructiveRole)
    keep_button = box.addButton("Keep my version", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep_button)
    box.exec()
    return box.clickedButton() is reload_button


def ask_overwrite(parent: QWidget | None, name: str) -> bool:
    """True to save over a file that changed on disk since it was opened."""
    answer = QMessageBox.warning(
        parent,
        "File changed on disk",
        f"{name} was changed by another program since you opened it. Overwrite it with your version?",
        _Button.Save | _Button.Cancel,
        _Button.Cancel,
    )
    return answer == _Button.Save


def ask_restore_drafts(parent: QWidget | None, drafts: Sequence[Draft]) -> RestoreChoice:
    """Restore, discard, or keep for later the drafts an earlier session left behind."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Restore unsaved work")
    newest = time.strftime("%d %b %Y %H:%M", time.localtime(max(d.saved_at for d in drafts)))
    count = "1 file" if len(drafts) == 1 else f"{len(drafts)} files"
    box.setText(
        f"Quillpad did not close normally: unsaved changes to {count} were kept (last at {newest})."
        + _names([d.title for d in drafts])
    )
    box.setInformativeText("Restore them now?")
    restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Ask next time", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(restore)
    box.exec()
    if box.clickedButton() is restore:
        return "restore"
    if box.clickedButton() is discard:
        return "discard"
    return "later"


def ask_save_path(parent: QWidget | None, suggested: str) -> str | None:
    """A file name to save to, or None if the user cancels."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save as", suggested)
    return path or None


def ask_convert_to_utf8(parent: QWidget | None, problem: str) -> bool:
    """True to save as UTF-8 when the file's own encoding cannot store the text."""
    answer = QMessageBox.question(
        parent,
        "Cannot save in this encoding",
        f"{problem}\n\nSave the file as UTF-8 instead?",
        _Button.Yes | _Button.No,
        _Button.No,
    )
    return answer == _Button.Yes


def ask_line(parent: QWidget | None, current: int, maximum: int) -> int | None:
    """A line number between 1 and ``maximum``, or None if the user cancels."""
    line, ok = QInputDialog.getInt(parent, "Go to line", f"Line (1–{maximum}):", current, 1, maximum)
    return line if ok else None
