"""What changed in the project since the user's last message, as a short summary for the model.

The watcher's batches are recorded here with the old and new text of each
file when they are known (the old text is rebuilt from the index before the
update). For each file the first old text since the last message is kept,
so the summary is a diff against what the model last saw, however many
times the file was saved in between. ``mark`` starts a new period (the GUI
calls it when a message is sent).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from app.core.project.indexer import FileChange

MAX_FILES = 20
MAX_DIFF_LINES = 12
MAX_TRACKED = 500


@dataclass
class _Entry:
    first_kind: str  # what the first change since the mark was
    kind: str  # the latest
    old_text: str | None  # before the first change (None: unknown or the file is new)
    new_text: str | None  # after the latest change


def _diff(path: str, old: str, new: str) -> list[str]:
    diff = difflib.unified_diff(old.split("\n"), new.split("\n"), fromfile=path, tofile=path, n=1, lineterm="")
    lines = list(diff)[2:]  # the file names are already in the heading
    if len(lines) > MAX_DIFF_LINES:
        hidden = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... ({hidden} more diff lines)"]
    return lines


class ChangeTracker:
    """Changes since the last ``mark``; thread-safe (the watcher records, the GUI reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def record(self, changes: Iterable[FileChange]) -> None:
        """Add a batch of changes."""
        with self._lock:
            for change in changes:
                entry = self._entries.get(change.path)
                if entry is None:
                    if len(self._entries) >= MAX_TRACKED:
                        continue
                    old = None if change.kind == "added" else change.old_text
                    self._entries[change.path] = _Entry(change.kind, change.kind, old, change.new_text)
                    continue
                entry.kind = change.kind
                entry.new_text = change.new_text
                if entry.first_kind == "added" and change.kind == "removed":
                    del self._entries[change.path]  # came and went: nothing to tell

    def mark(self) -> None:
        """A message was sent: start a new period."""
        with self._lock:
            self._entries.clear()

    def paths(self) -> list[str]:
        """Changed files, sorted."""
        with self._lock:
            return sorted(self._entries)

    def summary(self) -> str:
        """The changes as short text ("" when nothing changed): one line per file, small diffs for edits."""
        with self._lock:
            items = sorted(self._entries.items())
        lines: list[str] = []
        for path, entry in items[:MAX_FILES]:
            if entry.kind == "removed":
                lines.append(f"deleted {path}")
            elif entry.first_kind == "added":
                count = len(entry.new_text.splitlines()) if entry.new_text is not None else None
                lines.append(f"added {path}" + (f" ({count} lines)" if count is not None else ""))
            elif entry.old_text is not None and entry.new_text is not None:
                diff = _diff(path, entry.old_text, entry.new_text)
                if diff:
                    lines.append(f"modified {path}:")
                    lines += diff
            else:
                lines.append(f"modified {path}")
        if len(items) > MAX_FILES:
            lines.append(f"... and {len(items) - MAX_FILES} more files")
        return "\n".join(lines)
