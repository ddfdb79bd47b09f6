"""From a model's reply to a reviewable proposal: per file, the diff in hunks,
notes on anything tolerated or left out, and the safety scan of Python.

Nothing here writes anything. Paths outside the project are refused (with a
note, the rest of the reply still counts); open documents are edited from
their current buffer, unsaved changes included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.core.edits.apply import apply_block
from app.core.edits.conventions import conform
from app.core.edits.diff import Hunk, TextDiff
from app.core.edits.document import Document, Editor, Selection
from app.core.edits.parser import EditBlock, ParseResult, parse_edits
from app.core.edits.paths import resolve_project_path
from app.core.edits.safety import DEFAULT_TIME_LIMIT, Finding, SafetyReport, is_python_path, scan_python
from app.core.errors import QuillpadError
from app.core.text_files import load_text_file

UNTITLED = "untitled"


@dataclass(frozen=True)
class EditTarget:
    """What an edit request is about: the current document and the project around it.

    ``root`` bounds every path the reply may touch; with no root only the
    current document can change.
    """

    document: Document | None
    root: Path | None
    known_files: tuple[str, ...] = ()
    selection: Selection | None = None


@dataclass(frozen=True)
class FileChange:
    """A proposed change to one file (or unsaved document), hunk by hunk."""

    key: str  # project-relative path, or the unsaved document's label: what ``accepted`` is keyed by
    path: Path | None  # absolute; None for an unsaved document
    original: str | None  # None: the file does not exist yet
    proposed: str
    diff: TextDiff = field(compare=False, repr=False)
    notes: tuple[str, ...] = ()
    safety: SafetyReport | None = None  # None: not Python
    document: Document | None = field(default=None, compare=False, repr=False)

    @property
    def is_new(self) -> bool:
        return self.original is None

    @property
    def hunks(self) -> tuple[Hunk, ...]:
        return self.diff.hunks

    def result(self, accepted: Iterable[int]) -> str:
        """The file's text with only the ``accepted`` hunks applied."""
        return self.diff.result(accepted)

    def added_lines(self, accepted: Iterable[int] | None = None) -> set[int]:
        """New-text line numbers (1-based) that the hunks add."""
        chosen = None if accepted is None else set(accepted)
        return {
            line.new_number
            for hunk in self.hunks
            if chosen is None or hunk.index in chosen
            for line in hunk.lines
            if line.kind == "+" and line.new_number is not None
        }

    def findings(self) -> tuple[Finding, ...]:
        """Risky calls on lines this change adds (what the diff view should flag)."""
        if self.safety is None:
            return ()
        return self.safety.on_lines(self.added_lines())


@dataclass(frozen=True)
class EditProposal:
    """Every file a reply would change, for the user to review."""

    changes: tuple[FileChange, ...]
    notes: tuple[str, ...] = ()
    root: Path | None = None

    @property
    def empty(self) -> bool:
        return not self.changes

    def __iter__(self) -> Iterator[FileChange]:
        return iter(self.changes)

    def change(self, key: str) -> FileChange:
        """The change for ``key``; raises ``KeyError``."""
        for change in self.changes:
            if change.key == key:
                return change
        raise KeyError(key)

    def accept_all(self) -> dict[str, set[int]]:
        """The choice that accepts every hunk of every file."""
        return {change.key: {hunk.index for hunk in change.hunks} for change in self.changes}

    def summary(self) -> str:
        """One line per file, e.g. ``app/main.py: +3 −1`` or ``tests/x.py: new file, 12 lines``."""
        rows = []
        for change in self.changes:
            if change.is_new:
                rows.append(f"{change.key}: new file, {len(change.proposed.splitlines())} lines")
            else:
                added = sum(h.added for h in change.hunks)
                removed = sum(h.removed for h in change.hunks)
                rows.append(f"{change.key}: +{added} −{removed} in {len(change.hunks)} place(s)")
        return "\n".join(rows)


@dataclass
class _Pending:
    key: str
    path: Path | None
    original: str | None
    document: Document | None
    text: str | None
    notes: list[str] = field(default_factory=list)


def _document_key(document: Document, root: Path | None) -> str:
    path = document.path()
    if path is None:
        return UNTITLED
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


class _Builder:
    def __init__(self, target: EditTarget, editor: Editor | None) -> None:
        self.target = target
        self.editor = editor
        self.files: dict[str, _Pending] = {}
        self.notes: list[str] = []

    def current(self) -> _Pending:
        document = self.target.document
        assert document is not None
        key = _document_key(document, self.target.root)
        if key not in self.files:
            text = document.text()
            self.files[key] = _Pending(key, document.path(), text, document, text)
        return self.files[key]

    def destination(self, block: EditBlock) -> _Pending:
        """Where a block goes; raises ``QuillpadError`` with the reason when nowhere."""
        document = self.target.document
        current_path = document.path() if document is not None else None
        if block.path is None:
            if document is None:
                raise QuillpadError("An edit names no file and no file is open, so it was left out.")
            return self.current()
        root = self.target.root
        if root is None:
            if document is not None and current_path is not None and Path(block.path).name == current_path.name:
                return self.current()
            raise QuillpadError(f"The edit for {block.path} was left out: open a project folder to edit other files.")
        found = resolve_project_path(block.path, root, current=current_path, known_files=self.target.known_files)
        if document is not None and current_path is not None and _same(found.path, current_path):
            return self.current()
        if found.relative in self.files:
            return self.files[found.relative]
        open_document = self.editor.find(found.path) if self.editor is not None else None
        if open_document is not None:
            text: str | None = open_document.text()
        elif found.exists:
            if not found.path.is_file():
                raise QuillpadError(f"The edit for {found.relative} was left out: that is a folder, not a file.")
            loaded = load_text_file(found.path)
            if loaded.read_only:
                raise QuillpadError(f"The edit for {found.relative} was left out: the file is too big to edit.")
            text = loaded.text
        else:
            text = None
        pending = _Pending(found.relative, found.path, text, open_document, text)
        self.files[found.relative] = pending
        return pending

    def add(self, block: EditBlock) -> None:
        try:
            pending = self.destination(block)
        except QuillpadError as err:
            self.notes.append(str(err))
            return
        outcome = apply_block(pending.text, block)
        if outcome.text is None:
            self.notes.append(f"{pending.key}: the edit at line {block.line} was left out: {outcome.note}.")
            return
        pending.text = outcome.text
        if outcome.note:
            pending.notes.append(f"The edit at line {block.line} of the reply {outcome.note}.")
        if not block.complete:
            pending.notes.append(f"The edit at line {block.line} of the reply was cut short; check its end.")


def make_change(
    key: str,
    path: Path | None,
    original: str | None,
    proposed: str,
    *,
    document: Document | None = None,
    notes: Iterable[str] = (),
    scan: bool = True,
    python: bool | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> FileChange:
    """A ``FileChange`` with its hunks and, for Python, its safety scan."""
    is_python = is_python_path(key) if python is None else python
    proposed = conform(original, proposed, python=is_python)
    safety = scan_python(proposed, time_limit) if scan and is_python else None
    return FileChange(
        key=key,
        path=path,
        original=original,
        proposed=proposed,
        diff=TextDiff(original or "", proposed),
        notes=tuple(notes),
        safety=safety,
        document=document,
    )


def build_edit_proposal(
    reply: str | ParseResult,
    target: EditTarget,
    editor: Editor | None = None,
    *,
    scan: bool = True,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> EditProposal:
    """Read the edits in ``reply`` and work out what each file would become."""
    parsed = reply if isinstance(reply, ParseResult) else parse_edits(reply)
    builder = _Builder(target, editor)
    for block in parsed.blocks:
        builder.add(block)
    changes = []
    for pending in builder.files.values():
        if pending.text is None or pending.text == pending.original:
            continue
        changes.append(
            make_change(
                pending.key,
                pending.path,
                pending.original,
                pending.text,
                document=pending.document,
                notes=pending.notes,
                scan=scan,
                time_limit=time_limit,
            )
        )
    return EditProposal(tuple(changes), tuple(parsed.notes) + tuple(builder.notes), target.root)


def replacement_proposal(
    document: Document,
    start: int,
    end: int,
    text: str,
    *,
    root: Path | None = None,
    note: str | None = None,
    python: bool | None = None,
    scan: bool = True,
) -> EditProposal:
    """A proposal to replace ``start``–``end`` of ``document`` with ``text`` (an insertion when equal)."""
    original = document.text()
    start, end = max(0, min(start, len(original))), max(0, min(end, len(original)))
    proposed = original[:start] + text + original[max(start, end) :]
    if proposed == original:
        return EditProposal((), (note,) if note else (), root)
    change = make_change(
        _document_key(document, root),
        document.path(),
        original,
        proposed,
        document=document,
        notes=(note,) if note else (),
        python=python,
        scan=scan,
    )
    return EditProposal((change,), (), root)
