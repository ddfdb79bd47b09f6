"""The chat history store: CRUD, search, cascades, crash safety, damaged and read-only files."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.core import conversations
from app.core.conversations import (
    ConversationStore,
    ConversationStoreError,
    StoredMessage,
    UnknownConversationError,
    UnknownMessageError,
    database_path,
)
from app.core.errors import QuillpadError
from app.core.paths import app_paths

REPO = Path(__file__).resolve().parents[2]


def one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message and ". " not in message.rstrip(".")


@pytest.fixture(params=["fts", "scan"])
def store_path(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The database path; the "scan" variant runs as if SQLite had no FTS5."""
    if request.param == "scan":
        monkeypatch.setattr(conversations, "_fts5_trigram_available", lambda conn: False)
    return tmp_path / "data" / "conversations.sqlite3"


@pytest.fixture
def store(store_path: Path) -> Iterator[ConversationStore]:
    with ConversationStore(store_path) as opened:
        yield opened


def test_database_path_is_in_the_data_folder() -> None:
    paths = app_paths()
    assert database_path(paths) == paths.data_dir / "conversations.sqlite3"


# --- CRUD ---------------------------------------------------------------------------------------------------------


def test_create_list_rename_messages(store: ConversationStore, store_path: Path) -> None:
    assert store_path.exists() and store.notice is None
    assert store.list() == []
    first = store.create("Primes", model="Qwen3-8B")
    second = store.create("Integrals")
    summaries = store.list()
    assert [s.id for s in summaries] == [second, first]  # newest first
    primes = summaries[1]
    assert (primes.title, primes.model, primes.message_count) == ("Primes", "Qwen3-8B", 0)
    assert primes.created <= primes.updated
    assert summaries[0].model is None

    user = store.add_message(first, "user", "Is 7 prime?")
    reply = store.add_message(
        first, "assistant", "Yes.", thinking="7 has no divisors", stats={"tokens": 12, "tokens_per_second": 3.5}
    )
    assert [s.id for s in store.list()] == [first, second]  # activity moves it up
    assert store.list()[0].message_count == 2

    store.rename(second, "Integrals, renamed")
    assert [s.title for s in store.list()] == ["Primes", "Integrals, renamed"]  # renaming is not activity

    messages = store.messages(first)
    assert [m.id for m in messages] == [user, reply]
    assert messages[0] == StoredMessage(user, first, "user", "Is 7 prime?", "", True, messages[0].created, None)
    assert messages[1].thinking == "7 has no divisors" and messages[1].complete
    assert messages[1].stats == {"tokens": 12, "tokens_per_second": 3.5}
    assert messages[0].created < messages[1].created
    assert store.messages(second) == []


def test_update_and_delete_message(store: ConversationStore) -> None:
    first = store.create("A")
    second = store.create("B")
    reply = store.add_message(first, "assistant", "", complete=False)
    assert [s.id for s in store.list()] == [first, second]
    store.update_message(reply, "Partial", thinking="hmm")
    message = store.messages(first)[0]
    assert (message.content, message.thinking, message.complete, message.stats) == ("Partial", "hmm", False, None)
    store.update_message(reply, "Partial answer.", thinking="hmm", complete=True, stats={"tokens": 3})
    message = store.messages(first)[0]
    assert (message.content, message.complete, message.stats) == ("Partial answer.", True, {"tokens": 3})

    extra = store.add_message(second, "user", "question")
    store.delete_message(extra)
    assert store.messages(second) == []
    assert store.list()[0].id == second


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.rename(999, "x"), UnknownConversationError),
        (lambda s: s.delete(999), UnknownConversationError),
        (lambda s: s.messages(999), UnknownConversationError),
        (lambda s: s.add_message(999, "user", "x"), UnknownConversationError),
        (lambda s: s.update_message(999, "x"), UnknownMessageError),
        (lambda s: s.delete_message(999), UnknownMessageError),
    ],
)
def test_unknown_ids_are_refused_in_one_sentence(store: ConversationStore, call: object, error: type) -> None:
    store.create("exists")
    with pytest.raises(error) as info:
        call(store)  # type: ignore[operator]
    assert isinstance(info.value, QuillpadError)
    assert one_sentence(str(info.value)) and "999" in str(info.value)


def test_delete_cascades_to_messages_and_search(store: ConversationStore, store_path: Path) -> None:
    gone = store.create("Doomed")
    kept = store.create("Kept")
    for text in ("alpha zebra", "beta zebra"):
        store.add_message(gone, "user", text)
    store.add_message(kept, "user", "gamma")
    store.delete(gone)
    assert [s.id for s in store.list()] == [kept]
    assert store.list("zebra") == []
    with sqlite3.connect(store_path) as raw:
        assert raw.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", (gone,)).fetchone() == (0,)
        assert raw.execute("SELECT count(*) FROM messages").fetchone() == (1,)
        if store.search_indexed:
            raw.execute("INSERT INTO message_search(message_search) VALUES ('integrity-check')")
    raw.close()
    with pytest.raises(UnknownConversationError):
        store.messages(gone)


def test_close_is_final_and_idempotent(store_path: Path) -> None:
    store = ConversationStore(store_path)
    store.close()
    store.close()
    with pytest.raises(ConversationStoreError) as info:
        store.list()
    assert one_sentence(str(info.value))


def test_usable_from_another_thread_one_at_a_time(store: ConversationStore) -> None:
    conversation = store.create("threads")
    results: list[object] = []

    def work() -> None:
        try:
            store.add_message(conversation, "user", "from a worker")
            results.append(len(store.messages(conversation)))
        except Exception as err:  # reported below, not lost in the thread
            results.append(err)

    worker = threading.Thread(target=work, name="store-worker")
    worker.start()
    worker.join()
    assert results == [1]


# --- search -------------------------------------------------------------------------------------------------------


@pytest.fixture
def searchable(store: ConversationStore) -> dict[str, int]:
    ids = {
        "percent": store.create("I am 100% sure"),
        "snake": store.create("Naming"),
        "quotes": store.create("Quotes"),
        "umlaut": store.create("Äpfel und Birnen"),
        "plain": store.create("Plain"),
    }
    store.add_message(ids["snake"], "user", "Use snake_case for Python names.")
    store.add_message(ids["quotes"], "assistant", 'He said "hello" and it\'s fine; also (NEAR) a*b OR c^2: done')
    store.add_message(ids["umlaut"], "assistant", "Grüße aus KÖLN")
    store.add_message(ids["plain"], "assistant", "Nothing special here", thinking="secretword in the thinking")
    return ids


def found(store: ConversationStore, search: str) -> set[int]:
    return {s.id for s in store.list(search)}


def test_search_titles_and_text_case_insensitively(store: ConversationStore, searchable: dict[str, int]) -> None:
    assert found(store, "naming") == {searchable["snake"]}  # title
    assert found(store, "SNAKE_CASE") == {searchable["snake"]}  # message text, long enough for the index
    assert found(store, "py") == {searchable["snake"]}  # short: scanned
    assert found(store, "äPFEL") == {searchable["umlaut"]}
    assert found(store, "köln") == {searchable["umlaut"]}
    assert found(store, "ö") == {searchable["umlaut"]}
    assert found(store, "special here") == {searchable["plain"]}
    assert found(store, "secretword") == set()  # thinking is not searched
    assert found(store, "  ") == set(searchable.values())  # blank: everything
    assert found(store, "no such text anywhere") == set()


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("%", {"percent"}),
        ("100%", {"percent"}),
        ("_", {"snake"}),
        ("e_c", {"snake"}),
        ('"hello"', {"quotes"}),
        ('"', {"quotes"}),
        ("it's", {"quotes"}),
        ("'", {"quotes"}),
        ("(NEAR)", {"quotes"}),
        ("a*b", {"quotes"}),
        ("OR c^2:", {"quotes"}),
        ("*", {"quotes"}),
        ('"unbalanced', set()),
        ("NEAR(", set()),
        ("AND", {"quotes"}),  # "hello and it's": an FTS keyword is only text here
        ("-", set()),
        ("\\", set()),
        ("'; DROP TABLE conversations; --", set()),
        ("{col}: x", set()),
        ("\0", set()),
        ("nul\0inside", set()),
        ("🙂🙂🙂", set()),
        ("x" * 5000, set()),
    ],
)
def test_search_special_characters(
    store: ConversationStore, searchable: dict[str, int], search: str, expected: set[str]
) -> None:
    assert found(store, search) == {searchable[name] for name in expected}
    assert len(store.list()) == len(searchable)  # nothing was dropped


def test_search_index_is_rebuilt_when_fts_comes_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "conversations.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(conversations, "_fts5_trigram_available", lambda conn: False)
        with ConversationStore(path) as store:
            assert not store.search_indexed
            conversation = store.create("x")
            store.add_message(conversation, "user", "written without an index")
    with ConversationStore(path) as store:
        assert store.search_indexed
        assert found(store, "without an INDEX") == {conversation}


# --- crash safety -------------------------------------------------------------------------------------------------


def test_streamed_reply_survives_without_close(store_path: Path) -> None:
    writer = ConversationStore(store_path)
    conversation = writer.create("Streaming")
    writer.add_message(conversation, "user", "Count to three")
    reply = writer.add_message(conversation, "assistant", "", complete=False)
    for text in ("one", "one two", "one two thr"):
        writer.update_message(reply, text, thinking="counting", stats={"tokens": len(text)})
    # The writer is never closed, as if the app had been killed here.
    reader = ConversationStore(store_path)
    try:
        last = reader.messages(conversation)[-1]
        assert (last.content, last.thinking, last.complete, last.stats) == (
            "one two thr",
            "counting",
            False,
            {"tokens": 11},
        )
    finally:
        reader.close()
        writer.close()


CHILD = """
import sys
from pathlib import Path
from app.core.conversations import ConversationStore

store = ConversationStore(Path(sys.argv[1]))
conversation = store.create("Killed mid-reply")
store.add_message(conversation, "user", "Count to five")
reply = store.add_message(conversation, "assistant", "", complete=False)
text = ""
for word in ("one", "two", "three"):
    text += word + " "
    store.update_message(reply, text, thinking="counting", complete=False, stats={"tokens": len(text.split())})
print(conversation, reply, flush=True)
sys.stdin.read()  # wait here until killed
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_writer_leaves_the_partial_reply_marked_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else "child wrote nothing"
        conversation, reply = (int(part) for part in line.split())
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert path.with_name(path.name + "-wal").exists()  # not checkpointed: the reply is in the log only
    with ConversationStore(path) as store:
        assert store.notice is None
        messages = store.messages(conversation)
    assert [(m.role, m.complete) for m in messages] == [("user", True), ("assistant", False)]
    assert messages[-1].id == reply
    assert (messages[-1].content, messages[-1].thinking, messages[-1].stats) == (
        "one two three ",
        "counting",
        {"tokens": 3},
    )


# --- file problems ------------------------------------------------------------------------------------------------


def test_wal_mode_and_schema_version(store: ConversationStore, store_path: Path) -> None:
    with sqlite3.connect(store_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(conversations.SCHEMA_VERSION,)]
    raw.close()


def test_damaged_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    garbage = b"this is not an SQLite database\n" * 200
    path.write_bytes(garbage)
    path.with_name(path.name + "-wal").write_bytes(b"stale log")
    with ConversationStore(path) as store:
        assert store.notice is not None and one_sentence(store.notice)
        assert "conversations.sqlite3.broken" in store.notice
        conversation = store.create("Fresh start")
        assert [s.id for s in store.list()] == [conversation]
    assert path.with_name(path.name + ".broken").read_bytes() == garbage
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or b"stale log" not in wal.read_bytes()  # never replayed into the new file
    with ConversationStore(path) as store:
        assert store.notice is None and len(store.list()) == 1


def test_damaged_pages_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    with ConversationStore(path) as store:
        conversation = store.create("Will break")
        for number in range(200):
            store.add_message(conversation, "user", f"message {number} " + "x" * 200)
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(1, len(data) // page_size):
        data[page * page_size : page * page_size + 16] = b"\xff" * 16  # every page header but the first
    path.write_bytes(bytes(data))
    with ConversationStore(path) as store:
        assert store.notice is not None and ".broken" in store.notice
        assert store.list() == []


def test_foreign_sqlite_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE something_else (x)")
    raw.close()
    with ConversationStore(path) as store:
        assert store.notice is not None
    assert path.with_name(path.name + ".broken").exists()


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    ConversationStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_version SET version = 99")
    raw.close()
    with pytest.raises(ConversationStoreError) as info:
        ConversationStore(path)
    assert "newer" in str(info.value) and one_sentence(str(info.value))
    assert not path.with_name(path.name + ".broken").exists()


def test_migration_hook_runs_step_by_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "conversations.sqlite3"
    with ConversationStore(path) as store:
        store.create("old")
    ran: list[int] = []

    def to_v3(conn: sqlite3.Connection) -> None:
        ran.append(3)
        conn.execute("ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0")

    monkeypatch.setattr(conversations, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(conversations, "MIGRATIONS", {**conversations.MIGRATIONS, 2: to_v3})
    with ConversationStore(path) as store:
        assert [s.title for s in store.list()] == ["old"]
    with ConversationStore(path) as store:
        pass
    assert ran == [3]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchone() == (3,)
        assert raw.execute("SELECT pinned FROM conversations").fetchone() == (0,)
    raw.close()


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable, for real: by permissions, or for root (whom they do not stop) by chattr +i."""
    if not hasattr(os, "geteuid"):
        pytest.skip("POSIX permissions needed")
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root, and chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_read_only_folder_is_refused_in_one_sentence(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    with read_only(folder):
        for path in (folder / "conversations.sqlite3", folder / "data" / "conversations.sqlite3"):
            with pytest.raises(ConversationStoreError) as info:
                ConversationStore(path)
            message = str(info.value)
            assert one_sentence(message), message
            assert str(folder) in message and "writable" in message


def test_existing_history_in_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "conversations.sqlite3"
    ConversationStore(path).close()
    with read_only(folder), pytest.raises(ConversationStoreError) as info:
        ConversationStore(path)
    assert one_sentence(str(info.value)) and "writable" in str(info.value)


# -- version 1 (attachments folded into the text) -> version 2 ------------------------------------------------

V1_FIXTURE = Path(__file__).parent.parent / "fixtures" / "conversations_v1.sqlite3"


def test_a_history_written_by_version_1_is_migrated_on_first_open_with_nothing_lost(tmp_path: Path) -> None:
    # The fixture was written by ConversationStore as it was before this change (schema 1).
    path = tmp_path / "conversations.sqlite3"
    shutil.copy(V1_FIXTURE, path)
    with sqlite3.connect(path) as raw:
        before = raw.execute("SELECT id, role, content FROM messages ORDER BY id").fetchall()
    raw.close()
    with ConversationStore(path) as store:
        assert store.notice is None
        first, second = sorted(store.list(), key=lambda c: c.id)
        messages = store.messages(first.id)
        question = messages[0]
        assert question.content == "What does this do?"  # the typed text alone
        assert [(a.kind, a.label) for a in question.attachments] == [
            ("file", "app/util.py"),
            ("selection", "selection in main.py"),
        ]
        assert question.attachments[0].text == "def helper(x):\n    return x * 2"
        assert question.attachments[0].language == "python"
        # Nothing lost: text + marker + attachments is exactly what version 1 stored.
        rebuilt = (
            question.content
            + conversations.ATTACHMENT_MARKER
            + "\n\n".join(a.as_markdown() for a in question.attachments)
        )
        assert rebuilt == before[0][2]
        assert [(m.role, m.content) for m in messages[1:]] == [(r, c) for _, r, c in before[1:4]]
        assert messages[1].thinking == "Simple." and messages[3].complete is False
        assert [m.content for m in store.messages(second.id)] == ["plain question"]
        assert all(ATTACHMENT_TEXT not in m.content for m in messages)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchone() == (2,)
    raw.close()


ATTACHMENT_TEXT = "return x * 2"


def test_legacy_attachments_that_are_not_fenced_items_are_kept_whole() -> None:
    text, items = conversations.split_legacy_text("Why?" + conversations.ATTACHMENT_MARKER + "## Project\nsome context")
    assert text == "Why?"
    assert [(a.kind, a.label, a.as_markdown()) for a in items] == [
        ("context", "Attached context", "## Project\nsome context")
    ]


def test_a_history_that_cannot_be_migrated_is_kept_as_broken_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    shutil.copy(V1_FIXTURE, path)
    with sqlite3.connect(path) as raw:
        # A version-1 file someone altered: the migration's new column already exists.
        raw.execute("ALTER TABLE messages ADD COLUMN attachments TEXT")
    raw.close()
    with ConversationStore(path) as store:
        assert store.list() == []
        assert store.notice is not None and one_sentence(store.notice)
        assert "upgraded" in store.notice and "conversations.sqlite3.broken" in store.notice
    kept = path.with_name(path.name + ".broken")
    with sqlite3.connect(kept) as raw:
        assert raw.execute("SELECT count(*) FROM messages").fetchone() == (5,)
    raw.close()


def test_attachments_are_stored_apart_from_the_text(tmp_path: Path) -> None:
    with ConversationStore(tmp_path / "c.sqlite3") as store:
        chat = store.create("t")
        sent = (conversations.Attachment("file", "a.py", "x = 1", "python"),)
        message = store.add_message(chat, "user", "Look", attachments=sent)
        stored = store.messages(chat)[0]
        assert stored.id == message and stored.content == "Look" and stored.attachments == sent
