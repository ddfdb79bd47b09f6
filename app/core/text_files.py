"""Reading and writing the editor's text files.

Loading refuses what the editor cannot show faithfully (binary files, files
too big to edit), detects the encoding (byte-order marks, UTF-8, then a named
fallback) and the line endings, and says in one sentence what it had to
assume. Saving is atomic: the new text goes to a temporary file in the same
folder, is flushed to disk and then renamed over the original, so a crash or
a full disk never leaves a half-written file behind.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import locale
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import QuillpadError

DEFAULT_MAX_BYTES = 5 * 1024**2
# Files between the editing limit and this many times it open read-only.
READ_ONLY_FACTOR = 4
_SNIFF_BYTES = 8192
# Bytes that do not occur in text: C0 controls except tab, newlines, form feed and escape.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (8, 9, 10, 11, 12, 13, 27))
_NEWLINE_NAMES = {"\n": "LF (Unix)", "\r\n": "CRLF (Windows)", "\r": "CR (classic Mac)"}


class TextFileError(QuillpadError):
    """A text file that cannot be read or written; the message says why and what to do."""


class UnencodableTextError(TextFileError):
    """The text has characters the file's encoding cannot store."""

    def __init__(self, message: str, encoding: str, line: int, column: int) -> None:
        super().__init__(message)
        self.encoding = encoding
        self.line = line
        self.column = column


@dataclass(frozen=True)
class LoadedText:
    """A text file as the editor shows it: ``text`` always uses ``\\n`` line endings."""

    path: Path
    text: str
    encoding: str  # a Python codec name; "utf-8-sig" keeps a UTF-8 byte-order mark
    newline: str  # "\n", "\r\n" or "\r": what saving writes back
    mtime_ns: int
    size: int
    read_only: bool
    notice: str | None  # what the user should know about how the file was read


def human_bytes(size: int) -> str:
    """A byte count for people: ``"812 bytes"``, ``"4.2 MB"``."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def _read_problem(name: str, err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return f"{name} does not exist; check the name or choose another file."
    if isinstance(err, IsADirectoryError):
        return f"{name} is a folder; open a file inside it instead."
    if isinstance(err, PermissionError):
        return f"You do not have permission to read {name}; check its permissions or open a copy."
    return f"Cannot read {name} ({err.strerror or err}); check the disk and try again."


def _write_problem(name: str, err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return f"The folder for {name} does not exist; save it somewhere else with Save As."
    if isinstance(err, PermissionError) or err.errno in (errno.EACCES, errno.EPERM):
        return f"You do not have permission to write {name} there; save it somewhere else with Save As."
    if err.errno == errno.ENOSPC:
        return f"The disk is full, so {name} was not saved; free some space and save again."
    if err.errno == errno.EROFS:
        return f"{name} is on a read-only disk; save it somewhere else with Save As."
    return f"{name} was not saved ({err.strerror or err}); the file on disk is unchanged, so try again or use Save As."


def _bom_encoding(data: bytes) -> tuple[str, str | None] | None:
    """The encoding announced by a byte-order mark, and a notice if saving will differ."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", None
    # UTF-32 first: its little-endian mark starts with UTF-16's.
    if data.startswith(codecs.BOM_UTF32_LE):
        return "utf-32", None
    if data.startswith(codecs.BOM_UTF32_BE):
        return "utf-32", "is big-endian UTF-32 and will be saved as little-endian UTF-32 (the same text)"
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16", None
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", "is big-endian UTF-16 and will be saved as little-endian UTF-16 (the same text)"
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le``/``-be`` when the bytes look like mostly-ASCII UTF-16 without a mark."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    if not sample:
        return False
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > 0.1 * len(sample)


def _fallback_encodings() -> list[str]:
    """Single-byte encodings to try after UTF-8, the user's own locale first."""
    candidates = []
    preferred = locale.getpreferredencoding(False)
    try:
        preferred = codecs.lookup(preferred).name
    except LookupError:
        preferred = ""
    if preferred and preferred not in ("utf-8", "ascii"):
        candidates.append(preferred)
    candidates += ["cp1252", "latin-1"]
    return list(dict.fromkeys(candidates))


def _decode(data: bytes, name: str, forced: str | None) -> tuple[str, str, list[str]]:
    """Decode ``data``: (text, encoding, notices). Raises TextFileError for binary data."""
    if forced is not None:
        try:
            codecs.lookup(forced)
        except LookupError:
            raise TextFileError(f"Python does not know the encoding {forced!r}; choose another one.") from None
        try:
            return data.decode(forced), forced, []
        except UnicodeDecodeError:
            raise TextFileError(f"{name} is not valid {forced}; choose another encoding.") from None

    bom = _bom_encoding(data)
    if bom is not None:
        encoding, note = bom
        try:
            return data.decode(encoding), encoding, [f"{name} {note}."] if note else []
        except UnicodeDecodeError:
            raise TextFileError(
                f"{name} starts like {encoding} text but is damaged; open it with the program that made it."
            ) from None

    sample = data[:_SNIFF_BYTES]
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            pass
        else:
            order = "little" if utf16.endswith("le") else "big"
            return text, utf16, [f"{name} has no byte-order mark, so it was read as {order}-endian UTF-16."]
    if _looks_binary(sample):
        raise TextFileError(f"{name} looks like a binary file, not text; open it with the program that made it.")
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    for encoding in _fallback_encodings():
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return (
            text,
            encoding,
            [
                f"{name} is not valid UTF-8, so it was read as {encoding} and will be saved as {encoding}; "
                "if some characters look wrong, reopen it with another encoding."
            ],
        )
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _split_newlines(text: str, name: str) -> tuple[str, str, list[str]]:
    """Normalise line endings to ``\\n``: (text, dominant newline, notices)."""
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    counts = {"\n": lf, "\r\n": crlf, "\r": cr}
    newline = max(counts, key=lambda k: counts[k]) if any(counts.values()) else "\n"
    notices = []
    if sum(1 for n in counts.values() if n) > 1:
        notices.append(f"{name} mixes line endings; they will all be saved as {_NEWLINE_NAMES[newline]}.")
    if crlf or cr:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\u2029" in text:
        notices.append(
            f"{name} contains Unicode paragraph separators, which the editor shows and saves as line breaks."
        )
    return text, newline, notices


def load_text_file(
    path: str | Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    read_only_max_bytes: int | None = None,
    encoding: str | None = None,
) -> LoadedText:
    """Read a text file for the editor.

    Files up to ``max_bytes`` open for editing; bigger ones up to
    ``read_only_max_bytes`` (default: ``READ_ONLY_FACTOR`` times ``max_bytes``,
    so 20 MB) open read-only with a notice; anything bigger, binary files,
    folders and unreadable files raise ``TextFileError``. The encoding comes
    from a byte-order mark, else UTF-8, else the locale's encoding, cp1252 or
    latin-1 with a notice naming it; ``encoding`` forces one instead.
    """
    file = Path(os.path.abspath(Path(path).expanduser()))
    name = file.name or str(file)
    limit = READ_ONLY_FACTOR * max_bytes if read_only_max_bytes is None else max(read_only_max_bytes, max_bytes)
    try:
        # Stat before opening: opening a FIFO or device for reading could block for ever.
        info = os.stat(file)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(file))
        if not stat.S_ISREG(info.st_mode):
            raise TextFileError(f"{name} is not a regular file (it may be a device or a pipe); open a normal file.")
        with open(file, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_size > limit:
                raise TextFileError(
                    f"{name} is {human_bytes(info.st_size)}, too big for the editor (the limit is "
                    f"{human_bytes(limit)}); open it with another program."
                )
            data = handle.read(limit + 1)
    except OSError as err:
        raise TextFileError(_read_problem(name, err)) from err
    if len(data) > limit:  # it grew while we were reading
        raise TextFileError(
            f"{name} is bigger than {human_bytes(limit)}, too big for the editor; open it with another program."
        )

    notices = []
    read_only = len(data) > max_bytes
    if read_only:
        notices.append(
            f"{name} is {human_bytes(len(data))}, over the {human_bytes(max_bytes)} editing limit, "
            "so it is open read-only."
        )
    text, used_encoding, decode_notices = _decode(data, name, encoding)
    text, newline, newline_notices = _split_newlines(text, name)
    notices += decode_notices + newline_notices
    return LoadedText(
        path=file,
        text=text,
        encoding=used_encoding,
        newline=newline,
        mtime_ns=info.st_mtime_ns,
        size=len(data),
        read_only=read_only,
        notice=" ".join(notices) or None,
    )


def _encode(text: str, encoding: str, newline: str, name: str) -> bytes:
    if newline not in _NEWLINE_NAMES:
        raise ValueError(f"newline must be one of {sorted(_NEWLINE_NAMES)!r}, not {newline!r}")
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise TextFileError(
            f"Python does not know the encoding {encoding!r}; save the file as UTF-8 instead."
        ) from None
    # Byte-order-marked UTF-16/32 are always written little-endian, whatever the machine.
    bom, codec = {"utf-16": (codecs.BOM_UTF16_LE, "utf-16-le"), "utf-32": (codecs.BOM_UTF32_LE, "utf-32-le")}.get(
        codec, (b"", codec)
    )
    try:
        return bom + (text if newline == "\n" else text.replace("\n", newline)).encode(codec)
    except UnicodeEncodeError:
        pass
    # Find the culprit in the editor's own text, so line and column match what the user sees.
    try:
        text.encode(codec)
        raise AssertionError("encoding failed only after changing line endings")  # pragma: no cover
    except UnicodeEncodeError as err:
        line = text.count("\n", 0, err.start) + 1
        column = err.start - (text.rfind("\n", 0, err.start) + 1) + 1
        char = text[err.start]
        raise UnencodableTextError(
            f"{name} cannot be saved as {encoding}: {char!r} (U+{ord(char):04X}) on line {line}, column {column} "
            f"has no {encoding} form; remove it or save the file as UTF-8.",
            encoding,
            line,
            column,
        ) from None


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on Windows."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create_temporary(folder: Path, name: str) -> tuple[Path, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        candidate = folder / f".{name}.{secrets.token_hex(4)}.quillpad-tmp"
        try:
            # 0o666 lets the umask decide, as for any new file the user creates.
            return candidate, os.open(candidate, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not pick a temporary file name", str(folder))


def save_text_atomic(path: str | Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> int:
    """Write ``text`` (with ``\\n`` line endings) to ``path`` atomically; return the new mtime_ns.

    The bytes go to a temporary file in the same folder, which is flushed and
    fsynced, given the original's permission bits and renamed over it
    (``os.replace``). A symbolic link is followed, so the link stays a link.
    On any failure the original file is untouched, the temporary file is
    removed and ``TextFileError`` says what went wrong;
    ``UnencodableTextError`` when the encoding cannot store the text.
    """
    target = Path(os.path.realpath(Path(path).expanduser()))
    name = target.name
    data = _encode(text, encoding, newline, name)
    try:
        original: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        original = None
    except OSError as err:
        raise TextFileError(_write_problem(name, err)) from err
    if original is not None:
        if stat.S_ISDIR(original.st_mode):
            raise TextFileError(f"{name} is a folder; choose a file name with Save As.")
        if not stat.S_ISREG(original.st_mode):
            raise TextFileError(f"{name} is not a regular file; save somewhere else with Save As.")
        # Replacing a read-only file by rename would work, but would defeat its protection.
        if not os.access(target, os.W_OK):
            raise TextFileError(f"{name} is read-only; save a copy under another name with Save As.")

    temporary: Path | None = None
    try:
        temporary, fd = _create_temporary(target.parent, name)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if original is not None:
            os.chmod(temporary, stat.S_IMODE(original.st_mode))
            if hasattr(os, "chown") and (original.st_uid, original.st_gid) != (os.getuid(), os.getgid()):
                # Keep a shared file's owner and group where we are allowed to.
                with contextlib.suppress(OSError):
                    os.chown(temporary, original.st_uid, original.st_gid)
        os.replace(temporary, target)
        temporary = None
    except OSError as err:
        raise TextFileError(_write_problem(name, err)) from err
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
    _fsync_folder(target.parent)
    try:
        return os.stat(target).st_mtime_ns
    except OSError as err:  # saved, but gone already (another program moved it)
        raise TextFileError(_read_problem(name, err)) from err
