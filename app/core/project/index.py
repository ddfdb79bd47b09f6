"""The project index: one SQLite file per project, with FTS5 over the chunks of every text file.

Tables: ``files`` (path, size, mtime, content hash, language, when it was
read), ``chunks`` (line ranges), ``chunk_text`` (an FTS5 table over each
chunk's path, defined names and text, ranked with bm25) and ``symbols`` (the
outline). Deleting a file's row deletes its chunks, their text and its
symbols (foreign keys and a trigger).

The index is a cache of the disk, so anything wrong with the file (damaged,
written by another version) is answered by starting it again. When the
folder cannot be written at all, the index lives in memory for the session
and ``notice`` says so.

Writes go through one connection and reads through another (WAL mode), so
searching stays quick while a big update is being written; each lock makes
its connection safe to use from any thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.project.chunking import Chunk
from app.core.project.errors import ProjectError
from app.core.project.symbols import Symbol

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: imports
# bm25 column weights: a match in a defined name or the path says more than one in the body.
_WEIGHTS = (2.0, 4.0, 1.0)

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        digest TEXT NOT NULL,
        language TEXT,
        lines INTEGER NOT NULL,
        checked_ns INTEGER NOT NULL
    )""",
    """CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL
    )""",
    "CREATE INDEX chunks_by_file ON chunks(file_id)",
    """CREATE TABLE symbols (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        signature TEXT NOT NULL,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL,
        depth INTEGER NOT NULL
    )""",
    "CREATE INDEX symbols_by_file ON symbols(file_id)",
    "CREATE INDEX symbols_by_name ON symbols(name COLLATE NOCASE)",
    """CREATE TABLE imports (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        name TEXT NOT NULL
    )""",
    "CREATE INDEX imports_by_file ON imports(file_id)",
    "CREATE VIRTUAL TABLE chunk_text USING fts5(path, names, body, tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER chunks_deleted AFTER DELETE ON chunks BEGIN DELETE FROM chunk_text WHERE rowid = old.id; END",
)


class IndexUnavailableError(ProjectError):
    """This Python's SQLite cannot hold the index (no FTS5)."""


class _StaleIndexError(Exception):
    """The file is an index of another layout (or not an index at all)."""


@dataclass(frozen=True)
class FileState:
    """What the index knows about a file, to decide whether it must be read again."""

    size: int
    mtime_ns: int
    digest: str
    checked_ns: int  # when it was last read (time.time_ns())


@dataclass(frozen=True)
class FileRecord:
    """Everything indexed for one file."""

    path: str
    size: int
    mtime_ns: int
    digest: str
    language: str | None
    lines: int
    checked_ns: int
    chunks: Sequence[Chunk]
    symbols: Sequence[Symbol]
    imports: Sequence[str] = ()  # dotted names (see ``imports``)


@dataclass(frozen=True)
class SearchHit:
    """One ranked chunk; ``score`` is higher for better matches.

    ``reasons`` say why it was chosen, in words for the user (e.g. "definition of Repo", "named in the
    question", "recently edited", "related by references", "matches the words"); ``definitions`` names the
    definitions the chunk holds that the question asked about (empty when it was found by its words only).
    """

    path: str
    start_line: int
    end_line: int
    text: str
    score: float
    reasons: tuple[str, ...] = ()
    definitions: tuple[str, ...] = ()

    @property
    def is_definition(self) -> bool:
        """Whether the chunk holds a definition the question named."""
        return bool(self.definitions)


@dataclass(frozen=True)
class IndexTotals:
    """Size of the index: text files, chunks, and the files' bytes."""

    files: int
    chunks: int
    bytes: int


def _path_words(path: str) -> str:
    """The path as searchable words: separators, dots and case changes split it."""
    spaced = re.sub(r"[/\\._\-]+", " ", path)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", spaced)


def _name_words(names: str) -> str:
    """Names as written plus their camelCase and snake_case parts, so "file watcher" finds FileWatcher."""
    if not names:
        return ""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|_+", " ", names)
    return names if split == names else f"{names} {split}"


def _cannot_write_notice(folder: Path, reason: str) -> str:
    return (
        f"The project index is kept in memory for this session because {folder} cannot be written ({reason}); "
        "make that folder writable, or set QUILLPAD_DATA_DIR, to keep it between sessions."
    )


class IndexStore:
    """The SQLite index of one project. ``path`` None keeps it in memory."""

    notice: str | None

    def __init__(self, path: Path | None) -> None:
        """Open or create the index at ``path`` (its folder is created), or in memory when it cannot be written."""
        self.path = path
        self.notice = None
        self._write_lock = threading.RLock()
        self._read_lock = self._write_lock
        self._closed = False
        if path is None:
            self._writer = self._reader = self._connect_memory()
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = self._open_file(path)
        except (OSError, sqlite3.Error) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            log.warning("project index %s cannot be written (%s); keeping it in memory", path, reason)
            self.notice = _cannot_write_notice(path.parent, reason)
            self.path = None
            self._writer = self._reader = self._connect_memory()
            return
        self._read_lock = threading.RLock()
        try:
            self._reader = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error:
            self._writer.close()
            raise

    # --- opening ----------------------------------------------------------------------------------------------

    def _connect_memory(self) -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._prepare(conn)
        return conn

    def _open_file(self, path: Path) -> sqlite3.Connection:
        try:
            conn = self._connect_file(path)
        except sqlite3.OperationalError:
            raise  # locked, unwritable, full: not a reason to throw the file away
        except (sqlite3.DatabaseError, _StaleIndexError) as err:
            # A cache that cannot be read is rebuilt, not repaired.
            log.warning("project index %s unreadable (%s); starting it again", path, err)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{path}{suffix}")
            conn = self._connect_file(path)
        return conn

    def _connect_file(self, path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -16000")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = None
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = row[0] if row else None
        if version == str(SCHEMA_VERSION):
            return
        if tables:
            raise _StaleIndexError(f"index schema {version!r}, expected {SCHEMA_VERSION}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except sqlite3.OperationalError as err:
            conn.execute("ROLLBACK")
            if "fts5" in str(err).lower():
                raise IndexUnavailableError(
                    "This Python's SQLite has no FTS5 full-text search, so Quillpad cannot index the project; "
                    "use a Python build whose sqlite3 module includes FTS5."
                ) from err
            raise

    def close(self) -> None:
        """Close both connections; idempotent."""
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            if self._reader is not self._writer:
                self._reader.close()
            self._writer.close()

    # --- writing ----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def write(
        self,
        records: Iterable[FileRecord] = (),
        removed: Iterable[str] = (),
        touched: Iterable[tuple[str, int, int, int]] = (),
    ) -> None:
        """In one transaction: store ``records`` (replacing those files), delete ``removed`` paths and
        update (path, size, mtime_ns, checked_ns) of files whose content did not change."""
        with self._transaction() as conn:
            conn.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in removed))
            conn.executemany(
                "UPDATE files SET size = ?, mtime_ns = ?, checked_ns = ? WHERE path = ?",
                ((size, mtime, checked, path) for path, size, mtime, checked in touched),
            )
            for record in records:
                self._put(conn, record)

    def _put(self, conn: sqlite3.Connection, record: FileRecord) -> None:
        conn.execute("DELETE FROM files WHERE path = ?", (record.path,))
        cursor = conn.execute(
            "INSERT INTO files (path, size, mtime_ns, digest, language, lines, checked_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.path,
                record.size,
                record.mtime_ns,
                record.digest,
                record.language,
                record.lines,
                record.checked_ns,
            ),
        )
        file_id = cursor.lastrowid
        # Ids are handed out here so both tables can be filled with executemany (inside the write lock).
        first_id = int(conn.execute("SELECT coalesce(max(id), 0) + 1 FROM chunks").fetchone()[0])
        ids = range(first_id, first_id + len(record.chunks))
        path_words = _path_words(record.path)
        conn.executemany(
            "INSERT INTO chunks (id, file_id, start_line, end_line) VALUES (?, ?, ?, ?)",
            ((i, file_id, c.start_line, c.end_line) for i, c in zip(ids, record.chunks, strict=True)),
        )
        conn.executemany(
            "INSERT INTO chunk_text (rowid, path, names, body) VALUES (?, ?, ?, ?)",
            ((i, path_words, _name_words(c.names), c.text) for i, c in zip(ids, record.chunks, strict=True)),
        )
        conn.executemany(
            "INSERT INTO symbols (file_id, name, kind, signature, start_line, end_line, depth) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((file_id, s.name, s.kind, s.signature, s.start_line, s.end_line, s.depth) for s in record.symbols),
        )
        conn.executemany("INSERT INTO imports (file_id, name) VALUES (?, ?)", ((file_id, n) for n in record.imports))

    def clear(self) -> None:
        """Delete everything (the project folder is gone)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM files")

    # --- reading ----------------------------------------------------------------------------------------------

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._read_lock:
            return list(self._reader.execute(sql, params))

    def file_states(self, under: str = "") -> dict[str, FileState]:
        """Known files (all, or those below the folder ``under``) and their stored facts."""
        sql = "SELECT path, size, mtime_ns, digest, checked_ns FROM files"
        params: tuple[object, ...] = ()
        if under:
            # Paths below "a/b" sort between "a/b/" and "a/b0" ("0" follows "/").
            sql += " WHERE path >= ? AND path < ?"
            params = (under + "/", under + "0")
        return {
            str(path): FileState(int(size), int(mtime), str(digest), int(checked))
            for path, size, mtime, digest, checked in self._read(sql, params)
        }

    def file_states_of(self, paths: Sequence[str]) -> dict[str, FileState]:
        """Stored facts of those of ``paths`` that are indexed."""
        out: dict[str, FileState] = {}
        for start in range(0, len(paths), 500):
            batch = list(paths[start : start + 500])
            marks = ",".join("?" * len(batch))
            rows = self._read(
                f"SELECT path, size, mtime_ns, digest, checked_ns FROM files WHERE path IN ({marks})", batch
            )
            for path, size, mtime, digest, checked in rows:
                out[str(path)] = FileState(int(size), int(mtime), str(digest), int(checked))
        return out

    def paths(self) -> list[str]:
        """Every indexed file, sorted."""
        return [str(row[0]) for row in self._read("SELECT path FROM files ORDER BY path")]

    def has(self, path: str) -> bool:
        """Whether ``path`` is indexed."""
        return bool(self._read("SELECT 1 FROM files WHERE path = ?", (path,)))

    def totals(self) -> IndexTotals:
        """Counts of files and chunks and the files' total bytes."""
        rows = self._read("SELECT count(*), coalesce(sum(size), 0) FROM files")
        chunks = self._read("SELECT count(*) FROM chunks")
        files, size = rows[0]
        return IndexTotals(int(files), int(chunks[0][0]), int(size))

    def chunk_pieces(self, path: str) -> list[tuple[int, int, str]]:
        """A file's chunks as (start_line, end_line, text), in order."""
        rows = self._read(
            "SELECT ch.start_line, ch.end_line, t.body FROM chunks ch JOIN files f ON f.id = ch.file_id "
            "JOIN chunk_text t ON t.rowid = ch.id WHERE f.path = ? ORDER BY ch.start_line",
            (path,),
        )
        return [(int(s), int(e), str(b)) for s, e, b in rows]

    def search(self, match: str, k: int) -> list[SearchHit]:
        """The ``k`` best chunks for an FTS5 ``match`` expression (see ``query.build_match``)."""
        if not match or k <= 0:
            return []
        # Rank inside FTS5 first and join only the k winners: joining (and loading the text of) every
        # match before sorting costs more than the ranking itself on a big project.
        rows = self._read(
            "WITH top AS (SELECT rowid AS id, bm25(chunk_text, ?, ?, ?) AS rank FROM chunk_text "
            "WHERE chunk_text MATCH ? ORDER BY rank LIMIT ?) "
            "SELECT f.path, ch.start_line, ch.end_line, t.body, top.rank FROM top "
            "JOIN chunks ch ON ch.id = top.id JOIN files f ON f.id = ch.file_id "
            "JOIN chunk_text t ON t.rowid = top.id ORDER BY top.rank",
            (*_WEIGHTS, match, k),
        )
        return [
            SearchHit(str(path), int(start), int(end), str(body), -float(rank)) for path, start, end, body, rank in rows
        ]

    def symbols(self, paths: Sequence[str]) -> dict[str, list[Symbol]]:
        """The outline of each of ``paths`` that is indexed, in line order."""
        out: dict[str, list[Symbol]] = {}
        for start in range(0, len(paths), 500):
            batch = list(paths[start : start + 500])
            marks = ",".join("?" * len(batch))
            rows = self._read(
                "SELECT f.path, s.name, s.kind, s.signature, s.start_line, s.end_line, s.depth FROM symbols s "
                f"JOIN files f ON f.id = s.file_id WHERE f.path IN ({marks}) ORDER BY f.path, s.start_line, s.id",
                batch,
            )
            for path, name, kind, signature, first, last, depth in rows:
                out.setdefault(str(path), []).append(
                    Symbol(str(name), str(kind), str(signature), int(first), int(last), int(depth))
                )
        return out

    def symbol_counts(self) -> dict[str, int]:
        """Top-level definitions per file (files without any are left out)."""
        rows = self._read(
            "SELECT f.path, count(*) FROM symbols s JOIN files f ON f.id = s.file_id WHERE s.depth = 0 GROUP BY f.id"
        )
        return {str(path): int(count) for path, count in rows}

    def files_defining(self, names: Iterable[str]) -> dict[str, int]:
        """For each file, how many of ``names`` it defines (case-insensitive)."""
        wanted = sorted({n for n in names if n})
        counts: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._read(
                "SELECT f.path, count(DISTINCT s.name) FROM symbols s JOIN files f ON f.id = s.file_id "
                f"WHERE s.name COLLATE NOCASE IN ({marks}) GROUP BY f.id",
                batch,
            )
            for path, count in rows:
                counts[str(path)] = counts.get(str(path), 0) + int(count)
        return counts

    # --- ranking inputs (see ``ranking``) -------------------------------------------------------------------

    def candidates(self, match: str, limit: int) -> list[ChunkRef]:
        """The ``limit`` best chunks for ``match`` by bm25, without their text (best first)."""
        if not match or limit <= 0:
            return []
        rows = self._read(
            "WITH top AS (SELECT rowid AS id, bm25(chunk_text, ?, ?, ?) AS rank FROM chunk_text "
            "WHERE chunk_text MATCH ? ORDER BY rank LIMIT ?) "
            "SELECT top.id, f.path, ch.start_line, ch.end_line, top.rank, t.names FROM top "
            "JOIN chunks ch ON ch.id = top.id JOIN files f ON f.id = ch.file_id "
            "JOIN chunk_text t ON t.rowid = top.id ORDER BY top.rank",
            (*_WEIGHTS, match, limit),
        )
        return [ChunkRef(int(i), str(p), int(s), int(e), -float(r), str(n)) for i, p, s, e, r, n in rows]

    def definitions(self, names: Iterable[str], limit: int = 200, *, containers: bool = True) -> list[Definition]:
        """Definitions whose name is one of ``names`` (case-insensitive), with the type they belong to
        (``containers``; else ``container`` is None, which is quicker)."""
        wanted = sorted({n for n in names if n})[:200]
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        container = (
            "(SELECT p.name FROM symbols p WHERE s.depth > 0 AND p.file_id = s.file_id AND p.depth = 0 "
            " AND p.start_line <= s.start_line AND p.end_line >= s.end_line ORDER BY p.start_line DESC LIMIT 1)"
            if containers
            else "NULL"
        )
        rows = self._read(
            f"SELECT f.path, s.name, s.kind, s.start_line, s.end_line, s.depth, {container} "
            f"FROM symbols s JOIN files f ON f.id = s.file_id WHERE s.name COLLATE NOCASE IN ({marks}) LIMIT ?",
            (*wanted, limit),
        )
        return [
            Definition(str(p), str(n), str(k), int(a), int(b), int(d), None if c is None else str(c))
            for p, n, k, a, b, d, c in rows
        ]

    def chunks_at(self, places: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ChunkRef]:
        """For each (path, line), the first chunk of that file holding the line (one query for all)."""
        wanted = list(dict.fromkeys(places))
        out: dict[tuple[str, int], ChunkRef] = {}
        for start in range(0, len(wanted), 300):
            batch = wanted[start : start + 300]
            values = ",".join("(?, ?)" * 1 for _ in batch)
            params = [x for place in batch for x in place]
            rows = self._read(
                f"WITH wanted(path, line) AS (VALUES {values}) "
                "SELECT w.path, w.line, ch.id, ch.start_line, ch.end_line FROM wanted w "
                "JOIN files f ON f.path = w.path JOIN chunks ch ON ch.file_id = f.id "
                "AND ch.start_line <= w.line AND ch.end_line >= w.line ORDER BY w.path, w.line, ch.start_line",
                params,
            )
            for path, line, i, s, e in rows:
                out.setdefault((str(path), int(line)), ChunkRef(int(i), str(path), int(s), int(e), 0.0))
        return out

    def chunk_texts(self, ids: Sequence[int]) -> dict[int, str]:
        """The text of each chunk id."""
        out: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            batch = list(ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            for rowid, body in self._read(f"SELECT rowid, body FROM chunk_text WHERE rowid IN ({marks})", batch):
                out[int(rowid)] = str(body)
        return out

    def all_imports(self) -> dict[str, list[str]]:
        """Every file's imported dotted names (files importing nothing are left out)."""
        out: dict[str, list[str]] = {}
        for path, name in self._read("SELECT f.path, i.name FROM imports i JOIN files f ON f.id = i.file_id"):
            out.setdefault(str(path), []).append(str(name))
        return out


@dataclass(frozen=True)
class ChunkRef:
    """A chunk without its text; ``score`` is the negated bm25 (0.0 where it was not matched)."""

    id: int
    path: str
    start_line: int
    end_line: int
    score: float
    names: str = ""  # the names defined in it, as indexed (with their split forms)


@dataclass(frozen=True)
class Definition:
    """One outline entry found by name; ``container`` is the type a member belongs to."""

    path: str
    name: str
    kind: str
    start_line: int
    end_line: int
    depth: int
    container: str | None
