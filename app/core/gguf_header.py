"""Bounded, validating reader for the header of a GGUF file.

Why not ``gguf.GGUFReader``: it builds a numpy view for every element of every
array (about 11 s for Qwen3's 152k-token vocabulary) and trusts the counts in
the file, so a damaged header can make it loop for ever. This reader uses the
``gguf`` package's format constants, walks the header once through a
read-only memory map, checks every count and length against the bytes that
are really there, and never touches tensor data. Hostile input costs at most
a walk over the file's own bytes, under a deadline.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGMLQuantizationType, GGUFValueType

from app.core.errors import ModelFileError

SUPPORTED_VERSIONS = (2, 3)
# Arrays at most this long keep their values; longer ones (vocabularies,
# merges) only their length, which is all the inspector needs.
KEEP_ARRAY_VALUES_UP_TO = 256
MAX_KEY_LENGTH = 65_535
MAX_TENSOR_NAME_LENGTH = 63  # GGML_MAX_NAME - 1
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_ARRAY_NESTING = 4
_INT64_MAX = 2**63 - 1

# Smallest possible encodings, used to reject counts that cannot fit.
_MIN_KV_BYTES = 8 + 1 + 4 + 1  # key length, 1-byte key, type, 1-byte value
_MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8  # name len, name, n_dims, 1 dim, type, offset

_SCALAR_FORMATS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "B",
    GGUFValueType.INT8: "b",
    GGUFValueType.UINT16: "H",
    GGUFValueType.INT16: "h",
    GGUFValueType.UINT32: "I",
    GGUFValueType.INT32: "i",
    GGUFValueType.FLOAT32: "f",
    GGUFValueType.BOOL: "?",
    GGUFValueType.UINT64: "Q",
    GGUFValueType.INT64: "q",
    GGUFValueType.FLOAT64: "d",
}


@dataclass(frozen=True)
class ArrayValue:
    """A metadata array: its element type, length and (for short ones) values."""

    item_type: GGUFValueType
    length: int
    values: tuple[Any, ...] | None  # None when the array is too long to keep


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's entry in the header (its data is never read)."""

    name: str
    shape: tuple[int, ...]
    ggml_type: GGMLQuantizationType
    offset: int  # relative to the start of the data section
    n_elements: int
    n_bytes: int


@dataclass(frozen=True)
class GGUFHeader:
    """Everything in a GGUF file except the tensor data."""

    path: Path
    file_size: int
    version: int
    big_endian: bool
    metadata: dict[str, Any]
    tensors: list[TensorInfo] = field(default_factory=list)
    alignment: int = GGUF_DEFAULT_ALIGNMENT
    data_offset: int = 0

    def array_length(self, key: str) -> int | None:
        value = self.metadata.get(key)
        return value.length if isinstance(value, ArrayValue) else None


class _Cursor:
    """Reads little- or big-endian values from a buffer with bounds checks."""

    def __init__(self, buf: mmap.mmap, path: Path, deadline: float) -> None:
        self.buf = buf
        self.size = len(buf)
        self.pos = 0
        self.path = path
        self.name = path.name
        self.endian = "<"
        self.deadline = deadline
        self._ticks = 0

    def damaged(self, what: str) -> ModelFileError:
        return ModelFileError(
            f"{self.name} is damaged or not a complete GGUF file ({what}); download or convert it again."
        )

    def remaining(self) -> int:
        return self.size - self.pos

    def tick(self) -> None:
        # Checking the clock on every element would dominate the loop.
        self._ticks += 1
        if self._ticks & 0xFFF == 0 and time.monotonic() > self.deadline:
            raise ModelFileError(
                f"Reading {self.name} took too long, so it was stopped; "
                "the file may be damaged or on a very slow drive."
            )

    def need(self, n: int, what: str) -> None:
        if n > self.remaining():
            raise ModelFileError(
                f"{self.name} is truncated: {what} at byte {self.pos} runs past the end of the file "
                f"({self.size} bytes); the download was probably interrupted, so download it again."
            )

    def scalar(self, fmt: str, what: str) -> Any:
        size = struct.calcsize(fmt)
        self.need(size, what)
        (value,) = struct.unpack_from(self.endian + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def u32(self, what: str) -> int:
        return int(self.scalar("I", what))

    def u64(self, what: str) -> int:
        return int(self.scalar("Q", what))

    def string(self, what: str, max_length: int | None = None) -> str:
        length = self.u64(f"length of {what}")
        if max_length is not None and length > max_length:
            raise self.damaged(f"{what} claims a length of {length} bytes")
        self.need(length, what)
        raw = self.buf[self.pos : self.pos + length]
        self.pos += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.damaged(f"{what} is not valid UTF-8") from None

    def skip_string(self, what: str) -> None:
        length = self.u64(f"length of {what}")
        self.need(length, what)
        self.pos += length


def _value_type(cursor: _Cursor, raw: int, what: str) -> GGUFValueType:
    try:
        return GGUFValueType(raw)
    except ValueError:
        raise cursor.damaged(f"{what} has unknown value type {raw}") from None


def _read_value(cursor: _Cursor, vtype: GGUFValueType, what: str, depth: int = 0) -> Any:
    if vtype == GGUFValueType.STRING:
        return cursor.string(what)
    if vtype == GGUFValueType.ARRAY:
        return _read_array(cursor, what, depth)
    return cursor.scalar(_SCALAR_FORMATS[vtype], what)


def _read_array(cursor: _Cursor, what: str, depth: int) -> ArrayValue:
    if depth >= MAX_ARRAY_NESTING:
        raise cursor.damaged(f"{what} nests arrays more than {MAX_ARRAY_NESTING} deep")
    item_type = _value_type(cursor, cursor.u32(f"element type of {what}"), what)
    length = cursor.u64(f"length of {what}")
    min_item = 8 if item_type == GGUFValueType.STRING else 12
    if item_type in _SCALAR_FORMATS:
        min_item = struct.calcsize(_SCALAR_FORMATS[item_type])
    if length > cursor.remaining() // min_item:
        raise cursor.damaged(f"{what} claims {length} elements, more than the file can hold")
    keep = length <= KEEP_ARRAY_VALUES_UP_TO
    if item_type in _SCALAR_FORMATS:
        fmt = _SCALAR_FORMATS[item_type]
        size = struct.calcsize(fmt) * length
        values: tuple[Any, ...] | None = None
        if keep:
            values = struct.unpack_from(f"{cursor.endian}{length}{fmt}", cursor.buf, cursor.pos)
        cursor.pos += size
        return ArrayValue(item_type, length, values)
    kept: list[Any] = []
    for index in range(length):
        cursor.tick()
        item_what = f"element {index} of {what}"
        if item_type == GGUFValueType.STRING and not keep:
            cursor.skip_string(item_what)
        else:
            item = _read_value(cursor, item_type, item_what, depth + 1)
            if keep:
                kept.append(item)
    return ArrayValue(item_type, length, tuple(kept) if keep else None)


def _read_metadata(cursor: _Cursor, count: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for index in range(count):
        cursor.tick()
        key = cursor.string(f"metadata key {index}", MAX_KEY_LENGTH)
        if key in metadata:
            raise cursor.damaged(f"metadata key {key!r} appears twice")
        vtype = _value_type(cursor, cursor.u32(f"type of {key!r}"), repr(key))
        metadata[key] = _read_value(cursor, vtype, f"value of {key!r}")
    return metadata


def _tensor_type(cursor: _Cursor, raw: int, name: str) -> GGMLQuantizationType:
    try:
        ggml_type = GGMLQuantizationType(raw)
    except ValueError:
        raise cursor.damaged(f"tensor {name!r} has unknown data type {raw}") from None
    if ggml_type not in GGML_QUANT_SIZES:
        raise cursor.damaged(f"tensor {name!r} has data type {ggml_type.name}, which has no known size")
    return ggml_type


def _read_tensor_infos(cursor: _Cursor, count: int) -> list[TensorInfo]:
    tensors: list[TensorInfo] = []
    names: set[str] = set()
    for index in range(count):
        cursor.tick()
        name = cursor.string(f"name of tensor {index}", MAX_TENSOR_NAME_LENGTH)
        if name in names:
            raise cursor.damaged(f"tensor {name!r} appears twice")
        names.add(name)
        n_dims = cursor.u32(f"dimension count of tensor {name!r}")
        if not 1 <= n_dims <= MAX_DIMS:
            raise cursor.damaged(f"tensor {name!r} claims {n_dims} dimensions")
        shape = tuple(cursor.u64(f"dimension of tensor {name!r}") for _ in range(n_dims))
        n_elements = 1
        for dim in shape:
            if dim > _INT64_MAX or (dim and n_elements > _INT64_MAX // dim):
                raise cursor.damaged(f"tensor {name!r} has an impossibly large shape {shape}")
            n_elements *= dim
        ggml_type = _tensor_type(cursor, cursor.u32(f"type of tensor {name!r}"), name)
        block_size, type_size = GGML_QUANT_SIZES[ggml_type]
        if shape[0] % block_size:
            raise cursor.damaged(f"tensor {name!r} has a row of {shape[0]} values, not a multiple of {block_size}")
        offset = cursor.u64(f"data offset of tensor {name!r}")
        n_bytes = n_elements // block_size * type_size
        tensors.append(TensorInfo(name, shape, ggml_type, offset, n_elements, n_bytes))
    return tensors


def _check_alignment(cursor: _Cursor, metadata: dict[str, Any]) -> int:
    alignment = metadata.get("general.alignment", GGUF_DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 or alignment & (alignment - 1):
        raise cursor.damaged(f"general.alignment is {alignment!r}, not a power of two")
    return alignment


def _check_tensor_layout(cursor: _Cursor, tensors: list[TensorInfo], data_offset: int, alignment: int) -> None:
    """Tensors must be packed in order, each aligned, all inside the file.

    llama.cpp requires the same; checking here means a truncated download is
    named as such instead of failing deep inside the loader.
    """
    expected = 0
    for tensor in tensors:
        if tensor.offset != expected:
            raise cursor.damaged(f"tensor {tensor.name!r} starts at offset {tensor.offset}, expected {expected}")
        expected += (tensor.n_bytes + alignment - 1) // alignment * alignment
    end = data_offset
    if tensors:
        last = tensors[-1]
        end = data_offset + last.offset + last.n_bytes
    if end > cursor.size:
        raise ModelFileError(
            f"{cursor.name} is truncated: its tensor data needs {end} bytes but the file has only "
            f"{cursor.size}; the download was probably interrupted, so download it again."
        )


def _reject_other_formats(path: Path, head: bytes) -> None:
    """Name the common wrong files so the user knows what to do instead."""
    name = path.name
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg", b"ggml", b"ggmf", b"ggjt"):
        raise ModelFileError(
            f"{name} is an old GGML-format model, which llama.cpp no longer reads; download a GGUF version instead."
        )
    if head[:2] == b"PK":
        raise ModelFileError(
            f"{name} is a PyTorch/zip checkpoint, not a GGUF model; download a GGUF version or convert it "
            "with llama.cpp's convert_hf_to_gguf.py."
        )
    if len(head) >= 9 and head[8:9] == b"{":
        raise ModelFileError(
            f"{name} looks like a safetensors file, not a GGUF model; download a GGUF version or convert it "
            "with llama.cpp's convert_hf_to_gguf.py."
        )
    raise ModelFileError(f"{name} is not a GGUF model file (it does not start with 'GGUF'); choose a .gguf file.")


def _open_checked(path: Path) -> int:
    """Return the file size, or raise a plain message for the usual mistakes."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ModelFileError(f"There is no model file at {path}; check the path and try again.") from None
    except OSError as err:
        raise ModelFileError(f"Cannot read {path}: {err.strerror}; check the path and its permissions.") from None
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file; choose the .gguf file inside it.")
    if stat.st_size == 0:
        raise ModelFileError(f"{path.name} is empty (0 bytes); the download or copy failed, so get the file again.")
    if not os.access(path, os.R_OK):
        raise ModelFileError(f"Cannot read {path}: permission denied; check the file's permissions.")
    return stat.st_size


def read_gguf_header(path: str | os.PathLike[str], timeout: float = 5.0) -> GGUFHeader:
    """Read and validate a GGUF file's header, metadata and tensor table.

    Raises ``ModelFileError`` with a one-sentence message for anything that
    is not a complete, well-formed GGUF file. Tensor data is never read, and
    the work is bounded by the file's size and ``timeout`` seconds.
    """
    path = Path(path)
    file_size = _open_checked(path)
    deadline = time.monotonic() + timeout
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(path, buf, file_size, deadline)
    except OSError as err:
        raise ModelFileError(f"Cannot read {path}: {err.strerror or err}; check the file and try again.") from None


def _parse(path: Path, buf: mmap.mmap, file_size: int, deadline: float) -> GGUFHeader:
    cursor = _Cursor(buf, path, deadline)
    if buf[:4] != b"GGUF":
        _reject_other_formats(path, bytes(buf[:16]))
    cursor.pos = 4
    version = cursor.u32("version")
    big_endian = False
    if version & 0xFFFF == 0 and version:
        # A version of 0x03000000 means the file was written big-endian.
        big_endian = True
        cursor.endian = ">"
        version = struct.unpack(">I", struct.pack("<I", version))[0]
    if version == 1:
        raise ModelFileError(
            f"{path.name} uses GGUF version 1, which llama.cpp no longer reads; download a newer conversion of it."
        )
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(
            f"{path.name} uses GGUF version {version}, which this Quillpad does not know; "
            "update Quillpad or use a file converted with a current llama.cpp."
        )
    tensor_count = cursor.u64("tensor count")
    kv_count = cursor.u64("metadata count")
    if kv_count > cursor.remaining() // _MIN_KV_BYTES:
        raise cursor.damaged(f"the header claims {kv_count} metadata entries, more than the file can hold")
    if tensor_count > cursor.remaining() // _MIN_TENSOR_INFO_BYTES:
        raise cursor.damaged(f"the header claims {tensor_count} tensors, more than the file can hold")
    metadata = _read_metadata(cursor, kv_count)
    tensors = _read_tensor_infos(cursor, tensor_count)
    alignment = _check_alignment(cursor, metadata)
    data_offset = (cursor.pos + alignment - 1) // alignment * alignment
    _check_tensor_layout(cursor, tensors, data_offset, alignment)
    return GGUFHeader(
        path=path,
        file_size=file_size,
        version=version,
        big_endian=big_endian,
        metadata=metadata,
        tensors=tensors,
        alignment=alignment,
        data_offset=data_offset,
    )
