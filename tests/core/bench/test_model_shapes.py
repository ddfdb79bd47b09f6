"""Real-size shapes: the writer's options (head size, tied embeddings, padded vocabulary, Q4_0,
blocks written directly) give a file llama.cpp loads and runs; the shapes name real models' sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.bench.model_shapes import SHAPES, ensure_shape, resolve_model, shape_spec
from app.core.bench.synthetic_gguf import TinySpec, write_tiny_model
from app.core.engine.llama_open import open_llama
from app.core.errors import QuillpadError
from app.core.gguf_info import inspect_model


def test_scaled_down_shape_with_every_option_runs(tmp_path: Path) -> None:
    # 20,000 x 64 embedding: above the direct-blocks threshold, as real shapes are.
    spec = TinySpec(name="Mini shape", head_dim=32, n_vocab=20_000, tied_embeddings=True, quant="Q4_0")
    path = write_tiny_model(tmp_path / "mini.gguf", spec)
    info = inspect_model(path)
    assert info.architecture == "qwen3"
    llm = open_llama(path, n_ctx=256, n_threads=1, verbose=False)
    try:
        assert llm.n_vocab() == 20_000
        prompt = llm.tokenize(b"<|im_start|>user\nhello<|im_end|>\n", special=True)
        assert prompt[0] == 20_000 - 6  # the special tokens come last, as in Qwen's vocabulary
        out = [t for _, t in zip(range(8), llm.generate(prompt, temp=0.0), strict=False)]
        assert len(out) == 8
        assert llm.detokenize(out)  # filler words detokenise to text
    finally:
        llm.close()


def test_shapes_match_the_real_models_parameter_counts() -> None:
    def params(spec: TinySpec) -> float:
        head = spec.head_dim or spec.n_embd // spec.n_head
        attn = spec.n_embd * head * (2 * spec.n_head + 2 * spec.n_head_kv)
        ffn = 3 * spec.n_embd * spec.n_ff * max(1, spec.n_expert)
        vocab = (spec.n_vocab or 0) * spec.n_embd * (1 if spec.tied_embeddings else 2)
        return (spec.n_layer * (attn + ffn) + vocab) / 1e9

    # Published totals: 0.6B (0.75 with embeddings), 1.7B (2.03), 8.2B, 30.5B.
    assert params(SHAPES["qwen3-0.6b"]) == pytest.approx(0.60, abs=0.05)
    assert params(SHAPES["qwen3-1.7b"]) == pytest.approx(1.72, abs=0.05)
    assert params(SHAPES["qwen3-8b"]) == pytest.approx(8.19, abs=0.1)
    assert params(SHAPES["qwen3-30b-a3b"]) == pytest.approx(30.5, abs=0.5)


def test_unknown_shape_and_quant_are_refused(tmp_path: Path) -> None:
    with pytest.raises(QuillpadError, match="no model shape"):
        ensure_shape("qwen9-1t", folder=tmp_path)
    with pytest.raises(QuillpadError, match="Q8_0 or Q4_0"):
        shape_spec("qwen3-0.6b", "Q2_K")
    assert resolve_model("/some/model.gguf") == "/some/model.gguf"
