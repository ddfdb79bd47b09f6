"""Chat history: conversations and their messages in one SQLite file in the data folder.

The file is ``conversations.sqlite3`` (see ``database_path``), in WAL mode
with foreign keys on, so deleting a conversation deletes its messages. A
reply is saved while it streams (``update_message`` about once a second) and
marked complete only at the end: if the app is killed, the reply is kept up
to where it got, marked incomplete. With ``synchronous=NORMAL`` a commit
survives the app being killed, though not necessarily a power cut.

The layout version is kept in the ``schema_version`` table; ``MIGRATIONS[n]``
upgrades a version-n file to n+1 inside the opening transaction. A damaged
file, or one whose migration fails, is moved aside (``.broken``) and a new
one started, with ``notice`` saying so in one sentence.

A user message keeps what the user typed in ``content`` and what went with it
(files, selections, project context) as structured ``Attachment`` data in
its own column, so reopening a conversation shows the chips it was sent with.
Version 1 folded attachments into the text after ``ATTACHMENT_MARKER``;
migration 1 → 2 takes them out again, nothing lost.

Search looks for the text, case-insensitively, in titles and message text
(not thinking). Message text uses an FTS5 trigram index when SQLite has FTS5
and the query has three or more characters; otherwise every message is
scanned. Titles are always scanned (there are few).

A store is meant for the UI thread. Calls are serialised by a lock, so it is
safe to use from one thread at a time (and harmless from several); each call
is a short transaction.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from app.core.errors import QuillpadError
from app.core.paths import AppPaths

log = logging.getLogger(__name__)

DB_FILE_NAME = "conversations.sqlite3"
SCHEMA_VERSION = 2
# How version 1 joined a message's text and its attachments (kept to read such files).
ATTACHMENT_MARKER = "\n\n---\nAttached context:\n"
_LEGACY_ITEM = re.compile(
    r"(?P<label>[^\n`]+):\n(?P<fence>`{3,})(?P<language>[^\n`]*)\n(?P<text>.*?)\n(?P=fence)", re.S
)


@dataclass(frozen=True)
class Attachment:
    """Something sent with a user message: a file, a selection, or a piece of project context.

    ``rendered`` is the exact text the model got for it when that was
    prepared elsewhere (project retrieval); otherwise ``as_markdown`` makes it.
    """

    kind: str  # "file" | "selection" | "context" | a project kind ("chunk", "mention", "repo_map", "changes")
    label: str
    text: str
    language: str = ""
    rendered: str | None = None
    from_project: bool = False  # chosen by retrieval, not by the user
    why: str = ""  # why retrieval chose it ("definition of Repo, named in the question"), shown on its chip

    def as_markdown(self) -> str:
        """The attachment as the model reads it."""
        if self.rendered is not None:
            return self.rendered
        fence = "````" if "```" in self.text else "```"
        return f"{self.label}:\n{fence}{self.language}\n{self.text}\n{fence}"

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "label": self.label,
            "text": self.text,
            "language": self.language,
            "rendered": self.rendered,
            "from_project": self.from_project,
            "why": self.why,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Attachment:
        rendered = data.get("rendered")
        return cls(
            kind=str(data.get("kind", "context")),
            label=str(data.get("label", "Attached context")),
            text=str(data.get("text", "")),
            language=str(data.get("language", "")),
            rendered=rendered if isinstance(rendered, str) else None,
            from_project=bool(data.get("from_project", False)),
            why=str(data.get("why", "")),
        )


def split_legacy_text(content: str) -> tuple[str, tuple[Attachment, ...]]:
    """A version-1 user message: the typed text and its attachments (each keeping its exact text)."""
    text, found, attached = content.partition(ATTACHMENT_MARKER)
    if not found:
        return content, ()
    items: list[Attachment] = []
    position = 0
    while position < len(attached):
        match = _LEGACY_ITEM.match(attached, position)
        if match is None:
            break
        label = match["label"]
        kind = "selection" if label.startswith("selection") or label.startswith("Selection") else "file"
        items.append(Attachment(kind, label, match["text"], match["language"], rendered=match.group(0)))
        position = match.end()
        if attached.startswith("\n\n", position):
            position += 2
    if position < len(attached):
        # Not a list of fenced items (project context, or text we cannot split): kept whole.
        rest = attached[position:]
        items.append(Attachment("context", "Attached context", rest, rendered=rest))
    return text, tuple(items)


def _attachments_out_of_text(conn: sqlite3.Connection) -> None:
    """Version 1 → 2: attachments leave the message text for their own column."""
    conn.execute("ALTER TABLE messages ADD COLUMN attachments TEXT")
    rows = conn.execute(
        "SELECT id, content FROM messages WHERE role = 'user' AND instr(content, ?) > 0", (ATTACHMENT_MARKER,)
    ).fetchall()
    for message_id, content in rows:
        text, attachments = split_legacy_text(str(content))
        conn.execute(
            "UPDATE messages SET content = ?, attachments = ? WHERE id = ?",
            (text, _attachments_json(attachments), message_id),
        )


# MIGRATIONS[n] turns a version-n database into a version-(n+1) one; it runs inside a transaction.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _attachments_out_of_text}

_SCHEMA_V1 = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        model TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        thinking TEXT NOT NULL DEFAULT '',
        complete INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL,
        stats TEXT
    )""",
    "CREATE INDEX messages_by_conversation ON messages(conversation_id, id)",
    "CREATE INDEX conversations_by_updated ON conversations(updated, id)",
)

# The search index mirrors messages.content; triggers keep it in step (cascading deletes fire them too).
_SEARCH_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5("
    "content, content='messages', content_rowid='id', tokenize='trigram')"
)
_SEARCH_TRIGGERS = {
    "message_search_insert": """CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
        INSERT INTO message_search(rowid, content) VALUES (new.id, new.content);
    END""",
    "message_search_delete": """CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
        INSERT INTO message_search(message_search, rowid, content) VALUES ('delete', old.id, old.content);
    END""",
    "message_search_update": """CREATE TRIGGER message_search_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO message_search(message_search, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO message_search(rowid, content) VALUES (new.id, new.content);
    END""",
}
_TRIGRAM = 3  # shorter queries cannot use a trigram index

# Result codes (the low byte of sqlite_errorcode).
_DAMAGED_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_UNWRITABLE_CODES = {3, 8, 10, 13, 14}  # PERM, READONLY, IOERR, FULL, CANTOPEN


class ConversationStoreError(QuillpadError):
    """The conversation history cannot be opened, read or written."""


class UnknownConversationError(ConversationStoreError):
    """No conversation has the id asked for."""


class UnknownMessageError(ConversationStoreError):
    """No message has the id asked for."""


class _DamagedError(Exception):
    """The database file is not a readable Quillpad history."""


class _MigrationError(_DamagedError):
    """The file is an older Quillpad history that could not be brought up to date."""


@dataclass(frozen=True)
class ConversationSummary:
    """One conversation in the history list; times are seconds since the epoch."""

    id: int
    title: str
    created: float
    updated: float
    model: str | None
    message_count: int


@dataclass(frozen=True)
class StoredMessage:
    """One message; ``complete`` is False for a reply that was still streaming when last saved."""

    id: int
    conversation_id: int
    role: str
    content: str
    thinking: str
    complete: bool
    created: float
    stats: dict[str, float | int] | None
    attachments: tuple[Attachment, ...] = ()


def database_path(paths: AppPaths) -> Path:
    """Where the history lives: ``conversations.sqlite3`` in the data folder."""
    return paths.data_dir / DB_FILE_NAME


def _fold(text: str | None) -> str | None:
    return text.casefold() if isinstance(text, str) else text


def _error_code(err: sqlite3.Error) -> int | None:
    code = getattr(err, "sqlite_errorcode", None)  # Python 3.11+
    return code & 0xFF if isinstance(code, int) else None


def _is_damage(err: sqlite3.Error) -> bool:
    code = _error_code(err)
    if code is not None:
        return code in _DAMAGED_CODES
    text = str(err).lower()
    return "not a database" in text or "malformed" in text


def _is_unwritable(err: sqlite3.Error) -> bool:
    code = _error_code(err)
    if code is not None:
        return code in _UNWRITABLE_CODES
    text = str(err).lower()
    return any(word in text for word in ("readonly", "read-only", "unable to open", "disk i/o", "full"))


def _cannot_write(folder: Path, reason: str) -> str:
    return (
        f"Quillpad cannot write its conversation history in {folder} ({reason}); make that folder writable "
        "or point QUILLPAD_DATA_DIR at one that is."
    )


def _fts5_trigram_available(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.quillpad_fts5_probe USING fts5(x, tokenize='trigram')")
        conn.execute("DROP TABLE temp.quillpad_fts5_probe")
    except sqlite3.OperationalError:
        return False
    return True


def _stats_json(stats: Mapping[str, float | int] | None) -> str | None:
    return None if stats is None else json.dumps(dict(stats))


def _attachments_json(attachments: Sequence[Attachment]) -> str | None:
    return json.dumps([a.to_json() for a in attachments]) if attachments else None


def _attachments_from_json(text: str | None) -> tuple[Attachment, ...]:
    if not text:
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(Attachment.from_json(item) for item in value if isinstance(item, dict))


def _stats_from_json(text: str | None) -> dict[str, float | int] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class ConversationStore:
    """The chat history in one SQLite file (see the module docstring for the guarantees)."""

    notice: str | None

    def __init__(self, path: Path) -> None:
        """Open or create the history at ``path`` (the database file; its folder is created).

        A damaged file is moved aside and a new history started, with
        ``notice`` saying so; a folder that cannot be written raises
        ``ConversationStoreError``.
        """
        self.path = path
        self.notice = None
        self.search_indexed = False
        self._lock = threading.Lock()
        self._last_time = 0.0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConversationStoreError(_cannot_write(path.parent, err.strerror or str(err))) from err
        try:
            self._conn: sqlite3.Connection | None = self._open()
        except _DamagedError as err:
            backup = self._set_aside()
            log.warning("conversation history %s unreadable (%s), moved to %s", path, err, backup)
            what = "upgraded to this version of Quillpad" if isinstance(err, _MigrationError) else "read"
            self.notice = (
                f"The conversation history could not be {what}, so a new one was started; "
                f"the old file was kept as {backup.name}."
            )
            try:
                self._conn = self._open()
            except _DamagedError as again:
                raise ConversationStoreError(
                    f"Quillpad cannot start a new conversation history in {path.parent} ({again})."
                ) from again

    # --- opening -----------------------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as err:
            raise ConversationStoreError(_cannot_write(self.path.parent, str(err))) from err
        try:
            conn.create_function("quillpad_fold", 1, _fold, deterministic=True)
            conn.execute("PRAGMA foreign_keys = ON")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise _DamagedError("; ".join(str(p) for p in problems))
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("conversation history %s: WAL mode unavailable, journal mode is %s", self.path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
            self.search_indexed = self._prepare_search(conn)
            row = conn.execute("SELECT max(updated) FROM conversations").fetchone()
            self._last_time = float(row[0] or 0.0)
        except sqlite3.Error as err:
            conn.close()
            if _is_damage(err):
                raise _DamagedError(str(err)) from err
            if _is_unwritable(err):
                raise ConversationStoreError(_cannot_write(self.path.parent, str(err))) from err
            raise ConversationStoreError(f"Quillpad cannot open its conversation history {self.path} ({err}).") from err
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "schema_version" not in tables:
                if tables:
                    raise _DamagedError(f"an SQLite file without a schema version (tables: {sorted(tables)})")
                # A new file is made at version 1 and migrated like an old one: one path for both.
                for statement in _SCHEMA_V1:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (1)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None or not isinstance(row[0], int) or row[0] < 1:
                raise _DamagedError(f"bad schema version {row!r}")
            version = row[0]
            if version > SCHEMA_VERSION:
                raise ConversationStoreError(
                    f"The conversation history {self.path.name} was written by a newer Quillpad "
                    f"(schema {version}); update Quillpad to open it."
                )
            while version < SCHEMA_VERSION:
                try:
                    MIGRATIONS[version](conn)
                except (sqlite3.Error, ValueError) as err:
                    raise _MigrationError(f"migration from schema {version} failed: {err}") from err
                version += 1
            # Always written, so a history that cannot be written is found now and not at the first reply.
            conn.execute("UPDATE schema_version SET version = ?", (version,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _prepare_search(self, conn: sqlite3.Connection) -> bool:
        triggers = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not _fts5_trigram_available(conn):
                # Without the module the triggers would make every write fail; the index goes stale
                # and is rebuilt once FTS5 is back (the triggers are missing then).
                for name in _SEARCH_TRIGGERS:
                    conn.execute(f"DROP TRIGGER IF EXISTS {name}")
                conn.execute("COMMIT")
                return False
            conn.execute(_SEARCH_TABLE)
            missing = [name for name in _SEARCH_TRIGGERS if name not in triggers]
            for name in missing:
                conn.execute(_SEARCH_TRIGGERS[name])
            if missing:
                conn.execute("INSERT INTO message_search(message_search) VALUES ('rebuild')")
            conn.execute("COMMIT")
            return True
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _set_aside(self) -> Path:
        backup = self.path.with_name(self.path.name + ".broken")
        try:
            os.replace(self.path, backup)
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists():
                # A stale log replayed into the new file would damage it too.
                os.replace(wal, backup.with_name(backup.name + "-wal"))
            self.path.with_name(self.path.name + "-shm").unlink(missing_ok=True)
        except OSError as err:
            raise ConversationStoreError(_cannot_write(self.path.parent, err.strerror or str(err))) from err
        return backup

    # --- plumbing ----------------------------------------------------------------------------------------------

    def _now(self) -> float:
        # Strictly increasing, so "newest first" holds even with a coarse clock or one set back.
        self._last_time = max(time.time(), self._last_time + 1e-6)
        return self._last_time

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            if conn is None:
                raise ConversationStoreError("The conversation history has been closed.")
            try:
                if write:
                    conn.execute("BEGIN IMMEDIATE")
                yield conn
                if write:
                    conn.execute("COMMIT")
            except BaseException as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error):
                    if write and _is_unwritable(err):
                        raise ConversationStoreError(_cannot_write(self.path.parent, str(err))) from err
                    raise ConversationStoreError(
                        f"Quillpad could not {'save to' if write else 'read'} its conversation history ({err})."
                    ) from err
                raise

    @staticmethod
    def _require_conversation(conn: sqlite3.Connection, conversation_id: int) -> None:
        if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone() is None:
            raise UnknownConversationError(f"There is no conversation with id {conversation_id}.")

    # --- public API --------------------------------------------------------------------------------------------

    def create(self, title: str, model: str | None = None) -> int:
        """Start a conversation; returns its id."""
        with self._transaction(write=True) as conn:
            now = self._now()
            cursor = conn.execute(
                "INSERT INTO conversations (title, model, created, updated) VALUES (?, ?, ?, ?)",
                (title, model, now, now),
            )
            return int(cursor.lastrowid or 0)

    def list(self, search: str = "") -> builtins.list[ConversationSummary]:
        """Conversations, most recently active first; with ``search``, only those whose title or
        message text contains it (case-insensitive)."""
        query = (
            "SELECT c.id, c.title, c.created, c.updated, c.model,"
            " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
            " FROM conversations c"
        )
        params: builtins.list[object] = []
        needle = search.strip()
        if needle:
            folded = needle.casefold()
            # FTS5 reads a NUL as the end of the query, so such a search scans instead.
            if self.search_indexed and len(needle) >= _TRIGRAM and "\0" not in needle:
                # A quoted FTS5 string is taken literally; inside it only '"' needs doubling.
                in_messages = (
                    "c.id IN (SELECT m.conversation_id FROM messages m WHERE m.id IN"
                    " (SELECT rowid FROM message_search WHERE message_search MATCH ?))"
                )
                text_param: object = '"' + needle.replace('"', '""') + '"'
            else:
                in_messages = (
                    "c.id IN (SELECT m.conversation_id FROM messages m WHERE instr(quillpad_fold(m.content), ?) > 0)"
                )
                text_param = folded
            query += f" WHERE instr(quillpad_fold(c.title), ?) > 0 OR {in_messages}"
            params = [folded, text_param]
        query += " ORDER BY c.updated DESC, c.id DESC"
        with self._transaction(write=False) as conn:
            return [
                ConversationSummary(int(r[0]), str(r[1]), float(r[2]), float(r[3]), r[4], int(r[5]))
                for r in conn.execute(query, params)
            ]

    def rename(self, conversation_id: int, title: str) -> None:
        """Change a conversation's title (it does not count as activity: the order stays)."""
        with self._transaction(write=True) as conn:
            if conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)).rowcount == 0:
                raise UnknownConversationError(f"There is no conversation with id {conversation_id}.")

    def delete(self, conversation_id: int) -> None:
        """Delete a conversation and all its messages."""
        with self._transaction(write=True) as conn:
            if conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,)).rowcount == 0:
                raise UnknownConversationError(f"There is no conversation with id {conversation_id}.")

    def messages(self, conversation_id: int) -> builtins.list[StoredMessage]:
        """A conversation's messages, oldest first."""
        with self._transaction(write=False) as conn:
            self._require_conversation(conn, conversation_id)
            rows = conn.execute(
                "SELECT id, conversation_id, role, content, thinking, complete, created, stats, attachments"
                " FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [
            StoredMessage(
                int(r[0]),
                int(r[1]),
                str(r[2]),
                str(r[3]),
                str(r[4]),
                bool(r[5]),
                float(r[6]),
                _stats_from_json(r[7]),
                _attachments_from_json(r[8]),
            )
            for r in rows
        ]

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        thinking: str = "",
        complete: bool = True,
        stats: Mapping[str, float | int] | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> int:
        """Append a message; returns its id. A reply about to stream starts with ``complete=False``;
        ``attachments`` are what went with a user message (kept apart from its text)."""
        with self._transaction(write=True) as conn:
            self._require_conversation(conn, conversation_id)
            now = self._now()
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, thinking, complete, created, stats, attachments)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    role,
                    content,
                    thinking,
                    int(complete),
                    now,
                    _stats_json(stats),
                    _attachments_json(attachments),
                ),
            )
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            return int(cursor.lastrowid or 0)

    def update_message(
        self,
        message_id: int,
        content: str,
        thinking: str = "",
        complete: bool = False,
        stats: Mapping[str, float | int] | None = None,
    ) -> None:
        """Replace a message's text while its reply streams (about once a second), then once more with
        ``complete=True`` when it ends. Each call is committed at once."""
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "UPDATE messages SET content = ?, thinking = ?, complete = ?, stats = ? WHERE id = ?",
                (content, thinking, int(complete), _stats_json(stats), message_id),
            )
            if cursor.rowcount == 0:
                raise UnknownMessageError(f"There is no message with id {message_id}.")
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
                (self._now(), message_id),
            )

    def delete_message(self, message_id: int) -> None:
        """Delete one message (to answer the last question again, or to edit it)."""
        with self._transaction(write=True) as conn:
            row = conn.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                raise UnknownMessageError(f"There is no message with id {message_id}.")
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (self._now(), row[0]))

    def close(self) -> None:
        """Close the file; further calls raise ``ConversationStoreError``. Closing twice is fine."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
