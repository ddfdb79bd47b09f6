"""Crash-safe drafts of unsaved editor buffers.

While a buffer has unsaved changes the editor writes it here every few
seconds (one JSON file per buffer, written atomically), and removes the file
once the buffer is saved or closed on purpose. Whatever is left when the app
starts again was left by a crash or a killed process and can be restored.

Each draft records the process that wrote it, so a second Quillpad running at
the same time does not offer to "restore" the first one's live buffers.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from app.core.paths import AppPaths

log = logging.getLogger(__name__)

DRAFT_VERSION = 1
_SAFE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Draft:
    """One unsaved buffer as it was last written to the drafts folder."""

    key: str  # the buffer's identity, stable while it is open
    path: str | None  # the file the buffer belongs to; None for an untitled buffer
    title: str
    text: str
    saved_at: float  # time.time() of the write
    pid: int = 0  # the process that wrote it (0: unknown)
    process_started: float = 0.0  # that process's start time, to tell a reused pid apart


def drafts_folder(paths: AppPaths) -> Path:
    """Where the editor's drafts live: ``drafts/`` in the data folder."""
    return paths.data_dir / "drafts"


def _process_start(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


_OWN_START = _process_start(os.getpid()) or 0.0


def _writer_is_running(draft: Draft) -> bool:
    """True when another, still running process owns ``draft``."""
    if draft.pid <= 0 or draft.pid == os.getpid():
        return False
    started = _process_start(draft.pid)
    # A different start time means the pid now belongs to an unrelated process.
    return started is not None and abs(started - draft.process_started) < 1.0


def _parse(data: Any) -> Draft:
    if not isinstance(data, dict) or data.get("version") != DRAFT_VERSION:
        raise ValueError("not a version-1 draft")
    key, path, title, text = data.get("key"), data.get("path"), data.get("title"), data.get("text")
    saved_at, pid, started = data.get("saved_at"), data.get("pid", 0), data.get("process_started", 0.0)
    if not (isinstance(key, str) and isinstance(title, str) and isinstance(text, str)):
        raise ValueError("key, title and text must be strings")
    if path is not None and not isinstance(path, str):
        raise ValueError("path must be a string or null")
    if not isinstance(saved_at, (int, float)) or not isinstance(pid, int) or not isinstance(started, (int, float)):
        raise ValueError("saved_at, pid and process_started must be numbers")
    return Draft(key, path, title, text, float(saved_at), pid, float(started))


class DraftStore:
    """Drafts of unsaved buffers, one file per buffer key, in ``folder``.

    Writing never raises: a drafts folder that cannot be written must not
    stop anybody from editing. The failure is logged once and kept in
    ``last_error`` (a sentence for the user) until a write succeeds again.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.last_error: str | None = None

    def _file(self, key: str) -> Path:
        stem = key if _SAFE_KEY.fullmatch(key) else hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return self.folder / f"{stem}.json"

    def save(self, key: str, path: str | None, title: str, text: str) -> None:
        """Write (or replace) the draft for ``key`` atomically."""
        record = {
            "version": DRAFT_VERSION,
            "key": key,
            "path": path,
            "title": title,
            "text": text,
            "saved_at": time.time(),
            "pid": os.getpid(),
            "process_started": _OWN_START,
        }
        target = self._file(key)
        temporary = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except OSError as err:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            message = (
                f"Unsaved text cannot be backed up in {self.folder} ({err.strerror or err}); "
                "save your files, and make that folder writable to be protected against crashes."
            )
            if message != self.last_error:
                log.warning("cannot write draft %s: %s", target, err)
            self.last_error = message
            return
        self.last_error = None

    def remove(self, key: str) -> None:
        """Forget the draft for ``key`` (nothing happens if there is none)."""
        try:
            self._file(key).unlink(missing_ok=True)
        except OSError as err:
            log.warning("cannot remove draft for %s: %s", key, err)

    def list(self) -> list[Draft]:
        """All readable drafts, oldest first; damaged files are skipped (and logged)."""
        try:
            files = sorted(self.folder.glob("*.json"))
        except OSError as err:
            log.warning("cannot list drafts in %s: %s", self.folder, err)
            return []
        drafts = []
        for file in files:
            try:
                drafts.append(_parse(json.loads(file.read_text(encoding="utf-8"))))
            except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                log.warning("skipping damaged draft %s: %s", file, err)
        return sorted(drafts, key=lambda d: d.saved_at)

    def recoverable(self) -> builtins.list[Draft]:
        """Drafts left by a process that is gone (a crash): those not owned by another running Quillpad."""
        return [draft for draft in self.list() if not _writer_is_running(draft)]
