"""Rendering a reply while it streams in, without re-rendering what is already shown."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markdown_it.token import Token

from app.core.chat_render.latex import display_math_search
from app.core.chat_render.markdown import CodeBlock, new_env, parser, render_tokens


@dataclass(frozen=True)
class StreamUpdate:
    """What changed after a piece of a reply arrived.

    ``new_blocks_html`` is appended to the page and never touched again;
    ``tail_html`` replaces the previous tail (the block still being written),
    or is None when the tail shown stays as it is (rendering it again was
    put off, see ``StreamingMarkdown``);
    ``new_code_blocks`` belong to the new blocks (the tail's code has no actions yet).
    A long tail is previewed in pieces: ``held_html`` pieces are appended
    between the finished blocks and the tail and not rendered again;
    ``held_cleared`` says to remove the pieces shown before (their block is
    finished, or the reply is), which happens before anything else is added.
    """

    new_blocks_html: list[str]
    tail_html: str | None
    new_code_blocks: list[CodeBlock]
    held_html: list[str] = field(default_factory=list)
    held_cleared: bool = False

    @property
    def changed(self) -> bool:
        """Whether the page needs this update at all."""
        return bool(self.new_blocks_html) or self.tail_html is not None or bool(self.held_html) or self.held_cleared


# Share of the time a stream may spend parsing and rendering: a tail that takes
# 20 ms to render is rendered at most every 200 ms. Below ~3 ms (a paragraph,
# a short list or code block) every piece is rendered as it comes.
RENDER_DUTY = 0.1


# A tail with this many lines is previewed in two parts: a piece that is rendered once and held on the page, and
# the rest, rendered at each update. Without it a long paragraph or code block was parsed and rendered whole at
# every update: ~11 ms for a 400-line paragraph, on the GUI thread, 10 times a second, next to the model's threads.
HOLD_AFTER_LINES = 24
# The kinds of block whose preview can be cut at a line: a paragraph (before a line that starts with a letter,
# which can neither start a block nor change the paragraph above it) and a code fence (anywhere, its opening
# line put before the rest).
_HOLDABLE = frozenset({"paragraph_open", "fence"})

# Blocks that no further line can join: headings and rules are one line, math blocks exist only once closed.
_COMPLETE_WITH_ITS_LINES = frozenset({"heading_open", "hr", "math_block", "amsmath"})
# Blocks that nothing after a blank line can join (unlike lists, quotes and indented code).
_ENDED_BY_BLANK_LINE = frozenset({"paragraph_open", "table_open", "fence"})


def _block_starts(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """(token index, source line) of each top-level block."""
    return [
        (index, token.map[0])
        for index, token in enumerate(tokens)
        if token.level == 0 and token.nesting != -1 and token.map is not None
    ]


def _first_unsettled_math_line(lines: Sequence[str], before: int) -> int | None:
    """The first line before ``before`` that opens display math whose end may still come.

    Such a block is only a paragraph while its closing line is missing; when
    the closing arrives (before any blank line), everything from the opening
    line on becomes one math block, so none of it may be settled yet.
    """
    for number in range(before):
        closes = display_math_search(lines[number])
        if closes is None:
            continue
        for following in lines[number + 1 :]:
            if not following.strip() or closes(following):
                break
        else:
            return number
    return None


class StreamingMarkdown:
    """Renders a reply that arrives in pieces: finished top-level blocks are rendered once and handed out
    as new_blocks_html (to be appended to the page, never re-rendered); only the unfinished last block is
    re-rendered each time (tail_html replaces the previous tail). Cost per feed must not grow with the
    length of the reply so far.

    Only the text from the start of the first unfinished block is kept. A
    piece without a line break only re-renders that text (the tail). After a
    line break, the complete lines are parsed to see which blocks are
    finished: all top-level blocks but the last, since only the last can
    still grow, and the last one too when it is of a kind no further line
    can join (a heading, a closed math block; a paragraph, table or closed
    fence once a blank line follows); except when display math is open
    above (see ``_first_unsettled_math_line``). Markdown parsed from the start of a
    top-level block reads exactly as it does inside the whole reply (link
    reference definitions, the one exception, are off), so the blocks handed
    out are those ``render_markdown`` makes of the whole reply. The work per
    piece is proportional to the unfinished text: usually one paragraph, but
    all of a list or code block that is still being written. So that a long
    block (a 400-line code block, a 200-item list) does not make the work
    quadratic and starve the model's threads of CPU, parsing and rendering
    take at most ``duty`` of the time: after a render that took ``c`` seconds,
    pieces arriving within ``c / duty`` are only collected (``feed`` returns
    no change) and ``due_in`` says when ``flush`` should render them. The
    finished blocks are the same whichever pieces were rendered.

    A paragraph or code fence longer than ``HOLD_AFTER_LINES`` is previewed in
    pieces (``StreamUpdate.held_html``): all but its last lines are rendered
    once and held, only the rest is rendered at each update, and while no
    other block starts, whether it has ended is decided from the lines after
    the held ones (the fence's opening line put before them), so the work per
    update stays that of a few dozen lines however long the block grows.
    Whenever those lines say anything but "the same block goes on", the whole
    unfinished text is parsed as before, so the finished blocks are exact; the
    preview may differ in small ways (a line break where a piece ends, a
    construct across that line shown as text until the block is finished).
    """

    def __init__(
        self,
        code_block_offset: int = 0,
        *,
        duty: float = RENDER_DUTY,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._pending = ""
        self._held_cr = False
        self._next_code_index = code_block_offset
        self._finished = False
        self._duty = duty
        self._clock = clock
        self._next_render_at = float("-inf")
        self._unsettled_line_break = False  # a line break arrived since the last settle
        self._stale = False  # text arrived that the tail shown does not have
        # The long tail's preview pieces: how much of _pending they show, what goes before the rest of it when
        # parsing (a fence's opening line), the kind of its block, and whether any piece is on the page.
        self._held = 0
        self._held_context = ""
        self._held_kind = ""
        self._held_shown = False
        self._hold_tried_at = -1  # lines of _pending when holding last failed: retry only after more

    def _normalise(self, text: str) -> str:
        # A "\r\n" split across pieces must stay one line break.
        if self._held_cr:
            text = "\r" + text
            self._held_cr = False
        if text.endswith("\r"):
            text = text[:-1]
            self._held_cr = True
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def feed(self, text: str) -> StreamUpdate:
        """Add the next piece of the reply; returns the newly finished blocks and the new tail."""
        if self._finished:
            raise RuntimeError("StreamingMarkdown.feed() called after finish()")
        text = self._normalise(text)
        self._pending += text
        self._unsettled_line_break = self._unsettled_line_break or "\n" in text
        self._stale = True
        if self._clock() < self._next_render_at:
            return StreamUpdate([], None, [])
        return self._render()

    def due_in(self) -> float | None:
        """Seconds until ``flush`` may render text that ``feed`` collected; None when nothing waits."""
        if not self._stale or self._finished:
            return None
        return max(0.0, self._next_render_at - self._clock())

    def flush(self) -> StreamUpdate:
        """Render what ``feed`` collected without rendering, once ``due_in`` has passed (no change before)."""
        if not self._stale or self._finished or self._clock() < self._next_render_at:
            return StreamUpdate([], None, [])
        return self._render()

    def _render(self) -> StreamUpdate:
        started = self._clock()
        blocks: list[str] = []
        code: list[CodeBlock] = []
        cleared = False
        if self._unsettled_line_break:
            blocks, code = self._settle()
            self._unsettled_line_break = False
            if blocks:
                cleared = self._drop_held()
        held, tail = self._tail()
        self._stale = False
        finished = self._clock()
        self._next_render_at = finished + (finished - started) * (1 / self._duty - 1)
        return StreamUpdate(blocks, tail, code, held, cleared)

    def finish(self) -> StreamUpdate:
        """The reply is complete: everything left becomes finished blocks and the tail becomes empty."""
        if self._finished:
            return StreamUpdate([], "", [])
        self._finished = True
        if self._held_cr:
            self._pending += "\n"
            self._held_cr = False
        env = new_env(self._next_code_index)
        tokens = parser().parse(self._pending, env)
        blocks, code = self._render_blocks(tokens, _block_starts(tokens), len(tokens))
        self._pending = ""
        return StreamUpdate(blocks, "", code, [], self._drop_held())

    def _drop_held(self) -> bool:
        """Forget the preview pieces (their block is finished); True when the page shows some to remove."""
        shown = self._held_shown
        self._held, self._held_context, self._held_kind, self._held_shown = 0, "", "", False
        self._hold_tried_at = -1
        return shown

    def _render_blocks(
        self, tokens: Sequence[Token], starts: Sequence[tuple[int, int]], end: int
    ) -> tuple[list[str], list[CodeBlock]]:
        env = new_env(self._next_code_index)
        bounds = [index for index, _ in starts if index < end] + [end]
        blocks: list[str] = []
        code: list[CodeBlock] = []
        for first, after in itertools.pairwise(bounds):
            rendered = render_tokens(tokens[first:after], env)
            blocks.append(rendered.html)
            code.extend(rendered.code_blocks)
        self._next_code_index += len(code)
        return blocks, code

    def _settle(self) -> tuple[list[str], list[CodeBlock]]:
        end = self._pending.rfind("\n") + 1
        if self._held and self._held_block_goes_on(end):
            return [], []
        complete = self._pending[:end]
        tokens = parser().parse(complete, new_env(self._next_code_index))
        starts = _block_starts(tokens)
        if not starts:
            return [], []
        lines = complete.split("\n")[:-1]  # complete ends with a line break: no line after it yet
        cut_index, cut_line = _settled_until(tokens, starts, lines)
        held = _first_unsettled_math_line(lines, cut_line)
        if held is not None:
            cut_index, cut_line = next(((i, line) for i, line in reversed(starts) if line <= held), starts[0])
        if cut_index == starts[0][0]:
            return [], []
        blocks, code = self._render_blocks(tokens, starts, cut_index)
        self._pending = self._pending[sum(len(line) + 1 for line in lines[:cut_line]) :]
        return blocks, code

    def _held_block_goes_on(self, end: int) -> bool:
        """Whether the complete lines after the held ones, parsed after the held block's context, are still
        only that block, unfinished; when unsure (anything else, or display math), False: parse it all."""
        text = self._held_context + self._pending[self._held : end]
        lines = text.split("\n")[:-1]
        if any(display_math_search(line) is not None for line in lines):
            return False
        tokens = parser().parse(text, new_env(0))
        starts = _block_starts(tokens)
        if len(starts) != 1 or tokens[starts[0][0]].type != self._held_kind:
            return False
        return _settled_until(tokens, starts, lines) == starts[0]

    def _tail(self) -> tuple[list[str], str]:
        """New preview pieces to hold, and the tail's HTML after them."""
        held = self._hold_more()
        live = self._pending[self._held :]
        if not live:
            return held, ""
        piece = ("cont",) if self._held else ()
        env = new_env(self._next_code_index, pending=True, piece=piece)
        return held, render_tokens(parser().parse(self._held_context + live, env), env).html

    def _hold_more(self) -> list[str]:
        """Once the unheld tail is long, render most of it as a held piece (see the class docstring)."""
        live = self._pending[self._held :]
        complete = live[: live.rfind("\n") + 1]
        if complete.count("\n") < HOLD_AFTER_LINES:
            return []
        total = self._pending.count("\n")
        if total < self._hold_tried_at + HOLD_AFTER_LINES:
            return []
        self._hold_tried_at = total
        lines = complete.split("\n")[:-1]
        if any(display_math_search(line) is not None for line in lines):
            return []
        text = self._held_context + complete
        tokens = parser().parse(text, new_env(0))
        starts = _block_starts(tokens)
        if len(starts) != 1:
            return []
        block = tokens[starts[0][0]]
        if block.type not in _HOLDABLE or (self._held_kind and block.type != self._held_kind):
            return []
        if block.type == "fence":
            if _closes_fence(block, text.split("\n")[:-1]):
                return []  # its end has come: it settles at the next line, and its closing line must not be held
            cut = len(lines)
        else:  # before the last line that starts with a letter; not the first line, or nothing would be held
            cut = next((n for n in range(len(lines) - 1, 0, -1) if lines[n][:1].isalpha()), 0)
        if cut == 0:
            return []
        piece_text = "\n".join(lines[:cut]) + "\n"
        place = ("split", "cont") if self._held else ("split",)
        env = new_env(self._next_code_index, pending=True, piece=place)
        rendered = render_tokens(parser().parse(self._held_context + piece_text, env), env).html
        if not self._held and block.type == "fence" and block.map is not None:
            self._held_context = lines[block.map[0]] + "\n"
        self._held += len(piece_text)
        self._held_kind = block.type
        self._held_shown = True
        self._hold_tried_at = -1
        return [rendered]


def _closes_fence(fence: Token, lines: Sequence[str]) -> bool:
    """Whether the fence's last line is its closing line (CommonMark: up to three spaces, then at least as many
    of the opening character as it opened with, then only spaces)."""
    if fence.map is None or fence.map[1] - 1 <= fence.map[0] or not fence.markup:
        return False
    line = lines[fence.map[1] - 1]
    stripped = line.lstrip(" ")
    run = len(stripped) - len(stripped.lstrip(fence.markup[0]))
    return len(line) - len(stripped) <= 3 and run >= len(fence.markup) and not stripped[run:].strip()


def _settled_until(tokens: Sequence[Token], starts: Sequence[tuple[int, int]], lines: Sequence[str]) -> tuple[int, int]:
    """(token index, line) up to which the blocks are finished: all but the last, and the last too when it is
    of a kind no further line can join (see ``StreamingMarkdown``); display math is not looked at here."""
    cut_index, cut_line = starts[-1]
    last = tokens[cut_index]
    if last.type in _COMPLETE_WITH_ITS_LINES or (
        last.type in _ENDED_BY_BLANK_LINE
        and last.map is not None
        and last.map[1] < len(lines)
        and not "".join(lines[last.map[1] :]).strip()
    ):
        return len(tokens), len(lines)
    return cut_index, cut_line
