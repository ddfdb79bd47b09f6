"""The find/replace bar shown under an editor (Ctrl+F, Ctrl+H, Esc).

Searches go through QRegularExpression in every mode (a plain search is an
escaped pattern), so "whole word", case folding and the match count agree
with what Find Next selects. Matches never span lines, as in the document.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QRegularExpression, QRegularExpressionMatch, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QLineEdit, QPushButton, QToolButton, QWidget

from app.ui.editor.code_editor import CodeEditor

_Rx = QRegularExpression
MAX_COUNTED = 10_000
_ESCAPES = {"n": "\n", "t": "\t"}
MAX_COUNT_CHARS = 8_000_000


@dataclass(frozen=True)
class SearchOptions:
    """How the find field is matched."""

    case_sensitive: bool = False
    whole_word: bool = False
    regex: bool = False


def build_regex(needle: str, options: SearchOptions) -> QRegularExpression:
    """The expression for ``needle``; ValueError (with Qt's explanation) if it is not a valid pattern."""
    pattern = needle if options.regex else _Rx.escape(needle)
    if options.whole_word:
        pattern = rf"\b(?:{pattern})\b"
    flags = _Rx.PatternOption.UseUnicodePropertiesOption | _Rx.PatternOption.MultilineOption
    if not options.case_sensitive:
        flags |= _Rx.PatternOption.CaseInsensitiveOption
    regex = _Rx(pattern, flags)
    if not regex.isValid():
        raise ValueError(regex.errorString())
    return regex


def expand_replacement(template: str, match: QRegularExpressionMatch) -> str:
    """``template`` with ``\\1``/``$1`` (groups), ``\\0``/``$0``, ``\\n``, ``\\t`` and ``\\\\`` filled in."""
    captured = match.captured
    out: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        following = template[index + 1] if index + 1 < len(template) else ""
        if char == "\\" and following:
            out.append(captured(int(following)) if following.isdigit() else _ESCAPES.get(following, following))
            index += 2
        elif char == "$" and following.isdigit():
            out.append(captured(int(following)))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def match_at(
    document: QTextDocument, regex: QRegularExpression, start: int, end: int
) -> QRegularExpressionMatch | None:
    """The regex match covering exactly document positions [start, end), or None.

    It is matched against the whole line, so look-behinds and word
    boundaries see the same context as the search did.
    """
    block = document.findBlock(start)
    if not block.isValid() or document.findBlock(end).blockNumber() != block.blockNumber():
        return None
    offset = start - block.position()
    # The leftmost match from the offset is the one the search found, if it starts there.
    match = regex.match(block.text(), offset)
    if match.hasMatch() and match.capturedStart() == offset and match.capturedEnd() == end - block.position():
        return match
    return None


def find_flags(regex: QRegularExpression, backward: bool = False) -> QTextDocument.FindFlag:
    """Flags for ``QTextDocument.find``, which overrides the expression's own case option with them."""
    flags = QTextDocument.FindFlag(0)
    if not regex.patternOptions() & _Rx.PatternOption.CaseInsensitiveOption:
        flags |= QTextDocument.FindFlag.FindCaseSensitively
    if backward:
        flags |= QTextDocument.FindFlag.FindBackward
    return flags


def find(
    document: QTextDocument, regex: QRegularExpression, start: QTextCursor, backward: bool, wrap: bool = True
) -> tuple[QTextCursor | None, bool]:
    """The next (or previous) non-empty match from ``start``, and whether the search wrapped around."""
    flags = find_flags(regex, backward)
    found = document.find(regex, start, flags)
    wrapped = False
    if (found.isNull() or not found.hasSelection()) and wrap:
        origin = QTextCursor(document)
        if backward:
            origin.movePosition(QTextCursor.MoveOperation.End)
        found = document.find(regex, origin, flags)
        wrapped = True
    if found.isNull() or not found.hasSelection():
        return None, wrapped
    return found, wrapped


class FindReplaceBar(QWidget):
    """Find next/previous, replace, replace all; case-sensitive, whole-word and regex options."""

    closed = Signal()

    def __init__(self, editor: CodeEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.find_edit = QLineEdit(self)
        self.find_edit.setPlaceholderText("Find")
        self.find_edit.setClearButtonEnabled(True)
        self.replace_edit = QLineEdit(self)
        self.replace_edit.setPlaceholderText("Replace with")
        self.case_box = QCheckBox("Match case", self)
        self.word_box = QCheckBox("Whole word", self)
        self.regex_box = QCheckBox("Regex", self)
        self.status = QLabel(self)
        self.status.setMinimumWidth(120)
        previous_button = QPushButton("Previous", self)
        next_button = QPushButton("Next", self)
        self.replace_button = QPushButton("Replace", self)
        self.replace_all_button = QPushButton("Replace all", self)
        close_button = QToolButton(self)
        close_button.setText("✕")
        close_button.setToolTip("Close (Esc)")
        close_button.setAutoRaise(True)

        layout = QGridLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setVerticalSpacing(3)
        layout.addWidget(self.find_edit, 0, 0)
        layout.addWidget(previous_button, 0, 1)
        layout.addWidget(next_button, 0, 2)
        layout.addWidget(self.case_box, 0, 3)
        layout.addWidget(self.word_box, 0, 4)
        layout.addWidget(self.regex_box, 0, 5)
        layout.addWidget(self.status, 0, 6)
        layout.addWidget(close_button, 0, 7)
        layout.addWidget(self.replace_edit, 1, 0)
        layout.addWidget(self.replace_button, 1, 1)
        layout.addWidget(self.replace_all_button, 1, 2)
        layout.setColumnStretch(0, 1)
        self._replace_row = (self.replace_edit, self.replace_button, self.replace_all_button)

        self.find_edit.textChanged.connect(lambda _text: self._search(backward=False, incremental=True))
        self.find_edit.returnPressed.connect(self.find_next)
        self.replace_edit.returnPressed.connect(self.replace)
        previous_button.clicked.connect(self.find_previous)
        next_button.clicked.connect(self.find_next)
        self.replace_button.clicked.connect(self.replace)
        self.replace_all_button.clicked.connect(self.replace_all)
        close_button.clicked.connect(self.close_bar)
        for box in (self.case_box, self.word_box, self.regex_box):
            box.toggled.connect(lambda _on: self._search(backward=False, incremental=True))
        self.find_edit.installEventFilter(self)
        self.replace_edit.installEventFilter(self)
        self.hide()

    def options(self) -> SearchOptions:
        return SearchOptions(self.case_box.isChecked(), self.word_box.isChecked(), self.regex_box.isChecked())

    def open(self, replace: bool = False) -> None:
        """Show the bar (with the replace row if ``replace``), the selection as the search text."""
        selected = self.editor.selected_text()
        for widget in self._replace_row:
            widget.setVisible(replace and not self.editor.isReadOnly())
        self.show()
        if selected and "\n" not in selected:
            self.find_edit.blockSignals(True)
            self.find_edit.setText(_Rx.escape(selected) if self.regex_box.isChecked() else selected)
            self.find_edit.blockSignals(False)
        self.find_edit.setFocus()
        self.find_edit.selectAll()
        self._update_status(self.editor.textCursor() if self.editor.textCursor().hasSelection() else None)

    def close_bar(self) -> None:
        """Hide the bar and give the keyboard back to the editor."""
        self.hide()
        self.editor.setFocus()
        self.closed.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape:
                self.close_bar()
                return True
            shift_enter = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            if watched is self.find_edit and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and shift_enter:
                self.find_previous()
                return True
        return super().eventFilter(watched, event)

    # --- searching ------------------------------------------------------------------------------------

    def _regex(self) -> QRegularExpression | None:
        needle = self.find_edit.text()
        if not needle:
            self.status.setText("")
            return None
        try:
            return build_regex(needle, self.options())
        except ValueError as err:
            self.status.setText(f"Invalid pattern: {err}")
            return None

    def find_next(self) -> bool:
        """Select the next match after the cursor (wrapping at the end); False if there is none."""
        return self._search(backward=False)

    def find_previous(self) -> bool:
        """Select the previous match before the cursor (wrapping at the start); False if there is none."""
        return self._search(backward=True)

    def _search(self, backward: bool, incremental: bool = False) -> bool:
        regex = self._regex()
        if regex is None:
            return False
        cursor = QTextCursor(self.editor.textCursor())
        if incremental:
            # While typing, stay on the current match if it still matches (it grows with the text).
            cursor.setPosition(cursor.selectionStart())
        found, wrapped = find(self.editor.document(), regex, cursor, backward)
        if found is None:
            self.status.setText("No matches")
            return False
        self.editor.setTextCursor(found)
        self.editor.ensureCursorVisible()
        self._update_status(found, wrapped)
        return True

    def _update_status(self, current: QTextCursor | None, wrapped: bool = False) -> None:
        regex = self._regex()
        if regex is None:
            return
        document = self.editor.document()
        if document.characterCount() > MAX_COUNT_CHARS:
            self.status.setText("Wrapped around" if wrapped else "")
            return
        text = document.toRawText().replace("\u2029", "\n")
        iterator = regex.globalMatch(text)
        total = index = 0
        start = current.selectionStart() if current is not None else -1
        while iterator.hasNext() and total < MAX_COUNTED:
            match = iterator.next()
            if match.capturedLength() == 0:
                continue
            total += 1
            if match.capturedStart() == start:
                index = total
        if total == 0:
            self.status.setText("No matches")
            return
        count = f"{total}+" if total >= MAX_COUNTED else str(total)
        where = f"{index} of {count}" if index else f"{count} matches"
        self.status.setText(where + (", wrapped" if wrapped else ""))

    # --- replacing ------------------------------------------------------------------------------------

    def _replacement(self, match: QRegularExpressionMatch) -> str:
        template = self.replace_edit.text()
        return expand_replacement(template, match) if self.regex_box.isChecked() else template

    def replace(self) -> bool:
        """Replace the selected match (if the selection is one) and select the next; False if none is left."""
        if self.editor.isReadOnly():
            return False
        regex = self._regex()
        if regex is None:
            return False
        cursor = self.editor.textCursor()
        if cursor.hasSelection():
            match = match_at(self.editor.document(), regex, cursor.selectionStart(), cursor.selectionEnd())
            if match is not None:
                cursor.beginEditBlock()
                cursor.insertText(self._replacement(match))
                cursor.endEditBlock()
                self.editor.setTextCursor(cursor)
        return self.find_next()

    def replace_all(self) -> int:
        """Replace every match in the document as one undo step; returns how many were replaced."""
        if self.editor.isReadOnly():
            return 0
        regex = self._regex()
        if regex is None:
            return 0
        document = self.editor.document()
        edit = QTextCursor(document)
        count = 0
        position = 0
        edit.beginEditBlock()
        try:
            while True:
                found = document.find(regex, position, find_flags(regex))
                if found.isNull():
                    break
                if not found.hasSelection():  # an empty match: never replace, just move on
                    position = found.position() + 1
                    if position >= document.characterCount():
                        break
                    continue
                match = match_at(document, regex, found.selectionStart(), found.selectionEnd())
                found.insertText(self._replacement(match) if match is not None else self.replace_edit.text())
                position = found.position()
                count += 1
        finally:
            edit.endEditBlock()
        self.status.setText("No matches" if count == 0 else f"Replaced {count}")
        return count
