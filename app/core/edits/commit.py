"""Applying the accepted part of a proposal.

Every check comes first (the documents still hold what the proposal was made
from, new files still do not exist, paths are still inside the project), so
a refusal changes nothing. Then each existing file gets its new text as one
undo step in the editor (opened if needed), or, without an editor, an atomic
write; new files are created only now, never through a symbolic link.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from app.core.edits.document import Document, Editor
from app.core.edits.paths import resolve_project_path
from app.core.edits.proposal import EditProposal, FileChange
from app.core.errors import QuillpadError
from app.core.text_files import load_text_file, save_text_atomic


class StaleEditError(QuillpadError):
    """A file changed after the edit was proposed."""


@dataclass(frozen=True)
class AppliedChange:
    """What happened to one file."""

    key: str
    path: Path | None
    created: bool
    hunks: int


@dataclass(frozen=True)
class _Step:
    change: FileChange
    text: str
    hunks: int
    document: Document | None


def _chosen(change: FileChange, accepted: Iterable[int]) -> set[int]:
    valid = {hunk.index for hunk in change.hunks}
    return valid.intersection(accepted)


def _check_existing(change: FileChange, editor: Editor | None) -> Document | None:
    document = change.document
    if document is None and editor is not None and change.path is not None:
        document = editor.find(change.path)
    if document is not None:
        if document.text() != change.original:
            raise StaleEditError(f"{change.key} changed after the edit was proposed; ask for the edit again.")
        return document
    if change.path is None:
        raise StaleEditError(f"{change.key} is no longer open; ask for the edit again.")
    if load_text_file(change.path).text != change.original:
        raise StaleEditError(f"{change.key} changed on disk after the edit was proposed; ask for the edit again.")
    return None


def _check_new(change: FileChange, root: Path | None) -> None:
    if root is None or change.path is None:
        raise QuillpadError(f"{change.key} cannot be created without a project folder; open one first.")
    found = resolve_project_path(change.key, root)
    if found.path != change.path or os.path.lexists(found.path):
        raise StaleEditError(f"{change.key} appeared after the edit was proposed; nothing was written to it.")


def create_new_file(path: Path, text: str, root: Path) -> None:
    """Create ``path`` with ``text``; never follows a link and never overwrites."""
    real_root = Path(os.path.realpath(root))
    missing = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir()
        if real_root not in Path(os.path.realpath(created)).parents:
            raise QuillpadError(f"The folder {created} is outside the project; the new file was not created.")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags, 0o666)
    except FileExistsError:
        raise StaleEditError(f"{path.name} appeared after the edit was proposed; nothing was written to it.") from None
    except OSError as err:
        message = f"{path.name} could not be created ({err.strerror}); check the folder's permissions."
        raise QuillpadError(message) from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(text.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def apply_proposal(
    proposal: EditProposal, accepted: Mapping[str, Iterable[int]], editor: Editor | None = None
) -> tuple[AppliedChange, ...]:
    """Apply the ``accepted`` hunks (by file key); files with none are left alone.

    With an ``editor`` each changed file becomes one undo step in its
    document; without one (headless), files are written directly.
    """
    steps: list[_Step] = []
    for change in proposal.changes:
        chosen = _chosen(change, accepted.get(change.key, ()))
        if not chosen:
            continue
        if change.is_new:
            _check_new(change, proposal.root)
            steps.append(_Step(change, change.result(chosen), len(chosen), None))
        else:
            document = _check_existing(change, editor)
            steps.append(_Step(change, change.result(chosen), len(chosen), document))
    applied = []
    for step in steps:
        change = step.change
        if change.is_new:
            assert change.path is not None and proposal.root is not None
            create_new_file(change.path, step.text, proposal.root)
            if editor is not None:
                editor.open(change.path)
        else:
            document = step.document
            if document is None and editor is not None and change.path is not None:
                document = editor.open(change.path)
                if document.text() != change.original:
                    raise StaleEditError(f"{change.key} changed after the edit was proposed; ask for the edit again.")
            if document is not None:
                document.apply_edit(step.text)
            else:
                assert change.path is not None
                save_text_atomic(change.path, step.text)
        applied.append(AppliedChange(change.key, change.path, change.is_new, step.hunks))
    return tuple(applied)
