"""EditorTabs: open, edit and save files in tabs without ever losing text.

Saving is atomic (``save_text_atomic``); a buffer with unsaved changes is
written to the drafts folder every few seconds and its draft removed once it
is saved or closed on purpose, so after a crash ``recover_drafts`` can offer
it back. A file changed by another program reloads by itself when its buffer
is clean and asks first when it is not; a deleted file keeps its buffer.

Every question goes through an ``ask_*`` attribute (a modal dialog by
default) that tests and scripts replace.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterable

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu, QTabWidget, QWidget

from app.core.drafts import Draft, DraftStore
from app.core.text_files import (
    DEFAULT_MAX_BYTES,
    LoadedText,
    TextFileError,
    UnencodableTextError,
    load_text_file,
    save_text_atomic,
)
from app.ui.editor import prompts
from app.ui.editor.code_editor import CodeEditor
from app.ui.editor.lexing import default_extension
from app.ui.editor.page import DiskStamp, EditorPage
from app.ui.editor.prompts import RestoreChoice, SaveChoice

_NEWLINE_NAMES = {"\n": "LF", "\r\n": "CRLF", "\r": "CR"}
_UNTITLED = re.compile(r"Untitled-(\d+)")


def _same_file(a: str, b: str) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class EditorTabs(QTabWidget):
    """The editor pane: one CodeEditor per tab; see the module docstring."""

    notice = Signal(str)  # one-sentence messages for the status bar
    currentFileChanged = Signal(str)  # path, or "" for an untitled buffer / no editor
    dirtyChanged = Signal(bool)  # True while any buffer has unsaved changes
    # Adds entries to every editor's context menu (the window's plugin actions).
    menu_extender: Callable[[QMenu, CodeEditor], None] | None = None
    selectionAction = Signal(str, str, str)  # ("ask" | "explain" | "edit", selected text, file name or "")
    positionChanged = Signal(int, int)  # line and column (from 1) of the cursor in the current editor
    fileSaved = Signal(str)  # the path just written

    DRAFT_INTERVAL_MS = 3000
    DISK_CHECK_DELAY_MS = 200  # lets a program finish writing before we read its file

    def __init__(self, drafts: DraftStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._drafts = drafts
        self.max_bytes = DEFAULT_MAX_BYTES  # bigger files open read-only, see load_text_file
        self._untitled_counter = 0
        self._font_points = CodeEditor.DEFAULT_POINTS
        self._zoom = 0
        self._dark = False
        self._any_dirty = False
        self._asking = False
        self._draft_error_shown = False
        self._changed_paths: set[str] = set()

        # The questions; each may be replaced (tests do).
        self.ask_save_changes: Callable[[list[str]], SaveChoice] = lambda titles: prompts.ask_save_changes(self, titles)
        self.ask_reload: Callable[[str], bool] = lambda name: prompts.ask_reload(self, name)
        self.ask_overwrite: Callable[[str], bool] = lambda name: prompts.ask_overwrite(self, name)
        self.ask_restore_drafts: Callable[[list[Draft]], RestoreChoice] = lambda drafts: prompts.ask_restore_drafts(
            self, drafts
        )
        self.ask_save_path: Callable[[str], str | None] = lambda suggested: prompts.ask_save_path(self, suggested)
        self.ask_convert_to_utf8: Callable[[str], bool] = lambda problem: prompts.ask_convert_to_utf8(self, problem)
        self.ask_line: Callable[[int, int], int | None] = lambda current, maximum: prompts.ask_line(
            self, current, maximum
        )

        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self.tabCloseRequested.connect(self.close_tab)
        self.currentChanged.connect(self._on_current_changed)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_file_changed)
        self._disk_timer = QTimer(self)
        self._disk_timer.setSingleShot(True)
        self._disk_timer.setInterval(self.DISK_CHECK_DELAY_MS)
        self._disk_timer.timeout.connect(self._check_changed_paths)
        self._draft_timer = QTimer(self)
        self._draft_timer.setInterval(self.DRAFT_INTERVAL_MS)
        self._draft_timer.timeout.connect(self.write_drafts)
        self._draft_timer.start()
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._on_application_state)

    # --- pages ----------------------------------------------------------------------------------------

    def pages(self) -> list[EditorPage]:
        """The open tabs, left to right."""
        return [page for i in range(self.count()) if isinstance(page := self.widget(i), EditorPage)]

    def editors(self) -> list[CodeEditor]:
        return [page.editor for page in self.pages()]

    def current_page(self) -> EditorPage | None:
        page = self.currentWidget()
        return page if isinstance(page, EditorPage) else None

    def current_editor(self) -> CodeEditor | None:
        """The editor of the current tab, or None when no file is open."""
        page = self.current_page()
        return page.editor if page is not None else None

    def current_path(self) -> str | None:
        """The current tab's file, or None for an untitled buffer or no tab."""
        page = self.current_page()
        return page.path if page is not None else None

    def _find_page(self, path: str) -> EditorPage | None:
        return next((p for p in self.pages() if p.path is not None and _same_file(p.path, path)), None)

    def _new_page(self, title: str, key: str | None = None) -> EditorPage:
        page = EditorPage(key or uuid.uuid4().hex, title)
        editor = page.editor
        editor.set_font_size(self._font_points)
        editor.set_zoom(self._zoom)
        editor.set_dark(self._dark)
        editor.ask_line = lambda current, maximum: self.ask_line(current, maximum)
        editor.document().modificationChanged.connect(lambda _modified, p=page: self._on_modified(p))
        editor.selectionAction.connect(
            lambda action, text, p=page: self.selectionAction.emit(action, text, p.name if p.path else "")
        )
        editor.zoomChanged.connect(self._on_zoom)
        editor.cursorPositionChanged.connect(lambda p=page: self._emit_position(p))
        editor.focusReceived.connect(lambda p=page: self._check_page(p))
        editor.filesDropped.connect(self._open_dropped)
        editor.menu_extender = self.menu_extender
        return page

    def _add_page(self, page: EditorPage) -> None:
        self.addTab(page, page.name)
        self._refresh_titles()
        self.setCurrentWidget(page)
        page.editor.setFocus()
        self._update_dirty()

    def _fill(self, page: EditorPage, loaded: LoadedText) -> None:
        # Files too big to edit are also too big to colour in reasonable time.
        page.editor.set_language(loaded.path.name, hint="text" if loaded.read_only else None, sample=loaded.text)
        page.editor.setPlainText(loaded.text)
        page.set_file(loaded)
        page.editor.document().setModified(False)
        self._watch(str(loaded.path))

    def _blank_untitled(self) -> EditorPage | None:
        """The current tab if it is an untouched empty untitled buffer (opening a file replaces it)."""
        page = self.current_page()
        if page is not None and page.path is None and not page.is_dirty and page.editor.document().isEmpty():
            return page
        return None

    # --- opening --------------------------------------------------------------------------------------

    def open_file(self, path: str) -> bool:
        """Open ``path`` in a new tab (or show its tab if it is open); False, with a notice, if it cannot be."""
        if not path:
            return False
        absolute = os.path.abspath(os.path.expanduser(path))
        existing = self._find_page(absolute)
        if existing is not None:
            self.setCurrentWidget(existing)
            self._check_page(existing)
            return True
        try:
            loaded = load_text_file(absolute, self.max_bytes)
        except TextFileError as err:
            self.notice.emit(str(err))
            return False
        blank = self._blank_untitled()
        page = self._new_page(loaded.path.name)
        self._fill(page, loaded)
        self._add_page(page)
        if blank is not None:
            self._discard_page(blank)
        if loaded.notice:
            self.notice.emit(loaded.notice)
        return True

    def _open_dropped(self, paths: Iterable[str]) -> None:
        for path in paths:
            self.open_file(path)

    def new_file(self, text: str = "", title: str | None = None, language_hint: str | None = None) -> CodeEditor:
        """A new untitled buffer, holding ``text`` (then it counts as unsaved) and coloured as ``language_hint``."""
        if title is None:
            self._untitled_counter += 1
            title = f"Untitled-{self._untitled_counter}"
        page = self._new_page(title)
        page.editor.set_language(title if "." in title else None, language_hint, sample=text)
        if text:
            page.editor.setPlainText(text)
            page.editor.document().setModified(True)
        self._add_page(page)
        return page.editor

    def reload_current(self, encoding: str | None = None) -> bool:
        """Read the current file again from disk, in ``encoding`` if given; undo brings the old text back."""
        page = self.current_page()
        if page is None or page.path is None:
            return False
        try:
            loaded = load_text_file(page.path, self.max_bytes, encoding=encoding)
        except TextFileError as err:
            self.notice.emit(str(err))
            return False
        self._reload(page, loaded)
        self.notice.emit(loaded.notice or f"Reloaded {page.name} ({loaded.encoding}).")
        return True

    # --- saving ---------------------------------------------------------------------------------------

    def save_current(self) -> bool:
        """Save the current buffer (asking for a name if it has none); False if it was not saved."""
        page = self.current_page()
        return page is not None and self._save(page)

    def save_current_as(self, path: str) -> bool:
        """Save the current buffer to ``path``, which becomes its file."""
        page = self.current_page()
        return page is not None and bool(path) and self._save(page, path)

    def save_as(self) -> bool:
        """Ask for a file name (through ``ask_save_path``) and save the current buffer there."""
        page = self.current_page()
        if page is None:
            return False
        target = self.ask_save_path(page.path or self._suggested_name(page))
        return bool(target) and self._save(page, target)

    def save_all(self) -> bool:
        """Save every buffer with unsaved changes; False if any was not saved."""
        return all([self._save(page) for page in self.pages() if page.is_dirty])

    def _suggested_name(self, page: EditorPage) -> str:
        title = page.untitled_title
        return title if "." in title else title + default_extension(page.editor.highlighter.lexer)

    def _disk_changed(self, page: EditorPage) -> bool:
        if page.path is None or page.stamp is None or page.deleted:
            return False
        try:
            return DiskStamp.of(page.path) != page.stamp
        except OSError:
            return False

    def _save(self, page: EditorPage, target: str | None = None) -> bool:
        if target is None:
            target = page.path or self.ask_save_path(self._suggested_name(page))
            if not target:
                return False
        target = os.path.abspath(os.path.expanduser(target))
        if page.path is None or not _same_file(page.path, target):
            other = self._find_page(target)
            if other is not None and other is not page:
                self.notice.emit(
                    f"{os.path.basename(target)} is open in another tab; close that tab first or choose another name."
                )
                return False
        elif self._disk_changed(page) and not self.ask_overwrite(page.name):
            return False
        encoding = page.encoding
        text = page.editor.text()
        try:
            try:
                mtime_ns = save_text_atomic(target, text, encoding, page.newline)
            except UnencodableTextError as err:
                if not self.ask_convert_to_utf8(str(err)):
                    self.notice.emit(str(err))
                    return False
                encoding = "utf-8"
                mtime_ns = save_text_atomic(target, text, encoding, page.newline)
        except TextFileError as err:
            self.notice.emit(str(err))
            return False
        old_path = page.path
        page.path = target
        page.encoding = encoding
        page.deleted = False
        page.deleted_at_edit = None
        try:
            page.stamp = DiskStamp.of(target)
        except OSError:
            page.stamp = DiskStamp(mtime_ns, -1)
        page.editor.document().setModified(False)
        self._drafts.remove(page.key)
        page.draft_serial = None
        if old_path is None or not _same_file(old_path, target):
            self._unwatch(old_path)
            page.editor.set_language(os.path.basename(target))
        self._watch(target)
        self._refresh_titles()
        if page is self.current_page():
            self.currentFileChanged.emit(target)
        self.notice.emit(f"Saved {page.name}.")
        self.fileSaved.emit(target)
        return True

    # --- closing --------------------------------------------------------------------------------------

    def close_tab(self, index: int) -> bool:
        """Close one tab, asking about unsaved changes first; False if the user cancelled."""
        page = self.widget(index)
        if not isinstance(page, EditorPage):
            return False
        if page.is_dirty:
            self.setCurrentWidget(page)
            choice = self.ask_save_changes([page.name])
            if choice == "cancel" or (choice == "save" and not self._save(page)):
                return False
        self._discard_page(page)
        return True

    def close_current(self) -> bool:
        """Close the current tab (asking about unsaved changes); False if there is none or the user cancelled."""
        return self.count() > 0 and self.close_tab(self.currentIndex())

    def maybe_close_all(self) -> bool:
        """Close every tab, asking once about unsaved work; False (nothing closed) if the user cancels."""
        dirty = [page for page in self.pages() if page.is_dirty]
        if dirty:
            choice = self.ask_save_changes([page.name for page in dirty])
            if choice == "cancel":
                return False
            if choice == "save":
                for page in dirty:
                    self.setCurrentWidget(page)
                    if not self._save(page):
                        return False
        for page in self.pages():
            self._discard_page(page)
        return True

    def _discard_page(self, page: EditorPage) -> None:
        self._drafts.remove(page.key)
        page.draft_serial = None
        index = self.indexOf(page)
        if index >= 0:
            self.removeTab(index)
        self._unwatch(page.path)
        page.deleteLater()
        self._refresh_titles()
        self._update_dirty()
        if self.count() == 0:
            self.currentFileChanged.emit("")

    def has_unsaved(self) -> bool:
        """True when any buffer has changes that are not saved."""
        return any(page.is_dirty for page in self.pages())

    # --- editing helpers for the chat -----------------------------------------------------------------

    def selected_text(self) -> str:
        """The current editor's selection ("" when there is none)."""
        editor = self.current_editor()
        return editor.selected_text() if editor is not None else ""

    def insert_at_cursor(self, text: str) -> None:
        """Insert ``text`` at the cursor of the current editor as one undo step (a new buffer if none is open)."""
        page = self.current_page()
        if page is None:
            self.new_file(text)
            return
        if page.editor.isReadOnly():
            self.notice.emit(f"{page.name} is read-only, so nothing was inserted; paste the text into another file.")
            return
        page.editor.insert_text(text)
        page.editor.setFocus()

    # --- looks ----------------------------------------------------------------------------------------

    def set_font_size(self, points: int) -> None:
        """The editors' base font size in points (zoom stays relative to it)."""
        self._font_points = points
        for editor in self.editors():
            editor.set_font_size(points)

    def set_dark(self, dark: bool) -> None:
        """Dark or light colours for every editor."""
        self._dark = dark
        for editor in self.editors():
            editor.set_dark(dark)

    def _on_zoom(self, steps: int) -> None:
        # Zoom is shared by all tabs, as in most editors.
        self._zoom = steps
        for editor in self.editors():
            editor.set_zoom(steps)

    def _refresh_titles(self) -> None:
        pages = self.pages()
        names = [page.name for page in pages]
        for index, page in enumerate(pages):
            title = page.name
            if names.count(title) > 1 and page.path:
                title += f" — {os.path.basename(os.path.dirname(page.path))}"
            if page.editor.isReadOnly():
                title += " [read-only]"
            if page.is_dirty:
                title += " •"
            self.setTabText(index, title.replace("&", "&&"))
            where = page.path or "Not saved yet"
            if page.deleted:
                where += " (deleted on disk)"
            self.setTabToolTip(index, f"{where}\n{page.encoding}, {_NEWLINE_NAMES.get(page.newline, 'LF')}")

    def _on_modified(self, page: EditorPage) -> None:
        self._refresh_titles()
        self._update_dirty()

    def _update_dirty(self) -> None:
        dirty = self.has_unsaved()
        if dirty != self._any_dirty:
            self._any_dirty = dirty
            self.dirtyChanged.emit(dirty)

    def _emit_position(self, page: EditorPage) -> None:
        if page is self.current_page():
            self.positionChanged.emit(*page.editor.cursor_position())

    def _on_current_changed(self, _index: int) -> None:
        page = self.current_page()
        self.currentFileChanged.emit(page.path or "" if page is not None else "")
        if page is not None:
            self._emit_position(page)
            self._check_page(page)

    # --- files changing on disk -----------------------------------------------------------------------

    def _watch(self, path: str | None) -> None:
        # Checking first keeps Qt from warning about missing or already watched files.
        if path and path not in self._watcher.files() and os.path.isfile(path):
            self._watcher.addPath(path)

    def _unwatch(self, path: str | None) -> None:
        if not path or path not in self._watcher.files():
            return
        if not any(page.path == path for page in self.pages()):
            self._watcher.removePath(path)

    def _on_file_changed(self, path: str) -> None:
        self._changed_paths.add(path)
        self._disk_timer.start()

    def _on_application_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            page = self.current_page()
            if page is not None:
                self._check_page(page)

    def _check_changed_paths(self) -> None:
        paths, self._changed_paths = self._changed_paths, set()
        for page in self.pages():
            if page.path in paths:
                self._check_page(page)

    def check_disk_changes(self) -> None:
        """Compare every open file with its copy on disk now (also done on focus and on change)."""
        for page in self.pages():
            self._check_page(page)

    def _check_page(self, page: EditorPage) -> None:
        if page.path is None or self._asking:
            return
        name = page.name
        try:
            stamp = DiskStamp.of(page.path)
        except FileNotFoundError:
            if not page.deleted:
                page.deleted = True
                page.deleted_at_edit = page.edit_serial
                # Its text now exists only here: make it count as unsaved (title marker, drafts, close prompt).
                page.editor.document().setModified(True)
                self._refresh_titles()
                self.notice.emit(f"{name} was deleted or moved on disk; its text is still here, so save it to keep it.")
            return
        except OSError:
            return
        self._watch(page.path)
        if page.deleted:
            # Back again (a checkout, or another program saving by delete-and-rename).
            untouched = page.deleted_at_edit == page.edit_serial
            page.deleted = False
            page.deleted_at_edit = None
            if untouched:
                page.editor.document().setModified(False)
        if stamp == page.stamp:
            return
        try:
            loaded = load_text_file(page.path, self.max_bytes)
        except TextFileError:
            page.stamp = stamp
            page.editor.document().setModified(True)
            self.notice.emit(f"{name} changed on disk and cannot be shown any more, so the editor keeps your version.")
            return
        if loaded.text == page.editor.text():
            page.set_file(loaded)
            page.editor.document().setModified(False)
            self._refresh_titles()
            return
        if page.is_dirty:
            self._asking = True
            try:
                reload = self.ask_reload(name)
            finally:
                self._asking = False
            if not reload:
                # This version is now known: do not ask again, and let Save overwrite it.
                page.stamp = DiskStamp(loaded.mtime_ns, loaded.size)
                self.notice.emit(f"Kept your version of {name}; saving will replace the file on disk.")
                return
        self._reload(page, loaded)
        self.notice.emit(f"{name} changed on disk and was reloaded.")

    def _reload(self, page: EditorPage, loaded: LoadedText) -> None:
        editor = page.editor
        line, column = editor.cursor_position()
        scroll = editor.verticalScrollBar().value()
        editor.set_text(loaded.text, undoable=True)
        page.set_file(loaded)
        editor.document().setModified(False)
        editor.set_cursor_position(line, column)
        editor.verticalScrollBar().setValue(scroll)
        self._refresh_titles()

    # --- files changed by others (git undo, auto-commit) ------------------------------------------------

    def reload_path(self, path: str) -> bool:
        """Show what is on disk now in ``path``'s tab, as one undo step; a tab of a file now gone is closed."""
        page = self._find_page(path)
        if page is None:
            return False
        if not os.path.exists(path):
            self._discard_page(page)
            return True
        try:
            loaded = load_text_file(path, self.max_bytes)
        except TextFileError as err:
            self.notice.emit(str(err))
            return False
        self._reload(page, loaded)
        return True

    def unsaved_texts(self) -> dict[str, str]:
        """The text of every file tab with unsaved changes, by path."""
        return {page.path: page.editor.text() for page in self.pages() if page.path and page.is_dirty}

    def restore_unsaved(self, path: str, text: str) -> bool:
        """Show the file on disk now in ``path``'s tab (opened if needed), then ``text`` on top, unsaved.

        Both are undo steps, so the tab's history stays and Ctrl+Z walks back through them.
        """
        if self._find_page(path) is None:
            if not self.open_file(path):
                return False
        elif not self.reload_path(path):
            return False
        page = self._find_page(path)
        if page is None:
            return False
        self.setCurrentWidget(page)
        page.editor.set_text(text, undoable=True)
        page.editor.document().setModified(True)
        self._refresh_titles()
        return True

    def save_path(self, path: str) -> bool:
        """Save ``path``'s tab if it has unsaved changes; True when the file on disk is now current."""
        page = self._find_page(path)
        return page is None or not page.is_dirty or self._save(page)

    # --- drafts ---------------------------------------------------------------------------------------

    def write_drafts(self) -> int:
        """Write a draft of every buffer changed since its last draft, drop drafts of clean buffers.

        Runs every ``DRAFT_INTERVAL_MS``; returns how many drafts were written.
        """
        written = 0
        for page in self.pages():
            if page.is_dirty:
                if page.draft_serial != page.edit_serial:
                    self._drafts.save(page.key, page.path, page.name, page.editor.text())
                    if self._drafts.last_error is None:
                        page.draft_serial = page.edit_serial
                        written += 1
            elif page.draft_serial is not None:
                self._drafts.remove(page.key)
                page.draft_serial = None
        error = self._drafts.last_error
        if error is not None and not self._draft_error_shown:
            self.notice.emit(error)
        self._draft_error_shown = error is not None
        return written

    def recover_drafts(self) -> int:
        """Offer (through ``ask_restore_drafts``) the drafts a crash left behind; returns how many were restored."""
        open_keys = {page.key for page in self.pages()}
        useful = []
        for draft in self._drafts.recoverable():
            if draft.key in open_keys:
                continue
            if draft.path and self._matches_disk(draft):
                self._drafts.remove(draft.key)  # saved after all; nothing to restore
                continue
            useful.append(draft)
        if not useful:
            return 0
        choice = self.ask_restore_drafts(useful)
        if choice == "discard":
            for draft in useful:
                self._drafts.remove(draft.key)
            self.notice.emit(f"Discarded unsaved changes to {_plural(len(useful), 'file')} from the last session.")
            return 0
        if choice != "restore":
            return 0
        for draft in useful:
            self._restore(draft)
        self.write_drafts()  # claim them for this session
        self.notice.emit(
            f"Restored unsaved changes to {_plural(len(useful), 'file')} from the last session; save them to keep them."
        )
        return len(useful)

    def _matches_disk(self, draft: Draft) -> bool:
        assert draft.path is not None
        try:
            return load_text_file(draft.path, self.max_bytes).text == draft.text
        except TextFileError:
            return False

    def _restore(self, draft: Draft) -> None:
        loaded: LoadedText | None = None
        if draft.path and self._find_page(draft.path) is None:
            try:
                loaded = load_text_file(draft.path, self.max_bytes)
            except TextFileError:
                loaded = None
            if loaded is not None and loaded.read_only:
                loaded = None
        title = draft.title
        match = _UNTITLED.fullmatch(title)
        if match:
            self._untitled_counter = max(self._untitled_counter, int(match.group(1)))
        page = self._new_page(title, key=draft.key)
        editor = page.editor
        if loaded is not None:
            # The file as it is on disk first, so Undo goes back to it.
            self._fill(page, loaded)
            editor.set_text(draft.text, undoable=True)
        else:
            if draft.path and not os.path.exists(draft.path) and self._find_page(draft.path) is None:
                page.path = os.path.abspath(draft.path)
                page.deleted = True
            elif draft.path:
                # Never aim a recovered text at a file we cannot read: it becomes a new buffer.
                page.untitled_title = f"{os.path.basename(draft.path)} (recovered)"
            editor.set_language(draft.path or title, sample=draft.text)
            editor.setPlainText(draft.text)
        editor.document().setModified(True)
        self._add_page(page)
