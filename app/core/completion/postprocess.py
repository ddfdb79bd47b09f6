"""Cutting a raw suggestion at a sensible boundary, without repeating what follows the cursor.

The model writes the middle until it decides to stop, which for a small
model can be long after the useful part. A suggestion ends at the first of:

- ``max_lines`` lines;
- a later line indented less than the cursor's line (the block ended);
- a closing bracket that closes something opened before the suggestion,
  when the rest of the cursor's line already has text (that text closes it);
  with nothing after the cursor the bracket is kept and the line ends there;
- a line that repeats the next non-blank line after the cursor.

Finally, an end that repeats the start of the rest of the cursor's line is
trimmed, so accepting never duplicates the suffix.
"""

from __future__ import annotations

from dataclasses import dataclass

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Tidied:
    """The suggestion to show and whether a boundary was reached (generating more is pointless)."""

    text: str
    complete: bool


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def tidy_suggestion(raw: str, prefix: str, suffix: str, max_lines: int = 8) -> Tidied:
    """``raw`` cut to a sensible boundary given the text before and after the cursor."""
    line_before = prefix.rsplit("\n", 1)[-1]
    rest_of_line, _, after_lines = suffix.partition("\n")
    next_line = next((line.strip() for line in after_lines.split("\n") if line.strip()), "")
    base_indent = _indent(line_before) if line_before.strip() else len(line_before)
    text = raw.replace("\r\n", "\n")
    complete = False
    lines = text.split("\n")
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        complete = True
    kept: list[str] = []
    depth = 0
    for index, line in enumerate(lines):
        if index > 0:
            stripped = line.strip()
            if stripped and _indent(line) < base_indent:
                complete = True
                break
            if stripped and next_line and stripped == next_line:
                complete = True
                break
        cut_at: int | None = None
        for pos, ch in enumerate(line):
            if ch in OPENERS:
                depth += 1
            elif ch in CLOSERS:
                depth -= 1
                if depth < 0:
                    cut_at = pos if rest_of_line.strip() else pos + 1
                    break
        if cut_at is not None:
            kept.append(line[:cut_at])
            complete = True
            break
        kept.append(line)
    # A multi-line suggestion is "complete" at a line end only once the next line started.
    result = "\n".join(kept)
    if "\n" in result:
        result = "\n".join(line.rstrip() for line in result.split("\n")).rstrip("\n")
    if rest_of_line:
        result = _trim_overlap(result, rest_of_line)
    if not result.strip():
        result = ""
    return Tidied(result, complete)


def _trim_overlap(text: str, rest_of_line: str) -> str:
    """``text`` without an end that repeats the start of ``rest_of_line``."""
    for k in range(min(len(text), len(rest_of_line)), 0, -1):
        if text.endswith(rest_of_line[:k]):
            return text[:-k]
    return text


def accept_word(suggestion: str) -> str:
    """The part of ``suggestion`` Ctrl+→ accepts: leading spaces and the next word or symbol run."""
    i = 0
    while i < len(suggestion) and suggestion[i] in " \t":
        i += 1
    if i < len(suggestion) and suggestion[i] == "\n":
        return suggestion[: i + 1]
    if i < len(suggestion) and (suggestion[i].isalnum() or suggestion[i] == "_"):
        while i < len(suggestion) and (suggestion[i].isalnum() or suggestion[i] == "_"):
            i += 1
    elif i < len(suggestion):
        i += 1
    return suggestion[:i]


def after_typing(suggestion: str, typed: str) -> str | None:
    """What is left of ``suggestion`` after the user typed ``typed`` at the cursor; None if it diverged."""
    if typed and suggestion.startswith(typed):
        return suggestion[len(typed) :]
    return None
