"""Fixtures for the remote backend: a real llama-cpp-python server, a scripted fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.bench.llama_server import LlamaServer
from tests.fixtures.fake_openai_server import FakeOpenAIServer
from tests.fixtures.memory_keyring import MemoryKeyring

API_KEY = "test-key-123"


@pytest.fixture
def llama_server(qwen3_gguf: Path, tmp_path: Path) -> Iterator[LlamaServer]:
    """llama-cpp-python's own server with the tiny Qwen3 model, on 127.0.0.1."""
    server = LlamaServer(qwen3_gguf, alias="tiny-qwen3", log_path=tmp_path / "llama-server.log")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def keyed_llama_server(qwen3_gguf: Path, tmp_path: Path) -> Iterator[LlamaServer]:
    """The same, requiring ``API_KEY``."""
    server = LlamaServer(qwen3_gguf, alias="tiny-qwen3", api_key=API_KEY, log_path=tmp_path / "llama-server.log")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def memory_keyring() -> Iterator[dict[tuple[str, str], str]]:
    """The isolated test keyring, emptied before and after."""
    MemoryKeyring.store.clear()
    yield MemoryKeyring.store
    MemoryKeyring.store.clear()
