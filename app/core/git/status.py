"""What git says about each file: modified, added, deleted, renamed, untracked,
ignored or conflicted, and whether the change is staged.

Read from ``git status --porcelain=v1 -z`` (stable across git versions).
Untracked and ignored folders are reported once, as the folder; ``marker_for``
lets everything inside inherit their mark, so a huge ignored tree costs one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from app.core.git.repository import GitRepo

StatusKind = Literal["conflicted", "modified", "added", "deleted", "renamed", "untracked", "ignored"]

_CONFLICT_CODES = frozenset({"DD", "AU", "UD", "UA", "DU", "AA", "UU"})
# The one-letter marks shown in the file tree.
MARKS: dict[StatusKind, str] = {
    "conflicted": "!",
    "modified": "M",
    "added": "A",
    "deleted": "D",
    "renamed": "R",
    "untracked": "U",
    "ignored": "I",
}


@dataclass(frozen=True)
class FileStatus:
    """One entry of ``git status`` (``path`` relative to the repository root; folders end in ``/``)."""

    path: str
    code: str  # the two porcelain letters, e.g. " M", "A ", "??", "UU"
    orig_path: str | None = None  # a rename's old name

    @property
    def kind(self) -> StatusKind:
        code = self.code
        if code in _CONFLICT_CODES:
            return "conflicted"
        if code == "??":
            return "untracked"
        if code == "!!":
            return "ignored"
        if "R" in code or "C" in code:
            return "renamed"
        if code[0] == "A":
            return "added"
        if "D" in code:
            return "deleted"
        return "modified"

    @property
    def staged(self) -> bool:
        """Whether some of the change is in the index."""
        return self.code[0] not in " ?!U" and self.kind != "conflicted"

    @property
    def unstaged(self) -> bool:
        """Whether some of the change is only in the working tree."""
        return self.code[1] not in " " and self.kind not in ("conflicted", "ignored")

    @property
    def mark(self) -> str:
        return MARKS[self.kind]


def parse_porcelain(output: str) -> list[FileStatus]:
    """Entries of ``git status --porcelain=v1 -z`` output."""
    fields = output.split("\0")
    entries: list[FileStatus] = []
    i = 0
    while i < len(fields):
        item = fields[i]
        i += 1
        if len(item) < 4:
            continue
        code, path = item[:2], item[3:]
        orig = None
        if code[0] in "RC" or code[1] in "RC":
            orig = fields[i] if i < len(fields) else None
            i += 1
        entries.append(FileStatus(path, code, orig))
    return entries


def read_status(repo: GitRepo, *, ignored: bool = True) -> list[FileStatus]:
    """Every changed, untracked (and, with ``ignored``, ignored) entry of the working tree."""
    args = ["status", "--porcelain=v1", "-z", "--untracked-files=normal"]
    if ignored:
        args.append("--ignored=traditional")
    return parse_porcelain(repo.run("Reading the status", *args, strip=False))


class StatusMap:
    """Status by path, with folder entries covering what is inside them and marks rolled up to folders."""

    def __init__(self, entries: Iterable[FileStatus]) -> None:
        self.entries = list(entries)
        self._files: dict[str, FileStatus] = {}
        self._folders: dict[str, FileStatus] = {}  # untracked or ignored folders, without the slash
        self._dirty_folders: dict[str, StatusKind] = {}
        for entry in self.entries:
            if entry.path.endswith("/"):
                self._folders[entry.path.rstrip("/")] = entry
            else:
                self._files[entry.path] = entry
            if entry.kind == "ignored":
                continue
            parts = entry.path.rstrip("/").split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                current = self._dirty_folders.get(folder)
                if current != "conflicted":
                    self._dirty_folders[folder] = "conflicted" if entry.kind == "conflicted" else "modified"

    def get(self, path: str) -> FileStatus | None:
        """The entry for ``path`` itself, or for the untracked/ignored folder it is in."""
        found = self._files.get(path) or self._folders.get(path)
        if found is not None:
            return found
        parts = path.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            folder = self._folders.get("/".join(parts[:depth]))
            if folder is not None:
                return folder
        return None

    def kind_for(self, path: str) -> StatusKind | None:
        """The kind shown for ``path``; a tracked folder with a change inside is "modified" or "conflicted"."""
        entry = self.get(path)
        if entry is not None:
            return entry.kind
        return self._dirty_folders.get(path)

    def marker_for(self, path: str) -> str:
        """The tree mark for ``path`` ("" when clean)."""
        kind = self.kind_for(path)
        return MARKS[kind] if kind is not None else ""

    def as_dict(self) -> Mapping[str, StatusKind]:
        return {entry.path: entry.kind for entry in self.entries}
