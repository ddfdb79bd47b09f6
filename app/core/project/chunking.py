"""Cutting a file into the pieces that are searched and attached to prompts.

Where the file has an outline (``symbols``), pieces follow its top-level
definitions: each starts at a definition (with the comments and decorators
just above it) and runs to the next one; small neighbours are merged and a
definition too big for one piece is cut at its members (methods), then into
windows. Elsewhere the file is cut into fixed windows of lines that overlap,
so that text near a boundary is whole in at least one piece.

The pieces tile the file: every line is in at least one piece and each
piece's text is exactly its lines, so the file's text can be rebuilt from
its pieces (``rebuild_text``), which is how "changed since your last
message" finds the old text.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.project.symbols import Symbol

TARGET_LINES = 40  # neighbours are merged up to this size
MAX_LINES = 80  # bigger pieces are cut
MAX_CHARS = 6000  # ... as are pieces with very long lines
WINDOW_LINES = 50
OVERLAP_LINES = 10
_LEAD_IN = ("#", "//", "/*", "*", "@", "///", "--", "'''", '"""')


@dataclass(frozen=True)
class Chunk:
    """One piece: lines ``start_line``..``end_line`` (1-based, inclusive) and the names defined in it."""

    start_line: int
    end_line: int
    text: str
    names: str  # space-separated definition names, searched with extra weight


def split_lines(text: str) -> list[str]:
    """Lines of newline-normalised text; a final newline gives a last empty line, as in an editor."""
    return text.split("\n")


def _lead_in_start(lines: list[str], first: int, floor: int) -> int:
    """Move a definition's first line up over the comment or decorator lines directly above it."""
    line = first
    while line - 1 > floor:
        above = lines[line - 2].strip()
        if not above or not above.startswith(_LEAD_IN):
            break
        line -= 1
    return line


class _Sizes:
    """Characters in any range of lines, from prefix sums (ranges are measured many times)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        total = 0
        self.prefix = [0]
        for line in lines:
            total += len(line) + 1
            self.prefix.append(total)

    def __call__(self, start: int, end: int) -> int:
        return self.prefix[end] - self.prefix[start - 1]


def _windows(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    """Overlapping windows over ``start``..``end``, each under WINDOW_LINES lines and about MAX_CHARS."""
    spans: list[tuple[int, int]] = []
    first = start
    while first <= end:
        last = first
        chars = len(lines[first - 1]) + 1
        while last < end and last - first + 1 < WINDOW_LINES and chars + len(lines[last]) + 1 <= MAX_CHARS:
            last += 1
            chars += len(lines[last - 1]) + 1
        spans.append((first, last))
        if last >= end:
            break
        # Step back for the overlap, but always move forward.
        first = max(first + 1, last + 1 - min(OVERLAP_LINES, (last - first + 1) // 2))
    return spans


def _too_big(size: _Sizes, start: int, end: int) -> bool:
    return end - start + 1 > MAX_LINES or size(start, end) > MAX_CHARS


def _merge(size: _Sizes, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join consecutive pieces while the result stays within TARGET_LINES lines and MAX_CHARS."""
    merged: list[tuple[int, int]] = []
    for start, end in pieces:
        if merged:
            first, _ = merged[-1]
            if end - first + 1 <= TARGET_LINES and size(first, end) <= MAX_CHARS:
                merged[-1] = (first, end)
                continue
        merged.append((start, end))
    return merged


def _cut(starts: list[int], start: int, end: int) -> list[tuple[int, int]]:
    """Pieces of ``start``..``end`` beginning at each of ``starts`` (sorted, inside the range)."""
    bounds = [start] + [s for s in starts if start < s <= end]
    return [(b, (bounds[i + 1] - 1) if i + 1 < len(bounds) else end) for i, b in enumerate(bounds)]


def _spans(lines: list[str], symbols: Sequence[Symbol]) -> list[tuple[int, int]]:
    total = len(lines)
    top = sorted((s for s in symbols if s.depth == 0 and 1 <= s.start_line <= total), key=lambda s: s.start_line)
    if not top:
        return _windows(lines, 1, total)
    starts: list[int] = []
    floor = 0
    for symbol in top:
        if symbol.start_line <= floor:
            continue  # overlapping outline entries (a grammar's odd tree): keep the first
        starts.append(_lead_in_start(lines, symbol.start_line, floor))
        floor = max(symbol.end_line, symbol.start_line)
    members = sorted(
        _lead_in_start(lines, s.start_line, 0) for s in symbols if s.depth == 1 and 1 <= s.start_line <= total
    )
    size = _Sizes(lines)
    spans: list[tuple[int, int]] = []
    for start, end in _merge(size, _cut(starts, 1, total)):
        if not _too_big(size, start, end):
            spans.append((start, end))
            continue
        for sub_start, sub_end in _merge(size, _cut(members, start, end)):
            if _too_big(size, sub_start, sub_end):
                spans.extend(_windows(lines, sub_start, sub_end))
            else:
                spans.append((sub_start, sub_end))
    return spans


def chunk_lines(lines: list[str], symbols: Sequence[Symbol]) -> list[Chunk]:
    """Cut ``lines`` (from ``split_lines``) into chunks, following ``symbols`` where there are any."""
    if not lines or lines == [""]:
        return []
    ordered = sorted(symbols, key=lambda s: s.start_line)
    starts = [s.start_line for s in ordered]
    chunks = []
    for start, end in _spans(lines, symbols):
        inside = ordered[bisect.bisect_left(starts, start) : bisect.bisect_right(starts, end)]
        names = " ".join(dict.fromkeys(s.name for s in inside))
        chunks.append(Chunk(start, end, "\n".join(lines[start - 1 : end]), names))
    return chunks


def rebuild_text(pieces: Sequence[tuple[int, int, str]]) -> str:
    """The file's text from its chunks as (start_line, end_line, text), overlaps removed."""
    out: list[str] = []
    covered = 0
    for start, end, text in sorted(pieces):
        if end <= covered:
            continue
        piece_lines = text.split("\n")
        skip = max(0, covered - start + 1)
        out.extend(piece_lines[skip:])
        covered = end
    return "\n".join(out)
