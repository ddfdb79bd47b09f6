"""The bounded header reader on valid, damaged and random files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gguf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import ModelFileError
from app.core.gguf_header import ArrayValue, read_gguf_header
from tests.fixtures.malformed_gguf import MalformedCase, corpus, cut_points, small_valid_bytes, write_small_valid


@pytest.fixture(scope="module")
def small_valid(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_small_valid(tmp_path_factory.mktemp("small") / "small.gguf")


def test_reads_every_value_type(tmp_path: Path) -> None:
    write_small_valid(tmp_path / "s.gguf")
    header = read_gguf_header(tmp_path / "s.gguf")
    meta = header.metadata
    assert header.version == 3 and not header.big_endian
    assert (meta["test.u8"], meta["test.i8"], meta["test.u16"], meta["test.i16"]) == (7, -7, 700, -700)
    assert (meta["test.u32"], meta["test.i32"], meta["test.u64"], meta["test.i64"]) == (70000, -70000, 2**40, -(2**40))
    assert (meta["test.f32"], meta["test.f64"], meta["test.bool"]) == (1.5, 2.5, True)
    assert meta["test.strings"] == ArrayValue(meta["test.strings"].item_type, 3, ("a", "bc", "déf"))
    assert meta["test.ints"].values == (1, 2, 3)
    assert [t.name for t in header.tensors] == ["a.weight", "b.weight"]
    assert header.tensors[1].shape == (32, 2) and header.tensors[1].n_elements == 64


def test_long_arrays_keep_only_their_length(qwen3_gguf: Path) -> None:
    header = read_gguf_header(qwen3_gguf)
    tokens = header.metadata["tokenizer.ggml.tokens"]
    assert tokens.length > 256 and tokens.values is None


@pytest.mark.parametrize("case", corpus(small_valid_bytes()), ids=lambda c: c.name)
def test_malformed_file_is_refused_with_one_sentence(case: MalformedCase, tmp_path: Path) -> None:
    path = tmp_path / f"{case.name}.gguf"
    path.write_bytes(case.data)
    with pytest.raises(ModelFileError) as err:
        read_gguf_header(path, timeout=5)  # the reader bounds its own work
    message = str(err.value)
    assert case.expect.lower() in message.lower()
    assert "\n" not in message and message.endswith(".")


def test_every_cut_point_is_refused(small_valid: bytes, tmp_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    for size, data in cut_points(small_valid):
        path.write_bytes(data)
        with pytest.raises(ModelFileError):
            read_gguf_header(path)
        assert size < len(small_valid)


def test_cut_points_of_a_real_model_header(qwen3_gguf: Path, tmp_path: Path) -> None:
    data = qwen3_gguf.read_bytes()
    header_end = read_gguf_header(qwen3_gguf).data_offset
    path = tmp_path / "cut.gguf"
    # Every 7th byte of the header, plus points inside the tensor data.
    for size in [*range(0, header_end, 7), header_end, header_end + 1, len(data) // 2, len(data) - 1]:
        path.write_bytes(data[:size])
        with pytest.raises(ModelFileError):
            read_gguf_header(path)


def test_missing_folder_and_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no model file"):
        read_gguf_header(tmp_path / "nope.gguf")
    with pytest.raises(ModelFileError, match="folder"):
        read_gguf_header(tmp_path)
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.gguf"
        locked.write_bytes(b"GGUF")
        locked.chmod(0)
        with pytest.raises(ModelFileError, match="permission"):
            read_gguf_header(locked)


def test_big_endian_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "be.gguf"
    path.write_bytes(small_valid_bytes(gguf.GGUFEndian.BIG))
    header = read_gguf_header(path)
    assert header.big_endian and header.version == 3
    assert header.metadata["test.u32"] == 70000 and header.metadata["test.i64"] == -(2**40)
    assert header.metadata["general.name"] == "Small"


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes_never_crash(data: bytes) -> None:
    _read_bytes(b"GGUF" + data[4:] if data[:1] == b"\x00" else data)


@settings(max_examples=300, deadline=2000)
@given(st.data())
def test_mutated_valid_files_never_crash(data: st.DataObject) -> None:
    base = bytearray(_SMALL_VALID)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(base) - 1))
        base[pos] = data.draw(st.integers(0, 255))
    _read_bytes(bytes(base[: data.draw(st.integers(0, len(base)))]))


_SMALL_VALID = small_valid_bytes()


def _read_bytes(data: bytes) -> None:
    """Reading arbitrary bytes either succeeds or refuses cleanly, quickly."""
    fd, name = tempfile.mkstemp(suffix=".gguf")
    try:
        os.write(fd, data)
        os.close(fd)
        try:
            read_gguf_header(name, timeout=2)  # the reader bounds its own work
        except ModelFileError as err:
            assert str(err) and "\n" not in str(err)
    finally:
        os.unlink(name)
