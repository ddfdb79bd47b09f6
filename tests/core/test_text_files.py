"""Loading and atomically saving the editor's text files."""

from __future__ import annotations

import codecs
import os
import stat
import sys
from pathlib import Path

import pytest

from app.core.text_files import (
    TextFileError,
    UnencodableTextError,
    human_bytes,
    load_text_file,
    save_text_atomic,
)


def test_utf8_file_loads_with_its_facts(tmp_path: Path) -> None:
    path = tmp_path / "hello.py"
    path.write_bytes("print('héllo')\n".encode())
    loaded = load_text_file(path)
    assert loaded.text == "print('héllo')\n"
    assert loaded.encoding == "utf-8" and loaded.newline == "\n"
    assert loaded.path == path and loaded.size == path.stat().st_size
    assert loaded.mtime_ns == path.stat().st_mtime_ns
    assert not loaded.read_only and loaded.notice is None


def test_crlf_is_normalised_and_remembered(tmp_path: Path) -> None:
    path = tmp_path / "win.txt"
    path.write_bytes(b"one\r\ntwo\r\n")
    loaded = load_text_file(path)
    assert loaded.text == "one\ntwo\n" and loaded.newline == "\r\n" and loaded.notice is None
    save_text_atomic(path, loaded.text + "three\n", loaded.encoding, loaded.newline)
    assert path.read_bytes() == b"one\r\ntwo\r\nthree\r\n"


def test_mixed_line_endings_say_what_saving_will_do(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"a\r\nb\r\nc\n")
    loaded = load_text_file(path)
    assert loaded.text == "a\nb\nc\n" and loaded.newline == "\r\n"
    assert loaded.notice is not None and "mixes line endings" in loaded.notice and "CRLF" in loaded.notice


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (codecs.BOM_UTF8 + "ünïcode\n".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "ünïcode\n".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF32_LE + "ünïcode\n".encode("utf-32-le"), "utf-32"),
    ],
)
def test_byte_order_marks_decode_and_round_trip(tmp_path: Path, raw: bytes, encoding: str) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(raw)
    loaded = load_text_file(path)
    assert loaded.text == "ünïcode\n" and loaded.encoding == encoding and loaded.notice is None
    save_text_atomic(path, loaded.text, loaded.encoding, loaded.newline)
    assert path.read_bytes() == raw


def test_big_endian_utf16_is_read_and_the_byte_order_change_is_announced(tmp_path: Path) -> None:
    path = tmp_path / "be.txt"
    path.write_bytes(codecs.BOM_UTF16_BE + "hi\n".encode("utf-16-be"))
    loaded = load_text_file(path)
    assert loaded.text == "hi\n" and loaded.encoding == "utf-16"
    assert loaded.notice is not None and "big-endian" in loaded.notice


def test_utf16_without_a_mark_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "nobom.txt"
    path.write_bytes("plain ascii text\n".encode("utf-16-le"))
    loaded = load_text_file(path)
    assert loaded.text == "plain ascii text\n" and loaded.encoding == "utf-16-le"
    assert loaded.notice is not None and "UTF-16" in loaded.notice
    save_text_atomic(path, loaded.text, loaded.encoding)
    assert path.read_bytes() == "plain ascii text\n".encode("utf-16-le")


def test_non_utf8_falls_back_with_a_notice_and_saves_back_in_that_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("locale.getpreferredencoding", lambda _do_setlocale=True: "UTF-8")
    path = tmp_path / "legacy.txt"
    path.write_bytes("café – 20 €\n".encode("cp1252"))
    loaded = load_text_file(path)
    assert loaded.text == "café – 20 €\n" and loaded.encoding == "cp1252"
    assert loaded.notice is not None and "cp1252" in loaded.notice and "not valid UTF-8" in loaded.notice
    save_text_atomic(path, loaded.text + "naïve\n", loaded.encoding, loaded.newline)
    assert path.read_bytes() == "café – 20 €\nnaïve\n".encode("cp1252")


def test_bytes_cp1252_cannot_decode_fall_back_to_latin1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("locale.getpreferredencoding", lambda _do_setlocale=True: "UTF-8")
    path = tmp_path / "odd.txt"
    path.write_bytes(b"caf\xe9 \x81\x8d\n")  # 0x81 and 0x8D are unassigned in cp1252
    loaded = load_text_file(path)
    assert loaded.encoding == "latin-1" and loaded.notice is not None and "latin-1" in loaded.notice
    save_text_atomic(path, loaded.text, loaded.encoding)
    assert path.read_bytes() == b"caf\xe9 \x81\x8d\n"


def test_the_locale_encoding_is_tried_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("locale.getpreferredencoding", lambda _do_setlocale=True: "cp1251")
    path = tmp_path / "ru.txt"
    path.write_bytes("привет\n".encode("cp1251"))
    loaded = load_text_file(path)
    assert loaded.text == "привет\n" and loaded.encoding == "cp1251"


def test_a_forced_encoding_is_used_or_refused_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "ru.txt"
    path.write_bytes("привет\n".encode("koi8-r"))
    assert load_text_file(path, encoding="koi8-r").text == "привет\n"
    with pytest.raises(TextFileError, match=r"not valid utf-8; choose another encoding\.$"):
        load_text_file(path, encoding="utf-8")
    with pytest.raises(TextFileError, match="does not know the encoding"):
        load_text_file(path, encoding="no-such-codec")


@pytest.mark.parametrize("payload", [b"\x7fELF\x02\x01\x01\x00\x00\x00", b"PK\x03\x04" + bytes(range(32)) * 4])
def test_binary_files_are_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "program.bin"
    path.write_bytes(payload)
    with pytest.raises(TextFileError) as caught:
        load_text_file(path)
    message = str(caught.value)
    assert message == "program.bin looks like a binary file, not text; open it with the program that made it."


def test_big_files_open_read_only_and_huge_ones_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_text("x" * 99 + "\n" * 1)
    assert not load_text_file(path, max_bytes=100).read_only
    path.write_text("line\n" * 100)  # 500 bytes
    loaded = load_text_file(path, max_bytes=200)
    assert loaded.read_only and loaded.text == "line\n" * 100
    assert loaded.notice == "big.log is 500 bytes, over the 200 bytes editing limit, so it is open read-only."
    with pytest.raises(TextFileError, match=r"^big\.log is 500 bytes, too big for the editor .*another program\.$"):
        load_text_file(path, max_bytes=100)  # read-only limit: 4 x 100
    with pytest.raises(TextFileError, match="too big"):
        load_text_file(path, max_bytes=100, read_only_max_bytes=300)


def test_default_limits_are_5_mb_to_edit_and_20_mb_read_only(tmp_path: Path) -> None:
    path = tmp_path / "six.txt"
    path.write_bytes((b"a" * 99 + b"\n") * (6 * 1024**2 // 100))
    loaded = load_text_file(path)
    assert loaded.read_only and loaded.notice is not None and "over the 5.0 MB editing limit" in loaded.notice
    path.write_bytes(b"a" * (21 * 1024**2))
    with pytest.raises(TextFileError, match=r"21\.0 MB, too big for the editor \(the limit is 20\.0 MB\)"):
        load_text_file(path)


def test_missing_folder_and_unreadable_files_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(TextFileError, match=r"^nope\.txt does not exist; check the name or choose another file\.$"):
        load_text_file(tmp_path / "nope.txt")
    with pytest.raises(TextFileError, match=r"is a folder; open a file inside it instead\.$"):
        load_text_file(tmp_path)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not bind root")
def test_unreadable_file_says_permission(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x")
    path.chmod(0)
    with pytest.raises(TextFileError, match=r"permission to read secret\.txt"):
        load_text_file(path)


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(TextFileError, match="not a regular file"):
        load_text_file(fifo)


def test_paragraph_separators_are_announced(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_text("a\u2029b", encoding="utf-8")
    loaded = load_text_file(path)
    assert loaded.notice is not None and "paragraph separators" in loaded.notice


def test_atomic_save_creates_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "new.txt"
    mtime = save_text_atomic(path, "first\n")
    assert path.read_text() == "first\n" and mtime == path.stat().st_mtime_ns
    save_text_atomic(path, "second\n")
    assert path.read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt"]  # no temporary file left


def test_a_failed_rename_leaves_the_original_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keep.txt"
    path.write_text("original\n")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(TextFileError) as caught:
        save_text_atomic(path, "new text\n")
    assert str(caught.value) == "The disk is full, so keep.txt was not saved; free some space and save again."
    assert path.read_text() == "original\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_a_failed_write_leaves_the_original_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keep.txt"
    path.write_text("original\n")
    real_write = os.write
    calls = []

    def half_write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(5, "Input/output error")
        return real_write(fd, bytes(data[: len(data) // 2]))

    monkeypatch.setattr(os, "write", half_write)
    with pytest.raises(TextFileError, match=r"keep\.txt was not saved \(Input/output error\); the file on disk"):
        save_text_atomic(path, "new text that is long enough\n")
    assert path.read_text() == "original\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    path = tmp_path / "slow.txt"
    save_text_atomic(path, "written three bytes at a time\n")
    assert path.read_text() == "written three bytes at a time\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_permission_bits_are_kept_and_new_files_follow_the_umask(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o751)
    save_text_atomic(script, "#!/bin/sh\necho hi\n")
    assert stat.S_IMODE(script.stat().st_mode) == 0o751
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.txt"
        save_text_atomic(fresh, "x")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    finally:
        os.umask(umask)


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_saving_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    save_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not bind root")
def test_read_only_files_and_folders_are_refused_in_one_sentence(tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("old")
    locked.chmod(0o444)
    with pytest.raises(
        TextFileError, match=r"^locked\.txt is read-only; save a copy under another name with Save As\.$"
    ):
        save_text_atomic(locked, "new")
    assert locked.read_text() == "old"
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "f.txt").write_text("old")
    folder.chmod(0o555)
    try:
        with pytest.raises(TextFileError, match=r"permission to write f\.txt there; save it somewhere else"):
            save_text_atomic(folder / "f.txt", "new")
    finally:
        folder.chmod(0o755)
    assert (folder / "f.txt").read_text() == "old"


def test_missing_folder_on_save(tmp_path: Path) -> None:
    with pytest.raises(TextFileError, match=r"^The folder for x\.txt does not exist; save it somewhere else"):
        save_text_atomic(tmp_path / "missing" / "x.txt", "x")


def test_unencodable_text_names_the_character_and_its_place(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(b"old")
    with pytest.raises(UnencodableTextError) as caught:
        save_text_atomic(path, "ok\nhi 🙂 there\n", "cp1252", "\r\n")
    err = caught.value
    assert (err.line, err.column, err.encoding) == (2, 4, "cp1252")
    assert "line 2, column 4" in str(err) and "U+1F642" in str(err) and str(err).endswith("save the file as UTF-8.")
    assert path.read_bytes() == b"old"


def test_unknown_encoding_on_save(tmp_path: Path) -> None:
    with pytest.raises(TextFileError, match="does not know the encoding"):
        save_text_atomic(tmp_path / "x.txt", "x", "klingon")


def test_human_bytes() -> None:
    assert human_bytes(12) == "12 bytes"
    assert human_bytes(5 * 1024**2) == "5.0 MB"
    assert human_bytes(1536) == "1.5 KB"


def test_read_only_refusal_without_relying_on_the_user_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root may write anything, so the permission check itself is simulated.
    locked = tmp_path / "locked.txt"
    locked.write_text("old")
    monkeypatch.setattr(os, "access", lambda _path, _mode: False)
    with pytest.raises(
        TextFileError, match=r"^locked\.txt is read-only; save a copy under another name with Save As\.$"
    ):
        save_text_atomic(locked, "new")
    assert locked.read_text() == "old"


def test_an_unwritable_folder_without_relying_on_the_user_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.txt"
    path.write_text("old")
    real_open = os.open

    def refuse_temporary(name: object, flags: int, mode: int = 0o777) -> int:
        if str(name).endswith(".quillpad-tmp"):
            raise PermissionError(13, "Permission denied")
        return real_open(name, flags, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse_temporary)
    with pytest.raises(TextFileError, match=r"^You do not have permission to write f\.txt there; save it somewhere"):
        save_text_atomic(path, "new")
    assert path.read_text() == "old"
