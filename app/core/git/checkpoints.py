"""Checkpoints of files before the model edits them, and exact undo.

Before an AI edit is applied, ``CheckpointStore.record`` saves each affected
file's bytes and mode, or the fact that it did not exist (and which of its
folders did not either). ``undo_last`` and ``restore`` put them back exactly:
contents byte for byte, the executable bit, files the model created deleted
again with the folders made for them. An undo first checkpoints what it is
about to overwrite, so it loses nothing either.

Files open in the editor with unsaved changes are recorded twice: the bytes
on disk (restored exactly) and the tab's text (``buffers``), which an undo
hands back so the tab shows what the user had typed before the AI edit.

Where the checkpoints live:

- in a git repository, in the repository's own object database: one commit
  per checkpoint on the hidden ref ``refs/quillpad/checkpoints`` (its tree
  holds ``manifest.json``, the files' previous contents under ``files/`` and
  unsaved editor texts under ``buffers/``),
  built with plumbing commands and a temporary index file, so the user's
  index, stash, branches and working tree are never touched, and the
  history survives closing the app (and ``git gc``, since a ref holds it);
- in a folder that is not a repository (or without git), under the app's
  data folder: ``checkpoints/<hash of the folder>/`` with content-addressed
  blobs and one JSON manifest per checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, Literal, Protocol

from app.core.errors import QuillpadError
from app.core.git.gitcmd import git_available
from app.core.git.repository import GitRepo, find_repository

CHECKPOINT_REF = "refs/quillpad/checkpoints"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Quillpad",
    "GIT_AUTHOR_EMAIL": "quillpad@localhost",
    "GIT_COMMITTER_NAME": "Quillpad",
    "GIT_COMMITTER_EMAIL": "quillpad@localhost",
}
CheckpointKind = Literal["ai", "undo"]
# Unsaved editor texts by file path. A union of two mappings, not Mapping[str | Path, str]:
# a Mapping is invariant in its key, so the editor's dict[str, str] would not fit that.
Buffers = Mapping[str, str] | Mapping[Path, str]


class CheckpointError(QuillpadError):
    """A checkpoint could not be recorded or restored."""


@dataclass(frozen=True)
class FileState:
    """One file as it was: its content's key and mode, or absent (with the folders that were absent too)."""

    path: str  # relative to the store's root, forward slashes
    blob: str | None  # None: the file did not exist
    mode: int = 0o644
    missing_dirs: tuple[str, ...] = ()  # folders that did not exist either, deepest first
    buffer: str | None = None  # key of the unsaved editor text (UTF-8) the file's tab held, if it had any

    @property
    def existed(self) -> bool:
        return self.blob is not None


@dataclass(frozen=True)
class Checkpoint:
    """The state of some files just before one change."""

    id: str
    created: float
    label: str
    kind: CheckpointKind
    files: tuple[FileState, ...]
    model: str | None = None
    undoes: tuple[str, ...] = ()  # for an undo: the checkpoints it took back

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)


@dataclass(frozen=True)
class AIChange:
    """An AI change as the list shows it."""

    checkpoint: Checkpoint
    undone: bool


@dataclass(frozen=True)
class RestoreResult:
    """What an undo did."""

    undone: tuple[str, ...]  # checkpoint ids taken back
    restored: tuple[str, ...] = ()  # files written back
    deleted: tuple[str, ...] = ()  # files the model had created
    safety: str | None = None  # the checkpoint of what the undo overwrote
    buffers: Mapping[str, str] = field(default_factory=dict)  # path -> unsaved editor text to put back in its tab

    @property
    def changed(self) -> tuple[str, ...]:
        return self.restored + self.deleted


class _Backend(Protocol):
    def put(self, data: bytes) -> str: ...

    def put_files(self, paths: Sequence[Path]) -> list[str]: ...

    def get(self, key: str) -> bytes: ...

    def append(self, manifest: dict[str, Any], files: dict[str, str], buffers: dict[str, str]) -> str: ...

    def manifests(self) -> list[tuple[str, dict[str, Any]]]: ...


class GitBackend:
    """Objects in the repository; a commit per checkpoint on ``CHECKPOINT_REF``."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo

    def put(self, data: bytes) -> str:
        from gitdb.base import IStream

        with self.repo.objects_lock:
            stored = self.repo.repo.odb.store(IStream(b"blob", len(data), BytesIO(data)))
        return str(stored.hexsha.decode() if isinstance(stored.hexsha, bytes) else stored.hexsha)

    def put_files(self, paths: Sequence[Path]) -> list[str]:
        # One git process for many files; --no-filters stores the bytes on disk exactly.
        keys: list[str] = []
        for start in range(0, len(paths), 500):
            chunk = [str(p) for p in paths[start : start + 500]]
            keys += self.repo.run("Recording a checkpoint", "hash-object", "-w", "--no-filters", "--", *chunk).split()
        if len(keys) != len(paths):
            raise CheckpointError("git did not store every file of the checkpoint; try again.")
        return keys

    def get(self, key: str) -> bytes:
        with self.repo.objects_lock:
            data: bytes = self.repo.repo.odb.stream(bytes.fromhex(key)).read()
        return data

    def _current(self) -> str | None:
        found = self.repo.run("Reading the checkpoints", "for-each-ref", "--format=%(objectname)", CHECKPOINT_REF)
        return found.strip() or None

    def append(self, manifest: dict[str, Any], files: dict[str, str], buffers: dict[str, str]) -> str:
        manifest_blob = self.put(json.dumps(manifest, indent=1, sort_keys=True).encode())
        with tempfile.TemporaryDirectory(prefix="quillpad-checkpoint-") as scratch:
            # A private index: the user's own index is never read or written.
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), **_IDENTITY}
            entries = [f"100644,{manifest_blob},manifest.json"]
            entries += [f"100644,{blob},files/{path}" for path, blob in files.items()]
            # Unsaved editor texts live in the same tree, so the ref keeps them from git gc too.
            entries += [f"100644,{blob},buffers/{path}" for path, blob in buffers.items()]
            for start in range(0, len(entries), 200):
                args = [item for entry in entries[start : start + 200] for item in ("--cacheinfo", entry)]
                self.repo.run("Recording a checkpoint", "update-index", "--add", *args, env=env)
            tree = self.repo.run("Recording a checkpoint", "write-tree", env=env)
        parent = self._current()
        parents = ["-p", parent] if parent else []
        message = f"Quillpad checkpoint: {manifest['label']}"
        commit = self.repo.run("Recording a checkpoint", "commit-tree", tree, *parents, "-m", message, env=_IDENTITY)
        # Compare-and-swap: a concurrent writer makes this fail instead of losing a checkpoint.
        self.repo.run(
            "Recording a checkpoint",
            "update-ref",
            "-m",
            "quillpad checkpoint",
            CHECKPOINT_REF,
            commit,
            parent or "0" * len(commit),
        )
        return commit

    def manifests(self) -> list[tuple[str, dict[str, Any]]]:
        if self._current() is None:
            return []
        ids = self.repo.run("Reading the checkpoints", "rev-list", "--reverse", CHECKPOINT_REF).split()
        found = []
        for commit_id in ids:
            with self.repo.objects_lock:
                blob = self.repo.repo.commit(commit_id).tree / "manifest.json"
                found.append((commit_id, json.loads(blob.data_stream.read())))
        return found


class FolderBackend:
    """Checkpoints of a folder that is not a repository, in the app's data folder."""

    def __init__(self, store_dir: Path) -> None:
        self.dir = store_dir
        self.blobs = store_dir / "blobs"
        self.log = store_dir / "log"

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        target = self.blobs / key[:2] / key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(target, data, 0o644)
        return key

    def put_files(self, paths: Sequence[Path]) -> list[str]:
        return [self.put(path.read_bytes()) for path in paths]

    def get(self, key: str) -> bytes:
        data = (self.blobs / key[:2] / key).read_bytes()
        if hashlib.sha256(data).hexdigest() != key:
            raise CheckpointError(f"A saved copy in {self.dir} is damaged; that checkpoint cannot be restored.")
        return data

    def append(self, manifest: dict[str, Any], files: dict[str, str], buffers: dict[str, str]) -> str:
        self.log.mkdir(parents=True, exist_ok=True)
        existing = sorted(self.log.glob("*.json"))
        number = int(existing[-1].stem) + 1 if existing else 1
        checkpoint_id = f"{number:08d}"
        _write_atomic(self.log / f"{checkpoint_id}.json", json.dumps(manifest, indent=1).encode(), 0o644)
        return checkpoint_id

    def manifests(self) -> list[tuple[str, dict[str, Any]]]:
        if not self.log.is_dir():
            return []
        found = []
        for file in sorted(self.log.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                found.append((file.stem, json.loads(file.read_text(encoding="utf-8"))))
        return found


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def folder_store_dir(folder: Path, data_dir: Path) -> Path:
    """Where the checkpoints of a non-repository ``folder`` are kept."""
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:20]
    return data_dir / "checkpoints" / digest


class CheckpointStore:
    """Checkpoints for the files under ``root``."""

    def __init__(self, root: Path, backend: _Backend) -> None:
        self.root = Path(os.path.realpath(root))
        self.backend = backend

    @classmethod
    def for_folder(cls, folder: str | Path, data_dir: Path) -> CheckpointStore:
        """The repository's store when ``folder`` is in one (and git is installed), else the app's."""
        folder = Path(folder)
        repo = find_repository(folder) if git_available() else None
        if repo is not None:
            return cls(repo.root, GitBackend(repo))
        return cls(folder, FolderBackend(folder_store_dir(folder, data_dir)))

    @property
    def in_repository(self) -> bool:
        return isinstance(self.backend, GitBackend)

    def _relative(self, path: str | Path) -> str:
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        absolute = Path(os.path.realpath(candidate.parent)) / candidate.name
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            raise CheckpointError(f"{path} is outside {self.root}; no checkpoint was recorded for it.") from None

    def _capture_buffers(self, rels: Sequence[str], buffers: Buffers | None) -> dict[str, str]:
        """The keys of the unsaved editor texts of ``rels`` (texts of other files are not recorded)."""
        wanted = set(rels)
        keys: dict[str, str] = {}
        for path, text in (buffers or {}).items():
            try:
                rel = self._relative(path)
            except CheckpointError:
                continue  # a tab of a file outside this folder: no AI edit here touches it
            if rel in wanted:
                keys[rel] = self.backend.put(text.encode("utf-8"))
        return keys

    def _capture(self, rels: Sequence[str]) -> tuple[FileState, ...]:
        existing: list[tuple[str, int]] = []
        states: dict[str, FileState] = {}
        for rel in rels:
            path = self.root / rel
            if os.path.lexists(path):
                if not path.is_file() or path.is_symlink():
                    raise CheckpointError(f"{rel} is not a regular file; Quillpad cannot checkpoint it.")
                existing.append((rel, stat.S_IMODE(path.stat().st_mode)))
                continue
            missing = []
            folder = path.parent
            while folder != self.root and not folder.exists():
                missing.append(folder.relative_to(self.root).as_posix())
                folder = folder.parent
            states[rel] = FileState(rel, None, missing_dirs=tuple(missing))
        keys = self.backend.put_files([self.root / rel for rel, _ in existing]) if existing else []
        for (rel, mode), key in zip(existing, keys, strict=True):
            states[rel] = FileState(rel, key, mode)
        return tuple(states[rel] for rel in rels)

    def record(
        self,
        paths: Sequence[str | Path],
        label: str,
        *,
        model: str | None = None,
        kind: CheckpointKind = "ai",
        undoes: Sequence[str] = (),
        buffers: Buffers | None = None,
    ) -> Checkpoint:
        """Save the current state of ``paths`` (existing or not) as a checkpoint.

        ``buffers`` maps files open in the editor with unsaved changes to their
        text; it is kept with the checkpoint (never in the user's index or
        branches) so an undo can give the tab that text back.
        """
        rels = sorted({self._relative(p) for p in paths})
        if not rels:
            raise CheckpointError("There are no files to checkpoint.")
        try:
            buffer_keys = self._capture_buffers(rels, buffers)
            states = tuple(
                FileState(s.path, s.blob, s.mode, s.missing_dirs, buffer_keys.get(s.path)) for s in self._capture(rels)
            )
        except OSError as err:
            raise CheckpointError(
                f"The checkpoint could not be saved ({err.strerror or err}); free some disk space."
            ) from None
        created = time.time()
        manifest = {
            "version": 1,
            "label": label,
            "kind": kind,
            "created": created,
            "model": model,
            "undoes": list(undoes),
            "files": [
                {
                    "path": s.path,
                    "blob": s.blob,
                    "mode": s.mode,
                    "missing_dirs": list(s.missing_dirs),
                    **({"buffer": s.buffer} if s.buffer is not None else {}),
                }
                for s in states
            ],
        }
        blobs = {s.path: s.blob for s in states if s.blob is not None}
        try:
            checkpoint_id = self.backend.append(manifest, blobs, buffer_keys)
        except OSError as err:
            raise CheckpointError(
                f"The checkpoint could not be saved ({err.strerror or err}); free some disk space."
            ) from None
        return Checkpoint(checkpoint_id, created, label, kind, states, model, tuple(undoes))

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, newest first."""
        found = []
        for checkpoint_id, data in self.backend.manifests():
            files = tuple(
                FileState(
                    f["path"],
                    f.get("blob"),
                    int(f.get("mode", 0o644)),
                    tuple(f.get("missing_dirs", ())),
                    f.get("buffer"),
                )
                for f in data.get("files", [])
            )
            kind: CheckpointKind = "undo" if data.get("kind") == "undo" else "ai"
            found.append(
                Checkpoint(
                    checkpoint_id,
                    float(data.get("created", 0)),
                    str(data.get("label", "")),
                    kind,
                    files,
                    data.get("model"),
                    tuple(data.get("undoes", ())),
                )
            )
        return list(reversed(found))

    def ai_changes(self) -> list[AIChange]:
        """The AI changes, newest first, each marked whether it was undone."""
        everything = self.checkpoints()
        undone = {i for c in everything if c.kind == "undo" for i in c.undoes}
        return [AIChange(c, c.id in undone) for c in everything if c.kind == "ai"]

    def undo_last(self, buffers: Buffers | None = None) -> RestoreResult:
        """Take back the newest AI change that is not undone yet (``buffers``: as for ``restore``)."""
        pending = [change for change in self.ai_changes() if not change.undone]
        if not pending:
            raise CheckpointError("There is no AI change left to undo.")
        return self.restore(pending[0].checkpoint.id, buffers)

    def restore(self, checkpoint_id: str, buffers: Buffers | None = None) -> RestoreResult:
        """Take back the AI change ``checkpoint_id`` and every later one not undone yet.

        Each file goes back to its state before the earliest of those changes
        that touched it. What is overwritten (on disk, and the unsaved editor
        texts in ``buffers``) is checkpointed first. The result names the
        unsaved editor texts the files had before, for their tabs.
        """
        changes = self.ai_changes()
        ids = [c.checkpoint.id for c in changes]
        if checkpoint_id not in ids:
            raise CheckpointError("That AI change is not in this project's checkpoints; refresh the list.")
        position = ids.index(checkpoint_id)
        if changes[position].undone:
            raise CheckpointError("That AI change was already undone.")
        # Newest first up to the target; older states overwrite newer ones.
        batch = [c.checkpoint for c in changes[: position + 1] if not c.undone]
        targets: dict[str, FileState] = {}
        for checkpoint in batch:
            for state in checkpoint.files:
                targets[state.path] = state
        contents = {path: self.backend.get(s.blob) for path, s in targets.items() if s.blob is not None}
        texts = {path: self.backend.get(s.buffer).decode("utf-8") for path, s in targets.items() if s.buffer}
        safety = self.record(
            list(targets),
            f"Before undoing: {batch[-1].label}",
            kind="undo",
            undoes=[c.id for c in batch],
            buffers=buffers,
        )
        restored: list[str] = []
        deleted: list[str] = []
        try:
            self._write_back(targets, contents, restored, deleted)
        except OSError as err:
            done = ", ".join(restored + deleted) or "none"
            raise CheckpointError(
                f"Undo stopped at a file that could not be written ({err.strerror or err}); files restored: {done}. "
                "Fix the problem and undo again."
            ) from None
        return RestoreResult(tuple(c.id for c in batch), tuple(restored), tuple(deleted), safety.id, texts)

    def _write_back(
        self, targets: dict[str, FileState], contents: dict[str, bytes], restored: list[str], deleted: list[str]
    ) -> None:
        for path, state in sorted(targets.items()):
            target = self.root / path
            if state.blob is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_atomic(target, contents[path], state.mode)
                restored.append(path)
            elif os.path.lexists(target):
                target.unlink()
                deleted.append(path)
                for folder in state.missing_dirs:
                    with contextlib.suppress(OSError):
                        (self.root / folder).rmdir()  # only when empty

    def content(self, state: FileState) -> bytes | None:
        """The saved bytes of ``state`` (None for an absent file)."""
        return None if state.blob is None else self.backend.get(state.blob)


__all__ = [
    "CHECKPOINT_REF",
    "AIChange",
    "Checkpoint",
    "CheckpointError",
    "CheckpointStore",
    "FileState",
    "RestoreResult",
]
