"""The fill-in-the-middle prompt: prefix and suffix around the cursor, related files first.

Two steps. ``cut_window`` runs in the caller (the editor, the CLI) and keeps
at most a few hundred lines / a few thousand characters either side of the
cursor, so a 100,000-line file or a 2 MB minified line never crosses the
pipe. ``fit_prompt`` runs where the tokenizer is and fits that window, and a
few chunks of related files, into a token budget.

The KV cache is reused across keystrokes only while the prompt's beginning
stays the same, so every place the prompt is cut is aligned to a coarse grid
in document coordinates (32-line groups, 1 KiB steps in a long line): typing
moves the cursor but leaves the start of the prompt where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.completion.formats import FimFormat

MAX_PREFIX_LINES = 256  # llama.vscode's defaults
MAX_SUFFIX_LINES = 64
MAX_PREFIX_CHARS = 16_384
MAX_SUFFIX_CHARS = 4_096
LINE_GRID = 32  # the prefix starts on a multiple of this many lines
CHAR_GRID = 1_024  # … or of this many characters inside one long line
DROP_LINES = 16  # lines dropped at a time when the prefix is over budget


@dataclass(frozen=True)
class RelatedFile:
    """Another file the model should see: its project-relative path and text."""

    path: str
    text: str


@dataclass(frozen=True)
class CompletionInput:
    """What a completion request carries: the window around the cursor and related files."""

    prefix: str
    suffix: str
    path: str = ""
    repo: str = ""
    related: tuple[RelatedFile, ...] = ()


@dataclass(frozen=True)
class PromptBudget:
    """Token budgets: the whole prompt, the suffix's share and the related files' share."""

    total: int = 1024
    suffix: int = 128
    related: int = 256
    file_lines: int = 40  # at most this many lines of each related file


@dataclass(frozen=True)
class FimPrompt:
    """The prompt text and what went into it."""

    text: str
    prefix: str
    suffix: str
    related: tuple[str, ...] = field(default_factory=tuple)
    parts: tuple[tuple[str, bool], ...] = ()  # (text, is a format marker), tokenized piece by piece


def cut_window(text: str, cursor: int) -> tuple[str, str]:
    """The prefix and suffix around ``cursor`` (a character offset), bounded in lines and characters.

    The prefix's start is aligned to ``LINE_GRID`` lines counted from the
    window's earliest possible start, or to ``CHAR_GRID`` characters inside a
    very long line, so it does not move on every keystroke.
    """
    cursor = max(0, min(cursor, len(text)))
    lowest = max(0, cursor - MAX_PREFIX_CHARS)
    # Walk back at most MAX_PREFIX_LINES line starts (cheap on huge files).
    starts: list[int] = []
    pos = cursor
    while len(starts) < MAX_PREFIX_LINES:
        nl = text.rfind("\n", lowest, pos)
        if nl < 0:
            break
        starts.append(nl + 1)
        pos = nl
    line_start_of_cursor = starts[0] if starts else (0 if lowest == 0 else -1)
    if len(starts) >= MAX_PREFIX_LINES:
        # More lines than allowed: start on a grid line (absolute line numbers).
        first_allowed = starts[-1]
        line_no = text.count("\n", 0, first_allowed)
        skip = (-line_no) % LINE_GRID
        start = starts[-1 - skip] if skip < len(starts) else starts[0]
    elif lowest == 0:
        start = 0
    elif starts and starts[-1] > lowest:
        # The character limit bites inside the earliest line: begin at a line start.
        start = starts[-1]
    else:
        start = -(-lowest // CHAR_GRID) * CHAR_GRID  # a long line: a grid step
    if line_start_of_cursor >= 0 and start > line_start_of_cursor:
        start = line_start_of_cursor
    start = min(start, cursor)
    end = min(len(text), cursor + MAX_SUFFIX_CHARS)
    pos = cursor
    for _ in range(MAX_SUFFIX_LINES):
        nl = text.find("\n", pos, end)
        if nl < 0:
            pos = end
            break
        pos = nl + 1
    return text[start:cursor], text[cursor:pos]


def _lines_keep_end(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _fit_prefix(prefix: str, room: int, count: Callable[[str], int]) -> str:
    """The end of ``prefix`` within ``room`` tokens, dropping leading lines in groups."""
    if room <= 0:
        return ""
    if count(prefix) <= room:
        return prefix
    lines = _lines_keep_end(prefix)
    lo, hi = 1, max(1, (len(lines) - 1) // DROP_LINES + 1)  # groups dropped
    # The smallest number of dropped groups that fits (binary search; count is monotonic enough).
    while lo < hi:
        mid = (lo + hi) // 2
        if count("".join(lines[mid * DROP_LINES :])) <= room:
            hi = mid
        else:
            lo = mid + 1
    candidate = "".join(lines[lo * DROP_LINES :])
    if candidate and count(candidate) <= room:
        return candidate
    # One last line longer than the budget: keep its end, cut on a character grid.
    last = lines[-1] if lines else prefix
    cut = 0
    while cut < len(last) and count(last[cut:]) > room:
        step = max(CHAR_GRID // 4, (len(last) - cut) // 2)
        cut = min(len(last), cut + step)
    return last[cut:]


def _fit_suffix(suffix: str, room: int, count: Callable[[str], int]) -> str:
    """The start of ``suffix`` within ``room`` tokens, dropping trailing lines."""
    if room <= 0 or not suffix:
        return ""
    if count(suffix) <= room:
        return suffix
    lines = _lines_keep_end(suffix)
    while len(lines) > 1 and count("".join(lines)) > room:
        lines = lines[: max(1, len(lines) // 2)]
    text = "".join(lines)
    while text and count(text) > room:
        text = text[: len(text) // 2]
    return text


def _chunk(text: str, max_lines: int) -> str:
    lines = text.splitlines()[:max_lines]
    return "\n".join(line[:400] for line in lines)


def fit_prompt(
    fmt: FimFormat, request: CompletionInput, count: Callable[[str], int], budget: PromptBudget
) -> FimPrompt:
    """The prompt for ``request`` in ``fmt`` within ``budget`` (``count`` gives a text's tokens).

    Layout for formats with repository tokens, when there are related files::

        <|repo_name|>{repo}\\n<|file_sep|>{path}\\n{chunk}\\n … <|file_sep|>{current path}\\n
        <|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>

    and otherwise just the FIM part. Related files come first, in the order
    given, each cut to ``budget.file_lines`` lines; whole files are left out
    once the related share is spent.
    """
    header: list[tuple[str, bool]] = []
    used: list[str] = []
    if fmt.repository_level and request.related and fmt.file_sep is not None:
        parts: list[tuple[str, bool]] = []
        if fmt.repo_name:
            parts += [(fmt.repo_name, True), (f"{request.repo or 'project'}\n", False)]
        spent = count(_text(parts))
        for related in request.related:
            piece = [(fmt.file_sep, True), (f"{related.path}\n{_chunk(related.text, budget.file_lines)}\n", False)]
            cost = count(_text(piece))
            if spent + cost > budget.related:
                continue
            parts += piece
            used.append(related.path)
            spent += cost
        if used:
            header = [*parts, (fmt.file_sep, True), (f"{request.path or 'current file'}\n", False)]
    overhead = count(_text(header) + fmt.fill("", ""))
    suffix = _fit_suffix(request.suffix, min(budget.suffix, budget.total - overhead), count)
    room = budget.total - overhead - (count(suffix) if suffix else 0)
    prefix = _fit_prefix(request.prefix, room, count)
    all_parts = tuple(header + fmt.fill_parts(prefix, suffix))
    return FimPrompt(_text(all_parts), prefix, suffix, tuple(used), all_parts)


def _text(parts: list[tuple[str, bool]] | tuple[tuple[str, bool], ...]) -> str:
    return "".join(text for text, _special in parts)
