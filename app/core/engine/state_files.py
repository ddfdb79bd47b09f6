"""The on-disk form of a saved engine state, checked before use.

A state file is what llama.cpp's KV cache held after a reply (from its public
``llama_state_get_data``), with the tokens it covers, so that reopening a
conversation evaluates only the new turn. It is only good for the exact
model file, llama.cpp build, context size and KV settings that wrote it;
the header says which, and a file that does not match, is cut short, fails
its checksum or was written by a newer Quillpad is refused with a reason
(the caller logs it and recomputes the prompt).

Layout: ``MAGIC``, a little-endian uint32 header length, the header as JSON,
the tokens as int32, then the state bytes.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

MAGIC = b"QPSTATE\n"
FORMAT_VERSION = 1
SUFFIX = ".qpstate"
_MAX_HEADER = 64 * 1024


class StateFileError(Exception):
    """A state file that must not be used; the message says why (for the log)."""


@dataclass(frozen=True)
class StateIdentity:
    """What a saved state is valid for."""

    model_sha256: str
    llama_build: str  # llama-cpp-python's version: it pins the bundled llama.cpp
    context_length: int
    kv_settings: str  # settings that change the KV cache's layout or values

    def key(self) -> str:
        """A short stable text naming this identity (part of file names)."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class StateHeader:
    """A file's header: identity, token count, payload size and checksum."""

    format_version: int
    identity: StateIdentity
    n_tokens: int
    payload_bytes: int
    crc32: int


def _header_bytes(header: StateHeader) -> bytes:
    data = asdict(header)
    return json.dumps(data, sort_keys=True).encode("utf-8")


def write_state_file(path: Path, identity: StateIdentity, tokens: np.ndarray, payload: bytes) -> int:
    """Write a state file atomically (a ``.part`` file, then renamed); returns its size.

    On any ``OSError`` (a full disk) the partial file is removed and the
    error raised again.
    """
    token_bytes = np.ascontiguousarray(tokens, dtype="<i4").tobytes()
    crc = zlib.crc32(payload, zlib.crc32(token_bytes))
    header = _header_bytes(StateHeader(FORMAT_VERSION, identity, len(tokens), len(payload), crc))
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") as out:
            out.write(MAGIC)
            out.write(struct.pack("<I", len(header)))
            out.write(header)
            out.write(token_bytes)
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
    except OSError:
        part.unlink(missing_ok=True)
        raise
    return len(MAGIC) + 4 + len(header) + len(token_bytes) + len(payload)


def read_header(path: Path) -> tuple[StateHeader, np.ndarray, int]:
    """The header, tokens and payload offset of a state file; ``StateFileError`` if unreadable."""
    try:
        with open(path, "rb") as src:
            if src.read(len(MAGIC)) != MAGIC:
                raise StateFileError("not a Quillpad state file")
            raw_len = src.read(4)
            if len(raw_len) != 4:
                raise StateFileError("the file is cut short (no header)")
            (length,) = struct.unpack("<I", raw_len)
            if length > _MAX_HEADER:
                raise StateFileError("the header is implausibly large")
            raw = src.read(length)
            if len(raw) != length:
                raise StateFileError("the file is cut short (in the header)")
            try:
                data = json.loads(raw)
                version = int(data["format_version"])
            except (ValueError, KeyError, TypeError) as err:
                raise StateFileError(f"the header is damaged ({err})") from err
            if version > FORMAT_VERSION:
                raise StateFileError(
                    f"it was written by a newer Quillpad (state format {version}, this one reads {FORMAT_VERSION})"
                )
            try:
                header = StateHeader(
                    format_version=version,
                    identity=StateIdentity(**data["identity"]),
                    n_tokens=int(data["n_tokens"]),
                    payload_bytes=int(data["payload_bytes"]),
                    crc32=int(data["crc32"]),
                )
            except (KeyError, TypeError, ValueError) as err:
                raise StateFileError(f"the header is damaged ({err})") from err
            token_bytes = src.read(header.n_tokens * 4)
            if len(token_bytes) != header.n_tokens * 4:
                raise StateFileError("the file is cut short (in the tokens)")
    except OSError as err:
        raise StateFileError(f"it cannot be read ({err.strerror or err})") from err
    offset = len(MAGIC) + 4 + length + len(token_bytes)
    return header, np.frombuffer(token_bytes, dtype="<i4").astype(np.intc), offset


def identity_mismatch(theirs: StateIdentity, mine: StateIdentity) -> str | None:
    """Why a state saved for ``theirs`` cannot be used with ``mine``; None if it can."""
    if theirs.model_sha256 != mine.model_sha256:
        return "it was saved with another model file"
    if theirs.llama_build != mine.llama_build:
        return f"it was saved by another llama.cpp build ({theirs.llama_build})"
    if theirs != mine:
        return "it was saved with another context size or KV cache settings"
    return None


def read_state_file(path: Path, identity: StateIdentity) -> tuple[np.ndarray, bytes]:
    """The tokens and state bytes of a file written for ``identity``.

    Raises ``StateFileError`` saying why the file cannot be used: another
    model, another llama.cpp build or context, a newer format, cut short,
    or a checksum that does not match.
    """
    header, tokens, offset = read_header(path)
    mismatch = identity_mismatch(header.identity, identity)
    if mismatch:
        raise StateFileError(mismatch)
    try:
        size = path.stat().st_size
        if size != offset + header.payload_bytes:
            raise StateFileError(
                f"the file is cut short or padded ({size:,} bytes, expected {offset + header.payload_bytes:,})"
            )
        with open(path, "rb") as src:
            src.seek(offset)
            payload = src.read(header.payload_bytes)
    except OSError as err:
        raise StateFileError(f"it cannot be read ({err.strerror or err})") from err
    if len(payload) != header.payload_bytes:
        raise StateFileError("the file is cut short (in the state)")
    token_bytes = np.ascontiguousarray(tokens, dtype="<i4").tobytes()
    if zlib.crc32(payload, zlib.crc32(token_bytes)) != header.crc32:
        raise StateFileError("its checksum does not match (the file is damaged)")
    return tokens, payload
