"""The git side of applying an AI edit: a checkpoint just before, an optional commit just after."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from app.core.edits.commit import AppliedChange
from app.core.edits.proposal import EditProposal
from app.core.git.checkpoints import Buffers, Checkpoint, CheckpointStore
from app.core.git.commits import commit_paths
from app.core.git.provenance import auto_commit_message
from app.core.git.repository import GitRepo


def affected_paths(proposal: EditProposal, accepted: Mapping[str, Iterable[int]]) -> list[Path]:
    """The files on disk that applying ``accepted`` would change or create."""
    paths = []
    for change in proposal.changes:
        valid = {hunk.index for hunk in change.hunks}
        if change.path is not None and valid.intersection(accepted.get(change.key, ())):
            paths.append(change.path)
    return paths


def label_for(paths: Sequence[Path], root: Path) -> str:
    """``"AI edit of app.py, lib/util.py"``."""
    names = []
    for path in paths[:3]:
        try:
            names.append(path.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            names.append(path.name)
    more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    return f"AI edit of {', '.join(names)}{more}"


def checkpoint_before_apply(
    store: CheckpointStore,
    proposal: EditProposal,
    accepted: Mapping[str, Iterable[int]],
    model: str | None,
    buffers: Buffers | None = None,
) -> Checkpoint | None:
    """Record the files ``accepted`` would touch; None when it touches none on disk (unsaved buffers only).

    ``buffers``: the unsaved editor texts of open files; those of the touched files are kept with the checkpoint.
    """
    paths = affected_paths(proposal, accepted)
    if not paths:
        return None
    return store.record(paths, label_for(paths, store.root), model=model, buffers=buffers)


def commit_applied(repo: GitRepo, applied: Sequence[AppliedChange], trailer: str) -> str | None:
    """Commit the files of an applied AI edit (as they are on disk) with the provenance ``trailer``."""
    paths = [change.path for change in applied if change.path is not None]
    if not paths:
        return None
    keys = [change.key for change in applied if change.path is not None]
    return commit_paths(repo, paths, auto_commit_message(keys, "", trailer))
