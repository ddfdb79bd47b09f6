"""The vocabulary helper reads a real loaded model through public llama-cpp-python API only."""

from __future__ import annotations

from pathlib import Path

from app.core.engine.llama_open import open_llama
from app.core.engine.vocab import Vocab


def test_special_tokens_and_end_of_generation_set_of_a_real_qwen3_model(qwen3_gguf: Path) -> None:
    llm = open_llama(qwen3_gguf, n_ctx=64, verbose=False)
    try:
        vocab = Vocab(llm)
        assert vocab.size == llm.n_vocab()
        assert vocab.eos == llm.token_eos()
        assert vocab.text(-1) == ""
        im_end = llm.tokenize(b"<|im_end|>", add_bos=False, special=True)
        assert len(im_end) == 1
        assert vocab.text(im_end[0]) == "<|im_end|>"
        assert im_end[0] in vocab.eog_ids()
        plain = llm.tokenize(b"hello", add_bos=False, special=False)[0]
        assert not vocab.is_eog(plain)
        assert vocab.add_bos is False  # Qwen's tokenizer adds no BOS
    finally:
        llm.close()
