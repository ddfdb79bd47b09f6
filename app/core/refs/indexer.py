"""Building and updating the code-reference index, in the background, with progress.

An update compares what is installed now with what the index holds, by
source key (distribution name and version, or folder) and signature
(location, or a folder's newest mtime): new and changed sources are read
again, vanished ones dropped, the rest left alone. A source is written in
one transaction, so an update stopped half-way (cancelled, or the app
closed) leaves every source either complete or absent. Files that vanish or
change while being read are skipped; the next update sees the difference.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.refs.normalise import language_of, normalise
from app.core.refs.sources import Source, readable_source
from app.core.refs.store import RefStore, encode_lines, now, pack
from app.core.refs.winnow import fingerprints, token_ids

log = logging.getLogger(__name__)

MIN_FILE_TOKENS = 20  # fewer tokens cannot hold a reportable match


@dataclass(frozen=True)
class IndexProgress:
    """Where an update is: sources done of the total, and the one being read."""

    done: int
    total: int
    current: str


@dataclass
class UpdateResult:
    """What an update did."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    files: int = 0
    skipped_files: int = 0
    seconds: float = 0.0
    cancelled: bool = False


class Cancelled(Exception):
    """The caller asked the update to stop."""


def _display_path(path: Path, location: Path) -> str:
    try:
        return path.relative_to(location).as_posix()
    except ValueError:
        return path.name


def index_source(store: RefStore, source: Source, cancelled: Callable[[], bool] = lambda: False) -> tuple[int, int]:
    """Read one source's files and store them; (files stored, files skipped). Raises ``Cancelled``."""
    rows: list[tuple[str, str, int, bytes, bytes]] = []
    prints: list[tuple[int, np.typing.NDArray[np.uint64], np.typing.NDArray[np.int64]]] = []
    skipped = 0
    total_tokens = 0
    for path in source.files():
        if cancelled():
            raise Cancelled
        text = readable_source(path)
        if text is None:
            skipped += 1
            continue
        stream = normalise(text, language_of(path.name))
        if len(stream) < MIN_FILE_TOKENS:
            continue
        ids = token_ids(stream.tokens)
        hashes, positions = fingerprints(ids, store.params)
        rows.append(
            (
                str(path),
                _display_path(path, source.location),
                text.count("\n") + 1,
                pack(ids),
                encode_lines(stream.lines),
            )
        )
        prints.append((len(rows) - 1, hashes, positions))
        total_tokens += len(stream)
    with store.writing() as conn:
        old = conn.execute("SELECT id FROM sources WHERE key = ?", (source.key,)).fetchone()
        if old is not None:
            store.delete_source(conn, int(old[0]))
        cursor = conn.execute(
            "INSERT INTO sources (key, kind, name, version, licence, licence_source, location, signature, files, "
            "tokens, skipped, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source.key,
                source.kind,
                source.name,
                source.version,
                source.licence.name,
                source.licence.source,
                str(source.location),
                source.signature,
                len(rows),
                total_tokens,
                skipped,
                now(),
            ),
        )
        source_id = cursor.lastrowid
        file_ids = []
        for row in rows:
            cursor = conn.execute(
                "INSERT INTO files (source_id, path, display, lines, token_ids, token_lines) VALUES (?, ?, ?, ?, ?, ?)",
                (source_id, *row),
            )
            file_ids.append(cursor.lastrowid)
        for index, hashes, positions in prints:
            file_id = file_ids[index]
            conn.executemany(
                "INSERT OR IGNORE INTO fingerprints (hash, file_id, pos) VALUES (?, ?, ?)",
                zip(hashes.tolist(), [file_id] * len(hashes), positions.tolist(), strict=True),
            )
    return len(rows), skipped


def update_index(
    store: RefStore,
    sources: Iterable[Source],
    *,
    progress: Callable[[IndexProgress], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    full: bool = False,
) -> UpdateResult:
    """Bring the index in line with ``sources``; ``full`` reads every source again."""
    started = time.monotonic()
    result = UpdateResult()
    wanted = list(sources)
    stored = store.sources()
    wanted_keys = {source.key for source in wanted}
    stale = [row for key, row in stored.items() if key not in wanted_keys]
    todo = [
        source
        for source in wanted
        if full or source.key not in stored or stored[source.key].signature != source.signature
    ]
    result.unchanged = len(wanted) - len(todo)
    for row in stale:
        with store.writing() as conn:
            store.delete_source(conn, row.id)
        result.removed.append(row.key)
    total = len(todo)
    try:
        for done, source in enumerate(todo):
            if cancelled():
                raise Cancelled
            if progress is not None:
                progress(IndexProgress(done, total, f"{source.name} {source.version}".strip()))
            try:
                stored_files, skipped = index_source(store, source, cancelled)
            except (OSError, ValueError, UnicodeError, RecursionError, MemoryError) as err:
                # One unreadable package must not stop the rest.
                log.warning("could not index %s: %s", source.key, err)
                continue
            result.added.append(source.key)
            result.files += stored_files
            result.skipped_files += skipped
    except Cancelled:
        result.cancelled = True
    if result.added or result.removed:
        try:
            store.refresh_common()
        except sqlite3.Error as err:
            log.warning("could not recompute common fingerprints: %s", err)
    result.seconds = time.monotonic() - started
    if not result.cancelled:
        store.set_meta("built_at", str(now()))
        if result.added:  # the time of the last update that read something
            store.set_meta("build_seconds", f"{result.seconds:.3f}")
    if progress is not None:
        progress(IndexProgress(total, total, ""))
    return result
