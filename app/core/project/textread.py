"""Reading one project file for the index: text or a reason it is not indexed.

A file is read once into memory (never more than the size limit plus one
byte), hashed, and decoded: a byte-order mark decides; otherwise NUL bytes or
many control bytes mean binary; then UTF-8, tolerating stray bytes when
valid multi-byte characters outnumber them (a UTF-8 file with one Latin-1
line stays readable); then cp1252, then Latin-1, which decodes anything.
Line endings become ``\\n`` so that line numbers match the editor's.

Opening never blocks (a FIFO swapped in for a file is refused, not waited
on) and never follows a symbolic link.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

SNIFF_BYTES = 8192
# C0 controls other than tab, newlines, form feed and escape do not occur in text.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (8, 9, 10, 11, 12, 13, 27))
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class FileText:
    """A text file as indexed: ``text`` has ``\\n`` line endings; ``digest`` is of the raw bytes."""

    text: str
    size: int
    mtime_ns: int
    digest: str
    encoding: str


@dataclass(frozen=True)
class NotText:
    """Why a file is not indexed: ``kind`` is missing, unreadable, not_regular, too_big or binary."""

    kind: str
    reason: str  # one clause, e.g. "it is a binary file"


def content_digest(data: bytes) -> str:
    """The content hash stored per file (BLAKE2b, 128 bits, hex)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def normalise_newlines(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` become ``\\n`` (what the editor does)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def looks_binary(sample: bytes) -> bool:
    """NUL bytes, or more than a tenth control bytes, in the first bytes of a file."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > 0.1 * len(sample)


def _bom(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def decode_bytes(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) for text, None for binary data."""
    encoding = _bom(data)
    if encoding is not None:
        return data.decode(encoding, errors="replace"), encoding
    if looks_binary(data[:SNIFF_BYTES]):
        return None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    # Mostly UTF-8 with a few stray bytes (one Latin-1 line in a UTF-8 file) keeps its UTF-8 text; a file
    # without more valid multi-byte characters than broken ones is in a single-byte encoding.
    broken = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    valid = sum(1 for char in text if char > "\x7f") - text.count("\ufffd")
    if valid > broken:
        return text, "utf-8 (with replacement characters)"
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def human_size(size: int) -> str:
    """``"812 bytes"``, ``"4.2 MB"``."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} TB"


def read_text_file(path: Path, max_bytes: int) -> FileText | NotText:
    """Read ``path`` for the index, or say why it is not indexed. Never raises for file problems."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return NotText("missing", "it does not exist")
    except OSError as err:
        if err.errno == errno.ELOOP:
            return NotText("not_regular", "it is a symbolic link, which Quillpad does not follow")
        if err.errno in (errno.ENOTDIR, errno.ENAMETOOLONG):
            return NotText("missing", "it does not exist")
        return NotText("unreadable", f"it cannot be read ({err.strerror or err})")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "it is a folder" if stat.S_ISDIR(info.st_mode) else "it is not a regular file"
            return NotText("not_regular", kind)
        if info.st_size > max_bytes:
            return NotText("too_big", f"it is {human_size(info.st_size)}, over the {human_size(max_bytes)} limit")
        chunks = []
        remaining = max_bytes + 1
        while remaining > 0:
            piece = os.read(fd, min(remaining, 1 << 20))
            if not piece:
                break
            chunks.append(piece)
            remaining -= len(piece)
        data = b"".join(chunks)
    except OSError as err:
        return NotText("unreadable", f"it cannot be read ({err.strerror or err})")
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew while being read
        return NotText("too_big", f"it is over the {human_size(max_bytes)} limit")
    decoded = decode_bytes(data)
    if decoded is None:
        return NotText("binary", "it is a binary file")
    text, encoding = decoded
    # Size and time come from before the read: if the file changed meanwhile, the next check sees a difference.
    return FileText(normalise_newlines(text), info.st_size, info.st_mtime_ns, content_digest(data), encoding)


# Lock files are generated, long, and say nothing a question needs.
LOCK_FILE_NAMES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "Cargo.lock",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "pdm.lock",
        "Gemfile.lock",
        "composer.lock",
        "go.sum",
        "flake.lock",
        "mix.lock",
        "pubspec.lock",
        "Podfile.lock",
    }
)
MINIFIED_LINE_CHARS = 2000  # no hand-written line is this long ...
MINIFIED_SHARE = 0.5  # ... for this much of a file


def looks_generated(name: str, text: str) -> bool:
    """Lock files by name, and minified or machine-written text (most of it on very long lines)."""
    if name.rpartition("/")[2] in LOCK_FILE_NAMES:
        return True
    if len(text) < 4 * MINIFIED_LINE_CHARS:
        return False
    long_chars = sum(len(line) for line in text.split("\n") if len(line) > MINIFIED_LINE_CHARS)
    return long_chars > MINIFIED_SHARE * len(text)
