"""Saved engine states, so no prompt is processed twice (runs in the engine worker).

After each reply the worker hands the KV cache's state and the tokens it
covers to a ``StateCache``: kept in RAM (least recently used evicted beyond
the RAM budget) and written to disk by a background thread (least recently
used files removed beyond the disk budget; a budget of 0 writes nothing).
Before a reply, the cached state sharing the longest prefix with the new
prompt is restored when it beats what the live KV cache already holds: so
switching conversations, reloading the model or reopening the app costs only
the new turn. A conversation's newer state replaces its older one (the new
tokens extend the old ones), so there is about one state per conversation.

Disk states carry a ``StateIdentity`` (model file sha256, llama.cpp build,
context size, KV settings); a file that does not match or is damaged is
skipped with a log line and the prompt recomputed (``state_files``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.engine.state_files import (
    SUFFIX,
    StateFileError,
    StateIdentity,
    identity_mismatch,
    read_header,
    read_state_file,
    write_state_file,
)
from app.core.priority import lower_this_thread_priority

Log = Callable[[str], None]
HASHES_FILE = "model-sha256.json"
# A saved state is worth restoring only if it saves at least this many
# tokens over what the live KV cache already holds.
MIN_GAIN_TOKENS = 16


def _common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


def model_sha256(path: Path, cache_folder: Path | None) -> str:
    """The model file's sha256, remembered by path, size and modification time."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    known: dict[str, str] = {}
    hashes = cache_folder / HASHES_FILE if cache_folder else None
    if hashes is not None and hashes.exists():
        try:
            known = json.loads(hashes.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        if isinstance(known, dict) and isinstance(known.get(key), str):
            return known[key]
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while chunk := src.read(1 << 22):
            digest.update(chunk)
    value = digest.hexdigest()
    if hashes is not None:
        known = known if isinstance(known, dict) else {}
        known[key] = value
        try:
            tmp = hashes.with_name(hashes.name + ".tmp")
            tmp.write_text(json.dumps(known), encoding="utf-8")
            os.replace(tmp, hashes)
        except OSError:
            pass  # only a cache of hashes: computed again next time
    return value


@dataclass
class _Entry:
    tokens: np.ndarray
    payload: bytes | None  # None: only on disk
    path: Path | None = None
    disk_bytes: int = 0


@dataclass(frozen=True)
class CacheConfig:
    """Where states go and how much room they may take (bytes; 0 turns that level off)."""

    folder: Path | None
    ram_bytes: int
    disk_bytes: int


class StateCache:
    """RAM and disk levels of saved states for one loaded model."""

    def __init__(self, config: CacheConfig, identity: Callable[[], StateIdentity | None], log: Log) -> None:
        self.config = config
        self._identity = identity  # None until the model's hash is known
        self._log = log
        self._lock = threading.Lock()
        self._ram: OrderedDict[bytes, _Entry] = OrderedDict()  # least recently used first
        self._disk: dict[Path, _Entry] | None = None  # scanned on first need
        self._queue: queue.Queue[tuple[bytes, np.ndarray, bytes] | None] = queue.Queue()
        self._notices: list[str] = []
        self._disk_failed = False
        self._writer: threading.Thread | None = None
        if config.folder is not None and config.disk_bytes > 0:
            self._remove_stale_parts(config.folder)
            self._writer = threading.Thread(target=self._write_loop, name="state-writer", daemon=True)
            self._writer.start()

    @staticmethod
    def _remove_stale_parts(folder: Path) -> None:
        """Partial files of a write cut short (the app killed while writing), after an hour."""
        if not folder.is_dir():
            return
        for part in folder.glob(f"*{SUFFIX}.part"):
            try:
                if time.time() - part.lstat().st_mtime > 3600:
                    part.unlink()
            except OSError:
                pass

    # -- lookups --------------------------------------------------------------

    def best(self, prompt: list[int], live_prefix: int, whole_only: bool) -> tuple[np.ndarray, bytes] | None:
        """The saved state to restore for ``prompt``, or None.

        It must share at least ``MIN_GAIN_TOKENS`` more prompt tokens than
        the live cache (``live_prefix``). ``whole_only``: its tokens must all
        be a prefix of the prompt (recurrent and hybrid models cannot cut a
        state short).
        """
        want = np.asarray(prompt, dtype=np.intc)
        candidates: list[tuple[int, bytes | Path, _Entry]] = []
        with self._lock:
            for key, entry in self._ram.items():
                candidates.append((self._usable(entry.tokens, want, whole_only), key, entry))
            for path, entry in (self._scan() or {}).items():
                candidates.append((self._usable(entry.tokens, want, whole_only), path, entry))
        candidates.sort(key=lambda c: c[0], reverse=True)
        for shared, where, entry in candidates:
            if shared < live_prefix + MIN_GAIN_TOKENS:
                return None
            if isinstance(where, bytes):
                with self._lock:
                    if where in self._ram:
                        self._ram.move_to_end(where)
                assert entry.payload is not None
                return entry.tokens, entry.payload
            loaded = self._load_file(where)
            if loaded is not None:
                return loaded
        return None

    def shared_prefix(self, prompt: list[int], whole_only: bool) -> int:
        """The most leading tokens of ``prompt`` any saved state covers (nothing is loaded)."""
        want = np.asarray(prompt, dtype=np.intc)
        with self._lock:
            entries = [*self._ram.values(), *(self._scan() or {}).values()]
        return max((self._usable(entry.tokens, want, whole_only) for entry in entries), default=0)

    @staticmethod
    def _usable(tokens: np.ndarray, want: np.ndarray, whole_only: bool) -> int:
        shared = _common_prefix(tokens, want)
        if whole_only and shared < len(tokens):
            return 0
        return shared

    def _load_file(self, path: Path) -> tuple[np.ndarray, bytes] | None:
        identity = self._identity()
        if identity is None:
            return None
        try:
            tokens, payload = read_state_file(path, identity)
        except StateFileError as err:
            self._log(f"saved state {path.name} ignored, the prompt is computed again: {err}")
            with self._lock:
                if self._disk is not None:
                    self._disk.pop(path, None)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently used is by modification time
        return tokens, payload

    def _scan(self) -> dict[Path, _Entry] | None:
        """Disk entries written for this model (read once, then kept up to date). Holds the lock."""
        if self._disk is not None:
            return self._disk
        folder = self.config.folder
        identity = self._identity()
        if folder is None or identity is None or not folder.is_dir():
            return None
        found: dict[Path, _Entry] = {}
        for path in folder.glob(f"*{SUFFIX}"):
            try:
                header, tokens, _offset = read_header(path)
            except StateFileError as err:
                self._log(f"saved state {path.name} ignored: {err}")
                continue
            mismatch = identity_mismatch(header.identity, identity)
            if mismatch is None:
                found[path] = _Entry(tokens, None, path, path.stat().st_size)
            else:
                self._log(f"saved state {path.name} ignored: {mismatch}")
        self._disk = found
        return found

    # -- saving ---------------------------------------------------------------

    def remember(self, tokens: np.ndarray, payload: bytes) -> None:
        """Keep the state after a reply; replaces the states it extends (the same conversation's older ones)."""
        tokens = np.array(tokens, dtype=np.intc)
        key = hashlib.sha256(tokens.tobytes()).digest()
        with self._lock:
            for old_key in [k for k, e in self._ram.items() if _common_prefix(e.tokens, tokens) == len(e.tokens)]:
                del self._ram[old_key]
            if self.config.ram_bytes > 0 and len(payload) <= self.config.ram_bytes:
                self._ram[key] = _Entry(tokens, payload)
                self._ram.move_to_end(key)
                while sum(len(e.payload or b"") for e in self._ram.values()) > self.config.ram_bytes:
                    self._ram.popitem(last=False)
        if self._writer is not None and not self._disk_failed:
            self._queue.put((key, tokens, payload))

    def _write_loop(self) -> None:
        lower_this_thread_priority()  # a ~300 MB write must not slow the next reply's decoding
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._write(*job)
            finally:
                self._queue.task_done()

    def _write(self, key: bytes, tokens: np.ndarray, payload: bytes) -> None:
        folder = self.config.folder
        assert folder is not None
        while (identity := self._identity()) is None:
            if self._disk_failed:
                return
            time.sleep(0.05)  # the model's hash is still being computed
        name = hashlib.sha256(identity.key().encode() + key).hexdigest()[:32] + SUFFIX
        path = folder / name
        if self.config.disk_bytes < len(payload):
            return  # could never fit
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._make_room(folder, len(payload))
            size = write_state_file(path, identity, tokens, payload)
        except OSError as err:
            self.disable_disk(err)
            return
        with self._lock:
            disk = self._scan()
            if disk is not None:
                for old in [p for p, e in disk.items() if _common_prefix(e.tokens, tokens) == len(e.tokens)]:
                    if old != path:
                        old.unlink(missing_ok=True)
                        del disk[old]
                disk[path] = _Entry(tokens, None, path, size)
        self._make_room(folder, 0)

    def _make_room(self, folder: Path, incoming: int) -> None:
        """Remove the least recently used state files until ``incoming`` more bytes fit the budget."""
        files = []
        for path in folder.glob(f"*{SUFFIX}"):
            try:
                stat = path.stat()
            except OSError:
                continue
            files.append((stat.st_mtime, path, stat.st_size))
        files.sort()
        total = sum(size for _m, _p, size in files)
        for _mtime, path, size in files:
            if total + incoming <= self.config.disk_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            with self._lock:
                if self._disk is not None:
                    self._disk.pop(path, None)

    def disable_disk(self, err: OSError) -> None:
        """Stop writing for this session after a failure, with one notice for the user."""
        if self._disk_failed:
            return
        self._disk_failed = True
        message = (
            f"Saved chat states could not be written to {self.config.folder} ({err.strerror or err}); "
            "replies still work, but reopening a chat will read it again. Free some disk space."
        )
        self._log(message)
        with self._lock:
            self._notices.append(message)

    def take_notices(self) -> list[str]:
        """Notices for the user since the last call (a failed disk write)."""
        with self._lock:
            notices, self._notices = self._notices, []
        return notices

    def flush(self) -> None:
        """Wait until every queued state is on disk (or abandoned)."""
        if self._writer is not None:
            self._queue.join()

    def close(self) -> None:
        """Finish queued writes and end the writer thread."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
