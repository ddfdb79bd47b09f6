"""The inspector on the tiny fixture models."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ModelFileError
from app.core.gguf_info import (
    RUNTIME_OVERHEAD_BYTES,
    human_count,
    human_size,
    inspect_model,
)
from tests.fixtures.malformed_gguf import write_no_arch, write_unknown_arch
from tests.fixtures.tiny_gguf import QWEN3, QWEN3_MOE, build_vocab


def _expected_params(moe: bool) -> int:
    spec = QWEN3_MOE if moe else QWEN3
    n_vocab = len(build_vocab().tokens)
    head = spec.n_embd // spec.n_head
    attn = spec.n_embd * head * (2 * spec.n_head + 2 * spec.n_head_kv) + 2 * head + 2 * spec.n_embd
    ffn = 3 * spec.n_embd * spec.n_ff * (spec.n_expert or 1) + (spec.n_expert * spec.n_embd if moe else 0)
    return 2 * n_vocab * spec.n_embd + spec.n_embd + spec.n_layer * (attn + ffn)


def test_qwen3_dense_facts(qwen3_gguf: Path) -> None:
    info = inspect_model(qwen3_gguf)
    assert info.architecture == "qwen3"
    assert info.name == "Tiny Qwen3"
    assert info.quantization == "Q8_0" and not info.quantization_guessed
    assert info.context_length == 4096
    assert (info.layers, info.heads, info.kv_heads, info.head_dim) == (2, 4, 2, 16)
    assert info.embedding_length == 64
    assert info.expert_count is None and not info.is_moe
    assert info.vocab_size == len(build_vocab().tokens)
    assert info.tokenizer_model == "gpt2"
    assert info.has_chat_template and info.supports_thinking_switch
    assert info.parameter_count == _expected_params(moe=False)
    assert info.file_size == qwen3_gguf.stat().st_size
    assert 0 < info.weights_bytes < info.file_size


def test_qwen3_moe_facts(qwen3moe_gguf: Path) -> None:
    info = inspect_model(qwen3moe_gguf)
    assert info.architecture == "qwen3moe"
    assert info.is_moe and info.expert_count == 4 and info.experts_used == 2
    assert info.quantization == "F32"
    assert info.parameter_count == _expected_params(moe=True)


def test_model_without_template(no_template_gguf: Path) -> None:
    info = inspect_model(no_template_gguf)
    assert info.architecture == "qwen3"
    assert not info.has_chat_template and not info.supports_thinking_switch
    assert info.chat_template is None


def test_ram_estimate_counts_weights_and_kv_cache(qwen3_gguf: Path) -> None:
    info = inspect_model(qwen3_gguf, check_loadable=False)
    small, large = info.estimate_ram(1024), info.estimate_ram(4096)
    # K and V, per layer, per token, per KV head, per head dimension, f16.
    assert small.kv_cache == 2 * 2 * 1024 * 2 * 16 * 2
    assert large.kv_cache == 4 * small.kv_cache
    assert small.weights == info.weights_bytes
    assert small.total == small.weights + small.kv_cache + RUNTIME_OVERHEAD_BYTES
    assert info.estimate_ram().context_length == 4096
    with pytest.raises(ValueError):
        info.estimate_ram(0)


def test_to_dict_is_plain_json_data(qwen3_gguf: Path) -> None:
    import json

    data = inspect_model(qwen3_gguf, check_loadable=False).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert "chat_template" not in data
    assert data["ram_estimate"]["total"] > data["weights_bytes"]


def test_unknown_architecture_is_refused_by_llama_cpp(tmp_path: Path) -> None:
    path = write_unknown_arch(tmp_path / "alien.gguf")
    info = inspect_model(path, check_loadable=False)  # the header itself is fine
    assert info.architecture == "quillpadnotanarch"
    with pytest.raises(ModelFileError, match="cannot run"):
        inspect_model(path)


def test_missing_architecture_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"no general\.architecture"):
        inspect_model(write_no_arch(tmp_path / "noarch.gguf"), check_loadable=False)


def test_human_formats() -> None:
    assert human_size(512) == "512 B"
    assert human_size(4_700_000_000) == "4.7 GB"
    assert human_count(8_190_000_000) == "8.2B"
    assert human_count(999) == "999"
