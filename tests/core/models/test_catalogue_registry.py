"""The shipped catalogue, its validation, and the registry of installed models."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from app.core.gguf_info import RUNTIME_OVERHEAD_BYTES
from app.core.models.catalogue import CatalogueError, load_catalogue, parse_catalogue
from app.core.models.registry import ModelNotInstalledError, ModelRegistry, VerifyError
from tests.core.models.conftest import tiny_catalogue_data


def test_shipped_catalogue_has_the_qwen3_family() -> None:
    catalogue = load_catalogue()
    chat = [m for m in catalogue.models if m.purpose == "chat"]
    assert [m.id for m in chat] == [
        "qwen3-0.6b",
        "qwen3-1.7b",
        "qwen3-4b",
        "qwen3-8b",
        "qwen3-14b",
        "qwen3-32b",
        "qwen3-30b-a3b",
    ]
    for model in chat:
        assert model.repo == f"Qwen/{model.name.split(' (')[0].replace(' ', '-')}-GGUF"
        assert model.licence == "Apache-2.0"
        for entry in model.files:
            assert re.fullmatch(rf"{model.repo.split('/')[1][:-5]}-{entry.quant}\.gguf", entry.filename)


def test_shipped_catalogue_has_completion_models() -> None:
    completion = {m.id: m for m in load_catalogue().models if m.purpose == "completion"}
    assert list(completion) == [
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-3b",
        "qwen2.5-coder-7b",
        "qwen3-coder-30b-a3b",
    ]
    for model in completion.values():
        assert "(for completion)" in model.name
        if model.repo.startswith("Qwen/Qwen2.5-Coder-"):
            size = model.repo.split("-")[2].lower()  # "1.5b"
            assert model.repo == f"Qwen/Qwen2.5-Coder-{size.upper()}-Instruct-GGUF"
            for entry in model.files:
                assert entry.filename == f"qwen2.5-coder-{size}-instruct-{entry.quant.lower()}.gguf"
    assert completion["qwen3-coder-30b-a3b"].files[0].filename == "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf"


def test_shipped_ram_figures() -> None:
    catalogue = load_catalogue()
    for model in catalogue.models:
        for entry in model.files:
            # ram_gb agrees with weights + KV cache at 8k + the runtime allowance.
            computed = entry.size_gb * 1e9 + model.kv_bytes_per_token() * 8192 + RUNTIME_OVERHEAD_BYTES
            assert abs(entry.ram_gb * 1e9 - computed) < 0.1e9
    assert catalogue.resolve("qwen3-8b").file.filename == "Qwen3-8B-Q4_K_M.gguf"
    assert catalogue.resolve("QWEN3-1.7B").file.quant == "Q8_0"
    assert catalogue.resolve("qwen3-30b-a3b-q6_k").file.filename == "Qwen3-30B-A3B-Q6_K.gguf"
    assert "16 GB" in catalogue.resolve("qwen3-8b").model.recommendation
    assert "8 GB" in catalogue.resolve("qwen3-1.7b").model.recommendation


def test_unknown_ids_and_quantisations_are_clear_errors() -> None:
    catalogue = load_catalogue()
    with pytest.raises(CatalogueError, match="no model 'qwen9' in the catalogue"):
        catalogue.resolve("qwen9")
    with pytest.raises(CatalogueError, match="has no Q2_K file; choose one of Q4_K_M"):
        catalogue.resolve("qwen3-8b").model.file("q2_k")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["model"][0].update(default_quant="Q4_K_M"), "model.0"),
        (lambda d: d["model"][0]["files"][0].update(filename="evil/../x.gguf"), "model.0.files.0.filename"),
        (lambda d: d["model"][0]["files"][0].update(ram_gb=0.0001), "model.0.files.0"),
        (lambda d: d["model"][0].update(surprise=1), "model.0.surprise"),
        (lambda d: d["model"].append(copy.deepcopy(d["model"][0])), "its top level"),
    ],
)
def test_a_damaged_catalogue_names_the_problem(change, where: str) -> None:  # type: ignore[no-untyped-def]
    data = tiny_catalogue_data()
    change(data)
    with pytest.raises(CatalogueError, match=rf"damaged at {re.escape(where)}"):
        parse_catalogue(data)


def test_registry_lists_folder_files_links_and_never_partials(tmp_path: Path, qwen3_gguf: Path) -> None:
    registry = ModelRegistry(tmp_path / "models")
    registry.folder.mkdir()
    (registry.folder / "Mine.gguf").write_bytes(qwen3_gguf.read_bytes())
    registry.partial_dir.mkdir()
    (registry.partial_dir / "Qwen3-8B-Q4_K_M.gguf.part").write_bytes(b"GGUF half")
    registry.link(qwen3_gguf)
    models = registry.installed()
    assert [(m.id, m.source) for m in models] == [("mine", "folder"), ("tiny-qwen3", "linked")]
    assert models[1].path == str(qwen3_gguf.resolve())

    with pytest.raises(VerifyError, match="not downloaded by Quillpad"):
        registry.verify("mine")
    removed = registry.remove("tiny-qwen3")  # forgets the link, keeps the file
    assert removed.source == "linked" and qwen3_gguf.is_file()
    registry.remove("mine")
    assert not (registry.folder / "Mine.gguf").exists()
    assert registry.installed() == []
    with pytest.raises(ModelNotInstalledError, match="No installed model is called 'mine'"):
        registry.remove("mine")


def test_verify_detects_a_damaged_download(tmp_path: Path, qwen3_gguf: Path) -> None:
    registry = ModelRegistry(tmp_path / "models")
    registry.folder.mkdir()
    target = registry.folder / "Qwen3-Tiny-Q8_0.gguf"
    data = bytearray(qwen3_gguf.read_bytes())
    target.write_bytes(data)
    import hashlib

    registry.record_download(
        target.name,
        catalogue_id="qwen3-tiny-q8_0",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        repo="Qwen/Qwen3-Tiny-GGUF",
        commit=None,
    )
    assert registry.verify("qwen3-tiny-q8_0").source == "download"
    data[-1] ^= 0xFF
    target.write_bytes(data)
    with pytest.raises(VerifyError, match="is damaged: its sha256 is"):
        registry.verify("qwen3-tiny-q8_0")
