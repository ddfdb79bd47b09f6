"""The code-reference index on disk: one SQLite file of sources, files and fingerprints.

Tables: ``sources`` (a distribution or folder: name, version, licence, the
signature that says when to read it again), ``files`` (each file's path,
line count and its normalised tokens, compressed, to measure a match
exactly) and ``fingerprints`` (hash, file, token position; clustered by hash
so a lookup is one B-tree descent). ``common`` holds hashes found in so many
files that they say nothing (boilerplate), recomputed after every update.

The index is a cache of what is on disk: a damaged file, or one written with
other parameters, is replaced by an empty one and ``notice`` says so.
Writes go through one connection and reads through another (WAL), each
behind a lock, so checks stay quick while the index is being updated.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.errors import QuillpadError
from app.core.refs.normalise import NORMALISATION_VERSION
from app.core.refs.winnow import Winnowing

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TOKEN_CACHE_FILES = 64
COMMON_FILES = 12  # a hash in more files than this is boilerplate, not evidence
DAMAGED_NOTICE = "The code-reference index was damaged, so it was cleared and will be rebuilt."

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        licence TEXT,
        licence_source TEXT,
        location TEXT NOT NULL,
        signature TEXT NOT NULL,
        files INTEGER NOT NULL DEFAULT 0,
        tokens INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        indexed_at REAL NOT NULL
    )""",
    """CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        display TEXT NOT NULL,
        lines INTEGER NOT NULL,
        token_ids BLOB NOT NULL,
        token_lines BLOB NOT NULL
    )""",
    "CREATE INDEX files_by_source ON files(source_id)",
    """CREATE TABLE fingerprints (
        hash INTEGER NOT NULL,
        file_id INTEGER NOT NULL,
        pos INTEGER NOT NULL,
        PRIMARY KEY (hash, file_id, pos)
    ) WITHOUT ROWID""",
    "CREATE TABLE common (hash INTEGER PRIMARY KEY)",
)


class RefIndexError(QuillpadError):
    """The index file cannot be opened or written at all."""


@dataclass(frozen=True)
class SourceRow:
    """A source as stored."""

    id: int
    key: str
    kind: str
    name: str
    version: str
    licence: str | None
    licence_source: str | None
    location: str
    signature: str
    files: int
    tokens: int
    skipped: int
    indexed_at: float


@dataclass(frozen=True)
class FileRow:
    """A stored file and the source it belongs to, for reporting a match."""

    id: int
    path: str
    display: str
    lines: int
    source: SourceRow


@dataclass(frozen=True)
class IndexStats:
    """What the index holds and how big it is."""

    sources: int
    files: int
    tokens: int
    fingerprints: int
    size_bytes: int
    built_at: float | None
    build_seconds: float | None


def pack(array: npt.NDArray[Any]) -> bytes:
    """Compress token ids or line numbers for storage."""
    return zlib.compress(np.ascontiguousarray(array, dtype=np.uint32).tobytes(), 1)


def unpack(blob: bytes) -> npt.NDArray[np.uint32]:
    """The inverse of ``pack``."""
    return np.frombuffer(zlib.decompress(blob), dtype=np.uint32)


def encode_lines(lines: Sequence[int]) -> bytes:
    """Line numbers per token, as differences (mostly 0 and 1, so they compress well)."""
    values = np.asarray(lines, dtype=np.int64)
    deltas = np.diff(values, prepend=0).clip(0).astype(np.uint32)
    return pack(deltas)


def decode_lines(blob: bytes) -> npt.NDArray[np.int64]:
    """The inverse of ``encode_lines``."""
    return np.cumsum(unpack(blob).astype(np.int64))


def _connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class RefStore:
    """The SQLite file; safe to use from any thread."""

    def __init__(self, path: Path | str | None, params: Winnowing) -> None:
        self.path = Path(path) if path is not None else None
        self.params = params
        self.notice: str | None = None
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        # Decompressed token streams of recently matched files: the same few files come up again and again.
        self._token_cache: OrderedDict[int, npt.NDArray[np.uint32]] = OrderedDict()
        try:
            self._open()
        except sqlite3.DatabaseError as err:
            log.warning("code-reference index %s unusable (%s); starting a new one", self.path, err)
            self._discard()
            self._open()
            self.notice = DAMAGED_NOTICE

    # -- opening --------------------------------------------------------------

    def _open(self) -> None:
        if self.path is None:
            # Shared-cache memory database, so the reader sees the writer's data.
            uri = f"file:refs-{id(self)}?mode=memory&cache=shared"
            self._writer = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._reader = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._writer.execute("PRAGMA foreign_keys = ON")
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise RefIndexError(f"Cannot create the folder for the code-reference index: {err}") from err
            self._writer = _connect(self.path)
            self._writer.execute("PRAGMA journal_mode = WAL")
            self._reader = _connect(self.path)
        try:
            self._prepare()
        except BaseException:
            self._writer.close()
            self._reader.close()
            raise

    def _prepare(self) -> None:
        conn = self._writer
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        wanted = {
            "schema": str(SCHEMA_VERSION),
            "normalisation": str(NORMALISATION_VERSION),
            "k": str(self.params.k),
            "w": str(self.params.w),
        }
        if tables:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
            if all(meta.get(key) == value for key, value in wanted.items()):
                conn.execute("SELECT count(*) FROM sources").fetchone()
                return
            log.info("code-reference index has other parameters (%s); starting again", meta)
            for table in ("fingerprints", "files", "sources", "common", "meta"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
        with conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", list(wanted.items()))

    def _discard(self) -> None:
        if self.path is None:
            return
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(str(self.path) + suffix).unlink()

    def reset(self, notice: str = DAMAGED_NOTICE) -> None:
        """Throw the file away and start an empty index (after damage found while in use)."""
        with self._write_lock, self._read_lock:
            self.close_connections()
            self._discard()
            self._open()
            self.notice = notice

    def forget_cached(self) -> None:
        """Drop what was read into memory (another process has changed the file)."""
        with self._read_lock:
            self._token_cache.clear()

    def close_connections(self) -> None:
        for conn in (self._writer, self._reader):
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def close(self) -> None:
        """Close both connections."""
        with self._write_lock, self._read_lock:
            self.close_connections()

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """The write connection inside one transaction."""
        with self._write_lock, self._writer:
            with self._read_lock:
                self._token_cache.clear()  # file ids may be reused after a delete
            yield self._writer

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The read connection."""
        with self._read_lock:
            yield self._reader

    # -- sources --------------------------------------------------------------

    def sources(self) -> dict[str, SourceRow]:
        """Every stored source by key."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT id, key, kind, name, version, licence, licence_source, location, signature, files, tokens, "
                "skipped, indexed_at FROM sources"
            ).fetchall()
        return {row[1]: SourceRow(*row) for row in rows}

    def delete_source(self, conn: sqlite3.Connection, source_id: int) -> None:
        """Remove a source, its files and their fingerprints (inside ``writing()``)."""
        file_ids = [row[0] for row in conn.execute("SELECT id FROM files WHERE source_id = ?", (source_id,))]
        for file_id in file_ids:
            self._delete_fingerprints(conn, file_id)
        conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))

    def _delete_fingerprints(self, conn: sqlite3.Connection, file_id: int) -> None:
        # The hashes are recomputed from the stored tokens: no second index on file_id to keep.
        from app.core.refs.winnow import fingerprints

        (blob,) = conn.execute("SELECT token_ids FROM files WHERE id = ?", (file_id,)).fetchone()
        hashes, positions = fingerprints(unpack(blob).astype(np.uint64), self.params)
        conn.executemany(
            "DELETE FROM fingerprints WHERE hash = ? AND file_id = ? AND pos = ?",
            ((int(h), file_id, int(p)) for h, p in zip(hashes, positions, strict=True)),
        )

    def refresh_common(self) -> None:
        """Recompute which hashes are too common to count as evidence."""
        with self.writing() as conn:
            conn.execute("DELETE FROM common")
            conn.execute(
                "INSERT INTO common (hash) SELECT hash FROM fingerprints GROUP BY hash HAVING count(*) > ?",
                (COMMON_FILES,),
            )

    def set_meta(self, key: str, value: str) -> None:
        with self.writing() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- lookups --------------------------------------------------------------

    def lookup(self, hashes: Sequence[int], limit_per_hash: int = COMMON_FILES) -> list[tuple[int, int, int]]:
        """(hash, file id, position) for every stored fingerprint among ``hashes``, common ones left out."""
        if not hashes:
            return []
        with self.reading() as conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (hash INTEGER PRIMARY KEY)")
            conn.execute("DELETE FROM wanted")
            conn.executemany("INSERT OR IGNORE INTO wanted (hash) VALUES (?)", ((h,) for h in hashes))
            rows = conn.execute(
                # CROSS JOIN keeps SQLite from scanning every fingerprint to probe the few wanted.
                "SELECT f.hash, f.file_id, f.pos FROM wanted w CROSS JOIN fingerprints f ON f.hash = w.hash "
                "WHERE w.hash NOT IN (SELECT hash FROM common)"
            ).fetchall()
            conn.execute("DELETE FROM wanted")
            conn.commit()
        counts: dict[int, int] = {}
        for row in rows:
            counts[row[0]] = counts.get(row[0], 0) + 1
        # Until ``common`` is recomputed, new boilerplate is caught here.
        return [row for row in rows if counts[row[0]] <= limit_per_hash]

    def files(self, file_ids: Sequence[int]) -> dict[int, FileRow]:
        """Stored files with their sources."""
        if not file_ids:
            return {}
        marks = ",".join("?" * len(file_ids))
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT f.id, f.path, f.display, f.lines, s.id, s.key, s.kind, s.name, s.version, s.licence, "
                "s.licence_source, s.location, s.signature, s.files, s.tokens, s.skipped, s.indexed_at "
                f"FROM files f JOIN sources s ON s.id = f.source_id WHERE f.id IN ({marks})",
                list(file_ids),
            ).fetchall()
        return {row[0]: FileRow(row[0], row[1], row[2], row[3], SourceRow(*row[4:])) for row in rows}

    def tokens(self, file_id: int) -> npt.NDArray[np.uint32] | None:
        """A stored file's token ids."""
        with self.reading() as conn:
            cached = self._token_cache.get(file_id)
            if cached is not None:
                self._token_cache.move_to_end(file_id)
                return cached
            row = conn.execute("SELECT token_ids FROM files WHERE id = ?", (file_id,)).fetchone()
            if row is None:
                return None
            tokens = unpack(row[0])
            self._token_cache[file_id] = tokens
            if len(self._token_cache) > TOKEN_CACHE_FILES:
                self._token_cache.popitem(last=False)
            return tokens

    def token_lines(self, file_id: int) -> npt.NDArray[np.int64] | None:
        """The line each of a stored file's tokens starts on."""
        with self.reading() as conn:
            row = conn.execute("SELECT token_lines FROM files WHERE id = ?", (file_id,)).fetchone()
        return None if row is None else decode_lines(row[0])

    def stats(self) -> IndexStats:
        """Counts and the file's size."""
        with self.reading() as conn:
            sources, files, tokens = conn.execute(
                "SELECT count(*), coalesce(sum(files), 0), coalesce(sum(tokens), 0) FROM sources"
            ).fetchone()
            (fps,) = conn.execute("SELECT count(*) FROM fingerprints").fetchone()
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        size = 0
        if self.path is not None:
            for suffix in ("", "-wal"):
                with contextlib.suppress(OSError):
                    size += Path(str(self.path) + suffix).stat().st_size
        built = meta.get("built_at")
        seconds = meta.get("build_seconds")
        return IndexStats(
            sources=int(sources),
            files=int(files),
            tokens=int(tokens),
            fingerprints=int(fps),
            size_bytes=size,
            built_at=float(built) if built else None,
            build_seconds=float(seconds) if seconds else None,
        )


def now() -> float:
    """Wall-clock time for ``indexed_at`` (a function, so tests can read it plainly)."""
    return time.time()
