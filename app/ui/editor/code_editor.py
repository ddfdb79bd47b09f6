"""CodeEditor: a QPlainTextEdit for code.

Line numbers, current-line highlight, Pygments colours, auto-indent, Tab and
Shift+Tab on lines, smart Home and Backspace, zoom, go-to-line, and a context
menu with the chat's selection actions. The find bar and file handling live
elsewhere (``find_replace``, ``tabs``); this class only edits text.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QMimeData, QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFocusEvent,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QPlainTextEdit, QTextEdit, QWidget

from app.ui.editor import prompts
from app.ui.editor.ghost import GhostText
from app.ui.editor.gutter import LineNumberArea
from app.ui.editor.highlighter import PygmentsHighlighter
from app.ui.editor.indentation import (
    closing_bracket,
    dedent_once,
    guess_indent_unit,
    leading_whitespace,
    new_line_indent,
    visual_width,
)
from app.ui.editor.lexing import choose_lexer
from app.ui.editor.theme import EditorTheme

SELECTION_ACTIONS = (("ask", "Ask about selection"), ("explain", "Explain"), ("edit", "Edit with instruction…"))
_Key = Qt.Key
_Mod = Qt.KeyboardModifier
_Move = QTextCursor.MoveOperation
_Keep = QTextCursor.MoveMode.KeepAnchor
_SAMPLE_BLOCKS = 200


def _command(event: QKeyEvent) -> str | None:
    """The editor command a key press stands for, if any."""
    key = event.key()
    mods = event.modifiers() & ~_Mod.KeypadModifier
    ctrl = _Mod.ControlModifier
    if event.matches(QKeySequence.StandardKey.Find):
        return "find"
    if event.matches(QKeySequence.StandardKey.Replace) or (mods == ctrl and key == _Key.Key_H):
        return "replace"
    if mods == ctrl and key == _Key.Key_G:
        return "goto"
    if event.matches(QKeySequence.StandardKey.ZoomIn) or (
        mods in (ctrl, ctrl | _Mod.ShiftModifier) and key in (_Key.Key_Equal, _Key.Key_Plus)
    ):
        return "zoom_in"
    if event.matches(QKeySequence.StandardKey.ZoomOut) or (mods == ctrl and key == _Key.Key_Minus):
        return "zoom_out"
    if mods == ctrl and key == _Key.Key_0:
        return "zoom_reset"
    if key == _Key.Key_F3:
        if mods == _Mod.NoModifier:
            return "find_next"
        if mods == _Mod.ShiftModifier:
            return "find_previous"
    return None


class CodeEditor(QPlainTextEdit):
    """A plain-text code editor; see the module docstring."""

    selectionAction = Signal(str, str)  # ("ask" | "explain" | "edit", selected text)
    findRequested = Signal(bool)  # True: with the replace row
    findNextRequested = Signal(bool)  # True: backwards
    escapePressed = Signal()
    zoomChanged = Signal(int)  # zoom steps (points) relative to the base font size
    focusReceived = Signal()
    filesDropped = Signal(list)  # local file paths dropped on the editor

    MIN_POINTS = 6
    MAX_POINTS = 72
    DEFAULT_POINTS = 11

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ask_line: Callable[[int, int], int | None] = lambda current, maximum: prompts.ask_line(
            self, current, maximum
        )
        self.indent_unit = "    "
        self.tab_width = 4
        self._python = False
        self._colon_opens = False
        self._base_points = self.DEFAULT_POINTS
        self._zoom = 0
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(False)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setFixedPitch(True)
        self.setFont(font)
        self.highlighter = PygmentsHighlighter(self.document())
        self._gutter = LineNumberArea(self)
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._highlight_current_line)
        self.ghost = GhostText(self)  # the inline-completion suggestion, if any
        self._apply_font()
        self._apply_theme()

    # --- text -----------------------------------------------------------------------------------------

    # Adds entries to the context menu (set by the window for plugin actions).
    menu_extender: Callable[[QMenu, CodeEditor], None] | None = None

    def text(self) -> str:
        """The whole text with ``\\n`` line endings, exactly as typed.

        ``toPlainText()`` would turn non-breaking spaces into spaces and
        Unicode line separators into newlines, changing the file on save.
        """
        return self.document().toRawText().replace("\u2029", "\n")

    def set_text(self, text: str, undoable: bool = False) -> None:
        """Replace the whole text; ``undoable`` keeps the undo history (one step) instead of clearing it."""
        if not undoable:
            self.setPlainText(text)
            return
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()

    def selected_text(self) -> str:
        """The selection with ``\\n`` line endings ("" when nothing is selected)."""
        return self.textCursor().selectedText().replace("\u2029", "\n")

    def insert_text(self, text: str) -> None:
        """Insert at the cursor (replacing any selection) as one undo step."""
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.insertText(text.replace("\r\n", "\n").replace("\r", "\n"))
        cursor.endEditBlock()
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def _sample(self) -> str:
        lines: list[str] = []
        block = self.document().firstBlock()
        while block.isValid() and len(lines) < _SAMPLE_BLOCKS:
            lines.append(block.text())
            block = block.next()
        return "\n".join(lines)

    # --- language and looks ---------------------------------------------------------------------------

    def set_language(self, file_name: str | None = None, hint: str | None = None, sample: str | None = None) -> str:
        """Choose the highlighting (and indentation style) from a language name, file name or the text.

        Returns the language's name. Pass ``sample`` (the text about to be
        loaded) to choose before ``setPlainText`` and lex the file only once.
        """
        text = self._sample() if sample is None else sample[:16384]
        lexer = choose_lexer(file_name, text, hint)
        aliases = set(getattr(lexer, "aliases", []))
        self._python = bool(aliases & {"python", "py", "python3", "cython"})
        self._colon_opens = self._python or "yaml" in aliases
        self.indent_unit = "\t" if "make" in aliases else guess_indent_unit(text, "  " if "yaml" in aliases else "    ")
        self.highlighter.set_lexer(lexer)
        return self.highlighter.language

    @property
    def language(self) -> str:
        return self.highlighter.language

    @property
    def theme(self) -> EditorTheme:
        return self.highlighter.theme

    def set_dark(self, dark: bool) -> None:
        """Use the dark (or light) colour scheme."""
        self.highlighter.set_dark(dark)
        self._apply_theme()

    def _apply_theme(self) -> None:
        theme = self.theme
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Base, theme.background)
        palette.setColor(QPalette.ColorRole.Text, theme.foreground)
        self.setPalette(palette)
        self._highlight_current_line()
        self._gutter.update()

    # --- font and zoom --------------------------------------------------------------------------------

    def set_font_size(self, points: int) -> None:
        """Set the base font size in points (the zoom is kept relative to it)."""
        self._base_points = max(self.MIN_POINTS, min(self.MAX_POINTS, int(points)))
        self._apply_font()

    def font_size(self) -> int:
        """The font size in use, zoom included."""
        return self._base_points + self._zoom

    def set_zoom(self, steps: int) -> None:
        """Zoom ``steps`` points above (or below) the base size, without emitting ``zoomChanged``."""
        self._zoom = max(self.MIN_POINTS, min(self.MAX_POINTS, self._base_points + steps)) - self._base_points
        self._apply_font()

    def zoom_in(self) -> None:
        self._zoom_by(1)

    def zoom_out(self) -> None:
        self._zoom_by(-1)

    def reset_zoom(self) -> None:
        self._zoom_by(-self._zoom)

    def _zoom_by(self, steps: int) -> None:
        before = self._zoom
        self.set_zoom(self._zoom + steps)
        if self._zoom != before:
            self.zoomChanged.emit(self._zoom)

    def _apply_font(self) -> None:
        font = QFont(self.font())
        font.setPointSize(self.font_size())
        self.setFont(font)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * self.tab_width)
        self._update_gutter_width()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & _Mod.ControlModifier:
            delta = event.angleDelta().y()
            if delta:
                self._zoom_by(1 if delta > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)

    # --- gutter and current line ----------------------------------------------------------------------

    def _update_gutter_width(self, _count: int = 0) -> None:
        self.setViewportMargins(self._gutter.width_needed(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_gutter_width()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        area = self.contentsRect()
        self._gutter.setGeometry(QRect(area.left(), area.top(), self._gutter.width_needed(), area.height()))

    def _highlight_current_line(self) -> None:
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(self.theme.current_line))
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.format = fmt
        cursor = QTextCursor(self.textCursor())
        cursor.clearSelection()
        selection.cursor = cursor
        self.setExtraSelections([selection])
        self._gutter.update()

    # --- navigation -----------------------------------------------------------------------------------

    def cursor_position(self) -> tuple[int, int]:
        """(line, column) of the cursor, both counted from 1."""
        cursor = self.textCursor()
        return cursor.blockNumber() + 1, cursor.positionInBlock() + 1

    def set_cursor_position(self, line: int, column: int = 1) -> None:
        """Move the cursor to ``line`` and ``column`` (from 1, clamped to the text) without scrolling."""
        document = self.document()
        block = document.findBlockByNumber(max(1, min(int(line), document.blockCount())) - 1)
        cursor = QTextCursor(block)
        cursor.movePosition(_Move.Right, QTextCursor.MoveMode.MoveAnchor, max(0, min(column - 1, block.length() - 1)))
        self.setTextCursor(cursor)

    def go_to_line(self, line: int, column: int = 1) -> None:
        """Put the cursor on ``line`` (clamped to the document), at ``column``, and centre it."""
        self.set_cursor_position(line, column)
        self.centerCursor()
        self.setFocus()

    def prompt_go_to_line(self) -> None:
        """Ask for a line number (through ``ask_line``) and go there."""
        line = self.ask_line(self.textCursor().blockNumber() + 1, self.blockCount())
        if line is not None:
            self.go_to_line(line)

    # --- keys -----------------------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # Claim our shortcuts before window-level actions with the same keys see them.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            ghost_keys = (_Key.Key_Tab, _Key.Key_Escape, _Key.Key_Right)
            if _command(event) or (self.ghost.text and event.key() in ghost_keys):
                event.accept()
                return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.ghost.text:
            painter = QPainter(self.viewport())
            colour = QColor(self.palette().text().color())
            colour.setAlpha(110)
            self.ghost.paint(painter, colour)
            painter.end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.isReadOnly() and self.ghost.handle_key(event):
            event.accept()
            self.ensureCursorVisible()
            return
        command = _command(event)
        if command is not None:
            self._run(command)
            event.accept()
            return
        key = event.key()
        mods = event.modifiers() & ~_Mod.KeypadModifier
        if key == _Key.Key_Escape and mods == _Mod.NoModifier:
            self.escapePressed.emit()
            event.accept()
            return
        if self.isReadOnly():
            super().keyPressEvent(event)
            return
        if key == _Key.Key_Tab and mods == _Mod.NoModifier:
            self._tab()
        elif key == _Key.Key_Backtab:
            self.dedent_selection()
        elif key in (_Key.Key_Return, _Key.Key_Enter) and not mods & ~_Mod.ShiftModifier:
            # Shift+Enter too: Qt would insert a Unicode line separator, which no compiler wants.
            self._new_line()
        elif key == _Key.Key_Backspace and mods == _Mod.NoModifier and self._smart_backspace():
            pass
        elif key == _Key.Key_Home and mods in (_Mod.NoModifier, _Mod.ShiftModifier):
            self._smart_home(mods == _Mod.ShiftModifier)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
        self.ensureCursorVisible()

    def _run(self, command: str) -> None:
        if command == "find":
            self.findRequested.emit(False)
        elif command == "replace":
            self.findRequested.emit(not self.isReadOnly())
        elif command == "goto":
            self.prompt_go_to_line()
        elif command == "zoom_in":
            self.zoom_in()
        elif command == "zoom_out":
            self.zoom_out()
        elif command == "zoom_reset":
            self.reset_zoom()
        elif command in ("find_next", "find_previous"):
            self.findNextRequested.emit(command == "find_previous")

    def _text_before_cursor(self, cursor: QTextCursor) -> str:
        probe = QTextCursor(cursor)
        probe.clearSelection()
        probe.movePosition(_Move.StartOfBlock, _Keep)
        return probe.selectedText()

    def _text_after_cursor(self, cursor: QTextCursor) -> str:
        probe = QTextCursor(cursor)
        probe.clearSelection()
        probe.movePosition(_Move.EndOfBlock, _Keep)
        return probe.selectedText()

    def _new_line(self) -> None:
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.removeSelectedText()
        before = self._text_before_cursor(cursor)
        after = self._text_after_cursor(cursor)
        indent = new_line_indent(before, self.indent_unit, self._python, self._colon_opens)
        if before and not before.strip():
            # An indented but empty line: leave it really empty, not full of spaces.
            cursor.movePosition(_Move.StartOfBlock, _Keep)
            cursor.removeSelectedText()
        cursor.insertText("\n" + indent)
        stripped = before.rstrip()
        closer = closing_bracket(stripped[-1]) if stripped else None
        if closer and after.lstrip().startswith(closer):
            # Between a pair of brackets: the closing one goes to its own line, at the outer indentation.
            position = cursor.position()
            cursor.insertText("\n" + leading_whitespace(before))
            cursor.setPosition(position)
        cursor.endEditBlock()
        self.setTextCursor(cursor)

    def _tab(self) -> None:
        cursor = self.textCursor()
        if cursor.hasSelection():
            self.indent_selection()
            return
        if self.indent_unit == "\t":
            cursor.insertText("\t")
        else:
            width = len(self.indent_unit) or 4
            column = visual_width(self._text_before_cursor(cursor), self.tab_width)
            cursor.insertText(" " * (width - column % width))
        self.setTextCursor(cursor)

    def _selected_blocks(self) -> tuple[int, int]:
        cursor = self.textCursor()
        document = self.document()
        first = document.findBlock(cursor.selectionStart()).blockNumber()
        end_block = document.findBlock(cursor.selectionEnd())
        last = end_block.blockNumber()
        # A selection ending at the very start of a line does not include that line.
        if last > first and cursor.selectionEnd() == end_block.position():
            last -= 1
        return first, last

    def indent_selection(self) -> None:
        """Indent every line touched by the selection (or the cursor's line) by one unit."""
        first, last = self._selected_blocks()
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        for number in range(first, last + 1):
            block = self.document().findBlockByNumber(number)
            if block.text().strip() or first == last:
                cursor.setPosition(block.position())
                cursor.insertText(self.indent_unit)
        cursor.endEditBlock()

    def dedent_selection(self) -> None:
        """Remove one level of indentation from every line touched by the selection."""
        first, last = self._selected_blocks()
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        for number in range(first, last + 1):
            block = self.document().findBlockByNumber(number)
            indent = leading_whitespace(block.text())
            remove = len(indent) - len(dedent_once(indent, self.indent_unit))
            if remove:
                cursor.setPosition(block.position())
                cursor.setPosition(block.position() + remove, _Keep)
                cursor.removeSelectedText()
        cursor.endEditBlock()

    def _smart_backspace(self) -> bool:
        """In leading spaces, delete back to the previous indentation stop; False if not applicable."""
        cursor = self.textCursor()
        if cursor.hasSelection() or self.indent_unit == "\t":
            return False
        before = self._text_before_cursor(cursor)
        if not before or before.strip(" "):
            return False
        width = len(self.indent_unit) or 4
        remove = len(before) % width or width
        cursor.movePosition(_Move.Left, _Keep, remove)
        cursor.removeSelectedText()
        self.setTextCursor(cursor)
        return True

    def _smart_home(self, select: bool) -> None:
        """Home goes to the first non-blank character of the line, then to its very start."""
        cursor = self.textCursor()
        indent = len(leading_whitespace(cursor.block().text()))
        target = 0 if cursor.positionInBlock() == indent else indent
        mode = _Keep if select else QTextCursor.MoveMode.MoveAnchor
        cursor.setPosition(cursor.block().position() + target, mode)
        self.setTextCursor(cursor)

    # --- menu, focus, drops ---------------------------------------------------------------------------

    def build_context_menu(self, position: QPoint) -> QMenu:
        """The standard edit menu plus the chat's selection actions (enabled only with a selection)."""
        menu = self.createStandardContextMenu(position)
        menu.addSeparator()
        has_selection = self.textCursor().hasSelection()
        for action_id, label in SELECTION_ACTIONS:
            action = menu.addAction(label)
            action.setData(action_id)
            action.setEnabled(has_selection)
            action.triggered.connect(lambda _checked=False, a=action_id: self.emit_selection_action(a))
        if self.menu_extender is not None:
            self.menu_extender(menu, self)  # plugins' editor actions
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.build_context_menu(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()

    def emit_selection_action(self, action: str) -> None:
        """Send the selection to the chat with ``action`` ("ask", "explain" or "edit")."""
        text = self.selected_text()
        if text:
            self.selectionAction.emit(action, text)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.focusReceived.emit()

    def _dropped_files(self, source: QMimeData) -> list[str]:
        if not source.hasUrls():
            return []
        urls = source.urls()
        return [url.toLocalFile() for url in urls] if all(url.isLocalFile() for url in urls) else []

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(self._dropped_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = self._dropped_files(source)
        if files:
            # Dropped files open in tabs instead of pasting their paths into the text.
            self.filesDropped.emit(files)
            return
        super().insertFromMimeData(source)
