"""Reading files for the index: encodings, binary content, size limits, files that are not files."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from app.core.project.textread import FileText, NotText, decode_bytes, human_size, read_text_file


def read(path: Path, limit: int = 1_000_000) -> FileText:
    content = read_text_file(path, limit)
    assert isinstance(content, FileText), content
    return content


def test_utf8_with_crlf_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_bytes("x = 'é'\r\ny = 2\rz = 3\n".encode())
    content = read(path)
    assert content.text == "x = 'é'\ny = 2\nz = 3\n" and content.encoding == "utf-8"
    assert content.size == path.stat().st_size and content.mtime_ns == path.stat().st_mtime_ns


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (codecs.BOM_UTF16_LE + "naïve\n".encode("utf-16-le"), "naïve\n"),
        (codecs.BOM_UTF8 + "naïve\n".encode(), "naïve\n"),
        ("café au lait\n".encode("latin-1"), "café au lait\n"),  # not UTF-8 at all: cp1252
        (b"\x81\x8d\x8f undefined in cp1252\n", "\x81\x8d\x8f undefined in cp1252\n"),  # latin-1 reads anything
    ],
)
def test_encodings(tmp_path: Path, raw: bytes, text: str) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(raw)
    assert read(path).text == text


def test_mixed_encodings_keep_the_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    body = ("ünïcödé line\n" * 200).encode() + "one latin-1 line: café\n".encode("latin-1")
    path.write_bytes(body)
    content = read(path)
    assert content.text.startswith("ünïcödé line\n") and "caf\ufffd" in content.text
    assert content.encoding.startswith("utf-8")


def test_binary_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"abc\x00def")
    assert read_text_file(path, 1000) == NotText("binary", "it is a binary file")
    assert decode_bytes(bytes(range(1, 32)) * 10) is None  # mostly control bytes


def test_too_big_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with open(path, "wb") as handle:
        handle.truncate(500 * 1024**2)  # a sparse 500 MB file: no disk space used
    content = read_text_file(path, 1_000_000)
    assert isinstance(content, NotText) and content.kind == "too_big"
    assert "500.0 MB" in content.reason and "976.6 KB" in content.reason


def test_missing_links_fifos_and_folders(tmp_path: Path) -> None:
    assert read_text_file(tmp_path / "nope.py", 100).kind == "missing"  # type: ignore[union-attr]
    (tmp_path / "real.py").write_text("x")
    os.symlink(tmp_path / "real.py", tmp_path / "link.py")
    assert read_text_file(tmp_path / "link.py", 100).kind == "not_regular"  # type: ignore[union-attr]
    os.mkfifo(tmp_path / "pipe.py")
    assert read_text_file(tmp_path / "pipe.py", 100).kind == "not_regular"  # type: ignore[union-attr]
    assert read_text_file(tmp_path, 100).kind == "not_regular"  # type: ignore[union-attr]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.py"
    path.write_text("x")
    path.chmod(0)
    assert read_text_file(path, 100).kind == "unreadable"  # type: ignore[union-attr]


def test_human_size() -> None:
    assert [human_size(n) for n in (5, 2048, 3 * 1024**2, 5 * 1024**4)] == ["5 bytes", "2.0 KB", "3.0 MB", "5.0 TB"]
