"""A file's proposed change as hunks that can be accepted or rejected one by one.

The diff is by lines with their endings kept, so the result of accepting
every hunk is exactly the proposed text and accepting none is exactly the
original, down to a missing final newline.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

DEFAULT_CONTEXT = 3
DEFAULT_JOIN_GAP = 2

LineKind = Literal[" ", "-", "+"]
_Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk as a diff view shows it (``text`` has no line ending)."""

    kind: LineKind
    text: str
    old_number: int | None  # 1-based, None for an added line
    new_number: int | None  # 1-based, None for a removed line


@dataclass(frozen=True)
class Hunk:
    """A group of nearby changes with their context lines."""

    index: int
    old_start: int  # 1-based first line shown, as in a unified diff header
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[DiffLine, ...]

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.kind == "+")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.kind == "-")

    def unified(self) -> str:
        """The hunk in unified diff notation."""
        return "\n".join([self.header, *(line.kind + line.text for line in self.lines)])


def _strip_ending(line: str) -> str:
    return line[:-1] if line.endswith("\n") else line


class TextDiff:
    """The hunks between two texts, and the text that any choice of hunks gives.

    Changes separated by at most ``join_gap`` unchanged lines form one hunk;
    farther apart they can be accepted separately, even when their
    ``context`` lines overlap (as after splitting a hunk in ``git add -p``).
    """

    def __init__(self, old: str, new: str, context: int = DEFAULT_CONTEXT, join_gap: int = DEFAULT_JOIN_GAP) -> None:
        self.old = old
        self.new = new
        self._old_lines = old.splitlines(keepends=True)
        self._new_lines = new.splitlines(keepends=True)
        matcher = difflib.SequenceMatcher(None, self._old_lines, self._new_lines, autojunk=False)
        self._opcodes: list[_Opcode] = [(tag, i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes()]
        self._hunk_of: dict[int, int] = {}
        self.hunks: tuple[Hunk, ...] = self._group(context, join_gap)

    def _group(self, context: int, join_gap: int) -> tuple[Hunk, ...]:
        groups: list[list[int]] = []
        for position, opcode in enumerate(self._opcodes):
            if opcode[0] == "equal":
                continue
            previous = self._opcodes[position - 1] if position else None
            gap = previous[2] - previous[1] if previous is not None and previous[0] == "equal" else 0
            if groups and gap <= join_gap:
                groups[-1].append(position)
            else:
                groups.append([position])
        hunks = []
        for index, positions in enumerate(groups):
            for position in positions:
                self._hunk_of[position] = index
            hunks.append(self._make_hunk(index, positions, context))
        return tuple(hunks)

    def _context(self, position: int, context: int, before: bool) -> list[DiffLine]:
        """Up to ``context`` unchanged lines from the equal run next to a change."""
        neighbour = position - 1 if before else position + 1
        if not 0 <= neighbour < len(self._opcodes) or self._opcodes[neighbour][0] != "equal":
            return []
        _, i1, i2, j1, _ = self._opcodes[neighbour]
        rows = range(max(i1, i2 - context), i2) if before else range(i1, min(i2, i1 + context))
        return [DiffLine(" ", _strip_ending(self._old_lines[i]), i + 1, j1 + (i - i1) + 1) for i in rows]

    def _make_hunk(self, index: int, positions: list[int], context: int) -> Hunk:
        lines: list[DiffLine] = self._context(positions[0], context, before=True)
        for tag, i1, i2, j1, j2 in self._opcodes[positions[0] : positions[-1] + 1]:
            if tag == "equal":
                lines.extend(
                    DiffLine(" ", _strip_ending(self._old_lines[i]), i + 1, j1 + (i - i1) + 1) for i in range(i1, i2)
                )
                continue
            lines.extend(DiffLine("-", _strip_ending(self._old_lines[i]), i + 1, None) for i in range(i1, i2))
            lines.extend(DiffLine("+", _strip_ending(self._new_lines[j]), None, j + 1) for j in range(j1, j2))
        lines += self._context(positions[-1], context, before=False)
        first = self._opcodes[positions[0]]
        old_numbers = [line.old_number for line in lines if line.old_number is not None]
        new_numbers = [line.new_number for line in lines if line.new_number is not None]
        # As in unified diffs, an empty side starts at the line before it.
        return Hunk(
            index=index,
            old_start=old_numbers[0] if old_numbers else first[1],
            old_count=len(old_numbers),
            new_start=new_numbers[0] if new_numbers else first[3],
            new_count=len(new_numbers),
            lines=tuple(lines),
        )

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def result(self, accepted: Iterable[int]) -> str:
        """The text with only the ``accepted`` hunks (by index) applied."""
        chosen = set(accepted)
        out: list[str] = []
        for position, (tag, i1, i2, j1, j2) in enumerate(self._opcodes):
            if tag == "equal" or self._hunk_of[position] not in chosen:
                out.extend(self._old_lines[i1:i2])
            else:
                out.extend(self._new_lines[j1:j2])
        return "".join(out)

    def unified(self, old_name: str = "a", new_name: str = "b") -> str:
        """The whole diff in unified notation (for logs and plain-text views)."""
        if not self.hunks:
            return ""
        return "\n".join([f"--- {old_name}", f"+++ {new_name}", *(hunk.unified() for hunk in self.hunks)])
