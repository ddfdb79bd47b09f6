"""The SQLite index: storing, replacing and deleting files, FTS5 search, damaged and unwritable files."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from app.core.project.chunking import Chunk
from app.core.project.index import FileRecord, IndexStore
from app.core.project.query import build_match, query_terms
from app.core.project.symbols import Symbol


def record(path: str, text: str, names: str = "", digest: str = "d") -> FileRecord:
    lines = text.split("\n")
    return FileRecord(
        path=path,
        size=len(text),
        mtime_ns=1,
        digest=digest,
        language="python",
        lines=len(lines),
        checked_ns=2 * 10**18,
        chunks=[Chunk(1, len(lines), text, names)],
        symbols=[Symbol(names or "x", "function", f"def {names or 'x'}()", 1, len(lines), 0)],
    )


def fts_rows(store: IndexStore) -> int:
    return int(store._read("SELECT count(*) FROM chunk_text")[0][0])


def test_store_search_replace_and_delete(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "db" / "index.sqlite3")
    store.write([record("a/engine.py", "def restart_engine():\n    pass", "restart_engine"), record("b.py", "x = 1")])
    hits = store.search(build_match("how do I restart the engine?"), 5)
    assert [(h.path, h.start_line, h.end_line) for h in hits] == [("a/engine.py", 1, 2)]
    assert hits[0].score > 0 and "restart_engine" in hits[0].text
    store.write([record("a/engine.py", "def stop():\n    pass", "stop", digest="e")])
    assert store.search(build_match("restart"), 5) == []
    assert store.file_states()["a/engine.py"].digest == "e"
    assert fts_rows(store) == 2
    store.write(removed=["a/engine.py"])
    assert store.paths() == ["b.py"] and fts_rows(store) == 1
    assert store.symbols(["b.py"])["b.py"][0].name == "x"
    assert store.totals().files == 1 and store.totals().chunks == 1
    store.close()
    store.close()  # idempotent


def test_prefix_queries_and_names(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index.sqlite3")
    store.write([record("src/FileWatcher.py", "class FileWatcher: ...", "FileWatcher"), record("src/other.py", "y")])
    assert store.search(build_match("the file watcher"), 5)[0].path == "src/FileWatcher.py"
    assert set(store.file_states(under="src")) == {"src/FileWatcher.py", "src/other.py"}
    assert store.file_states(under="sr") == {}
    assert store.files_defining(["filewatcher"]) == {"src/FileWatcher.py": 1}
    store.close()


def test_queries_never_break_fts_syntax(tmp_path: Path) -> None:
    store = IndexStore(None)
    store.write([record("a.py", "select * from users where id = 1")])
    for message in ['"unbalanced', "NEAR(a b)", "a AND OR NOT b", "col:value", "x*", "^start", "(((", "-- drop"]:
        store.search(build_match(message), 5)  # must not raise
    assert query_terms("the file") == ["the", "file"]  # only common words: they are kept
    assert query_terms("the file watcher") == ["watcher"]
    assert query_terms("HTTPServer handles run_until_complete") == ["httpserver", "handles", "run_until_complete"]
    assert build_match("HTTPServer handles") == '"httpserver" OR "http server" OR "handles"'
    assert build_match("!!!") == ""


def test_a_damaged_index_is_started_again(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = IndexStore(path)
    store.write([record("a.py", "x")])
    assert store.paths() == ["a.py"] and store.notice is None
    store.close()


def test_an_index_of_another_layout_is_started_again(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '999')")
    conn.commit()
    conn.close()
    store = IndexStore(path)
    assert store.paths() == []
    store.close()


@pytest.mark.parametrize("how", ["file in the way", "read-only folder"])
def test_an_unwritable_data_folder_keeps_the_index_in_memory(tmp_path: Path, how: str) -> None:
    if how == "file in the way":
        (tmp_path / "data").write_text("a file where the folder should be")
        path = tmp_path / "data" / "projects" / "index.sqlite3"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        (tmp_path / "data").mkdir()
        (tmp_path / "data").chmod(0o500)
        path = tmp_path / "data" / "index.sqlite3"
    store = IndexStore(path)
    assert store.path is None and store.notice is not None
    assert "kept in memory" in store.notice and "QUILLPAD_DATA_DIR" in store.notice
    store.write([record("a.py", "def fib(): pass", "fib")])
    assert store.paths() == ["a.py"] and store.search(build_match("fib"), 3)[0].path == "a.py"
    store.close()


def test_neighbouring_plain_words_are_also_searched_as_one() -> None:
    assert build_match("the file name of it") == '"name" OR "filename"'
    assert build_match("file name", compounds=False) == '"name"'  # "file" is a common word
    assert "httpserverhandles" not in build_match("HTTPServer handles")  # names are never joined
