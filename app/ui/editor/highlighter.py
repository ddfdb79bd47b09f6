"""Pygments syntax highlighting for a QTextDocument, one block (line) at a time.

Each block is lexed from the state the previous block ended in (see
``lexing``) and its own end state is stored with ``setCurrentBlockState``.
Qt re-highlights an edited block, then the following ones only while their
start state keeps changing, so typing in a 10,000-line file lexes a line or
two. While Qt walks through many blocks in one pass, one ``LexRun`` serves
them all, so a pass costs one lexing of the text it covers.

Two things keep the editor responsive and right:

* When one pass would lex more than ``SYNC_BLOCKS`` blocks (opening a big
  file, typing ``/*`` near the top), the rest is lexed ``CHUNK_BLOCKS`` at a
  time from the event loop.
* Multi-line regexes look ahead: typing ``*/`` can turn lines above it into a
  comment. When typing pauses, the ``RECHECK_LINES`` lines above the edit are
  lexed again and re-highlighted from the first whose state is out of date.
"""

from __future__ import annotations

import itertools

from pygments.lexer import Lexer
from pygments.lexers.special import TextLexer
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QSyntaxHighlighter, QTextBlock, QTextCharFormat, QTextCursor, QTextDocument

from app.ui.editor.lexing import SAFE_MARGIN, BlockLexer, LexRun, TokenList
from app.ui.editor.theme import EditorTheme

WINDOW_CHARS = 4 * SAFE_MARGIN


class PygmentsHighlighter(QSyntaxHighlighter):
    """Colours a document with a Pygments lexer and style; incremental, see the module doc."""

    SYNC_BLOCKS = 400  # blocks lexed in one event-loop turn before the rest is deferred
    CHUNK_BLOCKS = 400  # blocks lexed per deferred step
    MAX_LINE = 20_000  # characters; longer lines (minified code) stay uncoloured
    RECHECK_LINES = 200
    RECHECK_DELAY_MS = 400

    def __init__(self, document: QTextDocument, lexer: Lexer | None = None, dark: bool = False) -> None:
        # Attached to the document only after our own contentsChange slot, so that slot runs
        # before Qt's re-highlighting and the edit generation is current when blocks are lexed.
        holder = QObject()  # a parent until the document adopts us
        super().__init__(holder)
        self._lexer = BlockLexer(lexer or TextLexer())
        self._plain = isinstance(self._lexer.lexer, TextLexer)
        self._theme = EditorTheme.create(dark)
        self.highlighted_blocks = 0  # how many times a block was lexed (for tests and benchmarks)
        self._generation = 0
        self._run: LexRun | None = None
        self._run_generation = -1
        self._run_next = -1
        self._budget = 0
        self._todo_from: int | None = None  # blocks from here on still need lexing
        self._stop_at: int | None = None  # blocks from here on are left alone in this pass
        self._in_step = False
        self._last_lexed = -1
        self._edited_at: int | None = None
        self._block_count = document.blockCount()
        self._turn = self._timer(0, self._new_turn)
        self._chunk = self._timer(0, self._step)
        self._recheck_timer = self._timer(self.RECHECK_DELAY_MS, self.recheck)
        document.contentsChange.connect(self._on_contents_change)
        document.blockCountChanged.connect(self._on_block_count)
        self.setDocument(document)
        self.setParent(document)

    def _timer(self, interval: int, slot: object) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(interval)
        timer.timeout.connect(slot)
        return timer

    # --- public ---------------------------------------------------------------------------------------

    @property
    def lexer(self) -> Lexer:
        return self._lexer.lexer

    @property
    def block_lexer(self) -> BlockLexer:
        return self._lexer

    @property
    def language(self) -> str:
        """The lexer's language name ("Python", "Text only")."""
        return self._lexer.name

    @property
    def theme(self) -> EditorTheme:
        return self._theme

    @property
    def is_complete(self) -> bool:
        """True when no deferred lexing is pending."""
        return self._todo_from is None

    def set_lexer(self, lexer: Lexer) -> None:
        """Highlight with another lexer from now on (re-highlights the document)."""
        self._lexer = BlockLexer(lexer)
        self._plain = isinstance(lexer, TextLexer)
        self._restart()

    def set_dark(self, dark: bool) -> None:
        """Switch between the light and the dark Pygments style."""
        if dark != self._theme.dark:
            self.set_theme(EditorTheme.create(dark))

    def set_theme(self, theme: EditorTheme) -> None:
        """Use another set of colours (re-highlights the document)."""
        self._theme = theme
        self._restart()

    def _restart(self) -> None:
        self._generation += 1
        self._budget = 0
        self._todo_from = self._stop_at = None
        self._chunk.stop()
        self.rehighlight()

    # --- lexing one block -----------------------------------------------------------------------------

    def highlightBlock(self, text: str) -> None:
        if self._plain:
            return  # plain text has nothing to colour: skip the work for big text files
        number = self.currentBlock().blockNumber()
        if self._stop_at is not None and number >= self._stop_at:
            # Deferred: keeping the old state makes Qt stop its pass here.
            return
        if not self._in_step:
            if self._budget >= self.SYNC_BLOCKS:
                self._defer(number)
                return
            if self._budget == 0:
                self._turn.start()
            self._budget += 1
        self.highlighted_blocks += 1
        self._last_lexed = number
        previous = self.previousBlockState()
        if len(text) > self.MAX_LINE:
            self._run = None
            self.setCurrentBlockState(previous if previous >= 0 else self._lexer.initial_state)
            return
        if self._lexer.incremental:
            tokens, state = self._lex_in_run(text, previous)
        else:
            tokens, state = self._lexer.lex_alone(text)
        self._apply(text, tokens)
        self.setCurrentBlockState(state)

    def _lex_in_run(self, text: str, previous: int) -> tuple[TokenList, int]:
        block = self.currentBlock()
        number = block.blockNumber()
        run = self._run
        if (
            run is not None
            and self._run_generation == self._generation
            and self._run_next == number
            and run.expected_state == previous
        ):
            line = run.next_line()
            if line is not None and line[0] == text:
                self._run_next += 1
                return line[1], line[2]
        start, start_state = self._chain_start(block, previous)
        run = self._start_run(start, start_state, block)
        line = None
        for _ in range(number - start.blockNumber() + 1):
            line = run.next_line()
            if line is None:
                break
        if line is None or line[0] != text:  # cannot happen with a consistent document; be safe
            self._run = None
            return self._lexer.lex_alone(text)
        self._run, self._run_generation, self._run_next = run, self._generation, number + 1
        return line[1], line[2]

    def _chain_start(self, block: QTextBlock, previous: int) -> tuple[QTextBlock, int]:
        """Where lexing must start for ``block``: itself, or the line where the token it starts in began."""
        if not self._lexer.is_inside(previous):
            return block, previous
        start = block.previous()
        while start.previous().isValid() and self._lexer.is_inside(start.previous().userState()):
            start = start.previous()
        before = start.previous()
        return start, before.userState() if before.isValid() else -1

    def _start_run(self, start: QTextBlock, start_state: int, target: QTextBlock) -> LexRun:
        document = self.document()
        last = document.characterCount() - 1
        begin = start.position()
        end = min(last, target.position() + target.length() + WINDOW_CHARS)
        cursor = QTextCursor(document)
        cursor.setPosition(begin)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        text = cursor.selectedText().replace("\u2029", "\n")
        complete = end >= last
        return self._lexer.run(text + "\n" if complete else text, start_state, complete)

    def _apply(self, text: str, tokens: TokenList) -> None:
        offsets: list[int] | None = None
        if not text.isascii() and len(text.encode("utf-16-le")) != 2 * len(text):
            # Qt counts UTF-16 code units, Python code points: they differ after an emoji.
            offsets = [0, *itertools.accumulate(2 if ord(c) > 0xFFFF else 1 for c in text)]
        format_for = self._theme.format_for
        run_start = run_end = 0
        run_format: QTextCharFormat | None = None
        for pos, ttype, value in tokens:
            fmt = format_for(ttype)
            end = min(pos + len(value), len(text))
            if fmt is run_format and pos == run_end:
                run_end = end
                continue
            if run_format is not None:
                self._set(run_start, run_end, run_format, offsets)
            run_start, run_end, run_format = pos, end, fmt
        if run_format is not None:
            self._set(run_start, run_end, run_format, offsets)

    def _set(self, start: int, end: int, fmt: QTextCharFormat, offsets: list[int] | None) -> None:
        if offsets is not None:
            start, end = offsets[start], offsets[end]
        if end > start:
            self.setFormat(start, end - start, fmt)

    # --- deferring long passes ------------------------------------------------------------------------

    def _defer(self, number: int) -> None:
        self._todo_from = number if self._todo_from is None else min(self._todo_from, number)
        self._stop_at = self._todo_from
        self._chunk.start()

    def _new_turn(self) -> None:
        self._budget = 0

    def _step(self) -> None:
        """Lex the next chunk of deferred blocks, then schedule the one after."""
        document = self.document()
        if self._todo_from is None or document is None:
            return
        start = self._todo_from
        end = start + self.CHUNK_BLOCKS
        self._stop_at = end
        self._in_step = True
        self._last_lexed = start - 1
        block = document.findBlockByNumber(start)
        try:
            while block.isValid() and block.blockNumber() < end:
                # Qt carries on by itself while states change; do not lex those blocks twice.
                if block.blockNumber() > self._last_lexed:
                    self.rehighlightBlock(block)
                block = block.next()
        finally:
            self._in_step = False
        if block.isValid():
            self._todo_from = self._stop_at = end
            self._chunk.start()
        else:
            self._todo_from = self._stop_at = None

    # --- edits ----------------------------------------------------------------------------------------

    def _on_contents_change(self, position: int, _removed: int, added: int) -> None:
        self._generation += 1
        document = self.document()
        if document is not None and self._lexer.incremental:
            # Look-ahead reaches back from the end of the change; that is where a re-check starts.
            self._edited_at = document.findBlock(min(position + added, document.characterCount() - 1)).blockNumber()
            self._recheck_timer.start()

    def _on_block_count(self, count: int) -> None:
        # Lines removed above the deferred region move it up; step back far enough to cover it.
        delta = abs(count - self._block_count)
        self._block_count = count
        if self._todo_from is not None:
            self._todo_from = max(0, self._todo_from - delta)
            if not self._in_step:
                self._stop_at = self._todo_from

    def recheck(self) -> None:
        """Re-highlight lines above the last edit whose look-ahead it changed (see the module doc)."""
        document = self.document()
        edited, self._edited_at = self._edited_at, None
        if document is None or edited is None or edited < 0 or not self._lexer.incremental:
            return
        if self._todo_from is not None:  # the deferred pass will get there
            self._edited_at = edited
            self._recheck_timer.start()
            return
        target = document.findBlockByNumber(min(edited, document.blockCount() - 1))
        block = document.findBlockByNumber(max(0, target.blockNumber() - self.RECHECK_LINES))
        before = block.previous()
        start, start_state = self._chain_start(block, before.userState() if before.isValid() else -1)
        run = self._start_run(start, start_state, target)
        block = start
        while block.isValid() and block.blockNumber() <= target.blockNumber():
            line = run.next_line()
            if line is None:
                return
            if line[2] != block.userState():
                self.rehighlightBlock(block)  # Qt carries on while the following states change
            block = block.next()
