"""Applying one search/replace block to a text: exactly when possible, else
tolerating the drift small models produce, and saying which tolerance was needed.

Matching is by whole lines. In order: the exact lines; lines equal but for
trailing spaces; lines equal but for indentation (the replacement is then
re-indented to where the match was); the same after dropping blank lines
at the ends of the block; lines equal ignoring blank lines in between; and,
for a one-line block, a unique piece of one line. The first kind that
matches wins; when it matches in several places the first is used and the
note says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from app.core.edits.parser import EditBlock

MatchKind = Literal["exact", "trailing-space", "indentation", "blank-lines", "part-of-line", "whole-file", "new-file"]

_DESCRIPTIONS: dict[MatchKind, str] = {
    "exact": "",
    "trailing-space": "matched only after ignoring spaces at line ends",
    "indentation": "matched only after ignoring indentation; the new lines were re-indented to fit",
    "blank-lines": "matched only after ignoring blank lines",
    "part-of-line": "matched part of a line rather than whole lines",
    "whole-file": "replaces the whole file",
    "new-file": "creates the file",
}


@dataclass(frozen=True)
class ApplyResult:
    """The text after the block, or ``None`` when the block matched nothing."""

    text: str | None
    kind: MatchKind | None = None
    matches: int = 0
    note: str | None = None

    @property
    def applied(self) -> bool:
        return self.text is not None

    @property
    def fuzzy(self) -> bool:
        return self.kind not in (None, "exact", "whole-file", "new-file")


def split_lines(text: str) -> tuple[list[str], bool]:
    """Lines of ``text`` without endings, and whether it ended with a newline."""
    if text.endswith("\n"):
        return text[:-1].split("\n"), True
    return text.split("\n"), False


def join_lines(lines: Sequence[str], final_newline: bool) -> str:
    """The inverse of ``split_lines``."""
    return "\n".join(lines) + ("\n" if final_newline else "")


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _find(lines: Sequence[str], search: Sequence[str], key: Callable[[str], str]) -> list[int]:
    if not search or len(search) > len(lines):
        return []
    wanted = [key(line) for line in search]
    keyed = [key(line) for line in lines]
    first = wanted[0]
    size = len(wanted)
    return [
        start
        for start in range(len(keyed) - size + 1)
        if keyed[start] == first and keyed[start : start + size] == wanted
    ]


def _reindent(replace: Sequence[str], search: Sequence[str], matched: Sequence[str]) -> list[str]:
    """Shift ``replace`` by the indentation difference between ``search`` and what it matched."""
    pairs = [(s, m) for s, m in zip(search, matched, strict=False) if s.strip() and m.strip()]
    if not pairs:
        return list(replace)
    model_indent, file_indent = _leading(pairs[0][0]), _leading(pairs[0][1])
    if model_indent == file_indent:
        return list(replace)
    out = []
    for line in replace:
        if not line.strip():
            out.append(line)
        elif line.startswith(model_indent):
            out.append(file_indent + line[len(model_indent) :])
        else:
            shortfall = len(model_indent) - len(_leading(line))
            out.append(file_indent[: max(0, len(file_indent) - shortfall)] + line.lstrip())
    return out


def _trim_blank_ends(search: Sequence[str], replace: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """The block without blank lines at its ends (the same number trimmed from the replacement)."""
    lead = next((i for i, line in enumerate(search) if line.strip()), len(search))
    tail = next((i for i, line in enumerate(reversed(search)) if line.strip()), 0)
    if lead == len(search) or (lead == 0 and tail == 0):
        return None
    new_search = list(search[lead : len(search) - tail])
    replace_lead = min(lead, next((i for i, line in enumerate(replace) if line.strip()), len(replace)))
    replace_tail = min(tail, next((i for i, line in enumerate(reversed(replace)) if line.strip()), 0))
    new_replace = list(replace[replace_lead : len(replace) - replace_tail])
    return new_search, new_replace


def _match_ignoring_blanks(lines: Sequence[str], search: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) windows whose non-blank lines equal the block's, ignoring indentation."""
    wanted = [line.strip() for line in search if line.strip()]
    if not wanted:
        return []
    positions = [i for i, line in enumerate(lines) if line.strip()]
    stripped = [lines[i].strip() for i in positions]
    size = len(wanted)
    return [
        (positions[k], positions[k + size - 1] + 1)
        for k in range(len(stripped) - size + 1)
        if stripped[k] == wanted[0] and stripped[k : k + size] == wanted
    ]


def _note(kind: MatchKind, matches: int) -> str | None:
    parts = [_DESCRIPTIONS[kind]] if _DESCRIPTIONS[kind] else []
    if matches > 1:
        parts.append(f"it fits {matches} places and the first was changed")
    return "; ".join(parts) or None


def _splice(
    lines: list[str], final: bool, start: int, end: int, new: Sequence[str], kind: MatchKind, matches: int
) -> ApplyResult:
    result = lines[:start] + list(new) + lines[end:]
    return ApplyResult(join_lines(result, final), kind, matches, _note(kind, matches))


def _same(line: str) -> str:
    return line


_LINE_MATCHES: tuple[tuple[MatchKind, Callable[[str], str]], ...] = (
    ("exact", _same),
    ("trailing-space", str.rstrip),
    ("indentation", str.strip),
)


def _content(lines: Sequence[str]) -> str:
    """A whole file's text from its lines: no trailing blank lines, one final newline."""
    kept = list(lines)
    while kept and not kept[-1].strip():
        kept.pop()
    return join_lines(kept, bool(kept))


def apply_block(original: str | None, block: EditBlock) -> ApplyResult:
    """Apply ``block`` to ``original`` (``None`` for a file that does not exist yet)."""
    if block.whole_file or not block.search:
        if original is None or not original.strip():
            return ApplyResult(_content(block.replace), "new-file" if original is None else "whole-file", 1, None)
        if block.whole_file:
            return ApplyResult(_content(block.replace), "whole-file", 1, _note("whole-file", 1))
        return ApplyResult(None, note="its SEARCH part is empty, so it is not clear where the new lines go")
    if original is None:
        return ApplyResult(None, note="the file does not exist, so there is nothing to search in")
    lines, final = split_lines(original)
    search, replace = list(block.search), list(block.replace)

    attempts: list[tuple[list[str], list[str]]] = [(search, replace)]
    trimmed = _trim_blank_ends(search, replace)
    if trimmed is not None:
        attempts.append(trimmed)
    for attempt_search, attempt_replace in attempts:
        for kind, key in _LINE_MATCHES:
            found = _find(lines, attempt_search, key)
            if found:
                start = found[0]
                end = start + len(attempt_search)
                new = attempt_replace
                if kind == "indentation":
                    new = _reindent(attempt_replace, attempt_search, lines[start:end])
                return _splice(lines, final, start, end, new, kind, len(found))

    windows = _match_ignoring_blanks(lines, search)
    if windows:
        start, end = windows[0]
        new = _reindent(replace, search, lines[start:end])
        return _splice(lines, final, start, end, new, "blank-lines", len(windows))

    pieces = [line for line in search if line.strip()]
    new_pieces = [line for line in replace if line.strip()] or [""]
    if len(pieces) == 1 and len(new_pieces) == 1:
        needle = pieces[0].strip()
        hits = [i for i, line in enumerate(lines) if needle in line]
        if len(hits) == 1 and lines[hits[0]].count(needle) == 1:
            row = lines[hits[0]]
            lines[hits[0]] = row.replace(needle, new_pieces[0].strip(), 1)
            return ApplyResult(join_lines(lines, final), "part-of-line", 1, _note("part-of-line", 1))
    return ApplyResult(None, note="its SEARCH lines match nothing in the file")
