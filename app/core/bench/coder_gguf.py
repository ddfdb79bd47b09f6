"""Random-weight Qwen2.5-Coder-shaped GGUFs: a tiny one for tests, the 0.5B shape for benchmarks.

The files are real GGUFs that llama.cpp loads and runs (architecture
``qwen2``, with the q/k/v biases Qwen2 has), written by the writer of
``synthetic_gguf``. The vocabulary is a byte-level BPE with a few merges
and Qwen2.5-Coder's special tokens in their real order,
including the fill-in-the-middle and repository tokens (``<|fim_prefix|>``,
``<|fim_suffix|>``, ``<|fim_middle|>``, ``<|fim_pad|>``, ``<|repo_name|>``,
``<|file_sep|>``). The 0.5B shape pads the vocabulary to Qwen's 151,936
entries and has the real widths, so it runs at the real model's speed: speed
never depends on the weights' values. Used by the test suite (through
``tests/fixtures/tiny_gguf.py``) and by ``quillpad bench complete``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gguf

from app.core.bench.synthetic_gguf import (
    QWEN_VOCAB,
    TinySpec,
    TinyVocab,
    byte_level_bpe,
    write_once,
    write_tiny_model,
)
from app.core.errors import QuillpadError

QWEN_REGULAR_TOKENS = 151_643  # ids below this are ordinary BPE tokens in Qwen2.5

# Qwen2.5-Coder's added tokens in id order (151643 …); the FIM ones are
# USER_DEFINED in the real GGUFs, the chat-structure ones CONTROL.
QWEN_CODER_SPECIALS: tuple[tuple[str, gguf.TokenType], ...] = (
    ("<|endoftext|>", gguf.TokenType.CONTROL),
    ("<|im_start|>", gguf.TokenType.CONTROL),
    ("<|im_end|>", gguf.TokenType.CONTROL),
    ("<|object_ref_start|>", gguf.TokenType.CONTROL),
    ("<|object_ref_end|>", gguf.TokenType.CONTROL),
    ("<|box_start|>", gguf.TokenType.CONTROL),
    ("<|box_end|>", gguf.TokenType.CONTROL),
    ("<|quad_start|>", gguf.TokenType.CONTROL),
    ("<|quad_end|>", gguf.TokenType.CONTROL),
    ("<|vision_start|>", gguf.TokenType.CONTROL),
    ("<|vision_end|>", gguf.TokenType.CONTROL),
    ("<|vision_pad|>", gguf.TokenType.CONTROL),
    ("<|image_pad|>", gguf.TokenType.CONTROL),
    ("<|video_pad|>", gguf.TokenType.CONTROL),
    ("<tool_call>", gguf.TokenType.USER_DEFINED),
    ("</tool_call>", gguf.TokenType.USER_DEFINED),
    ("<|fim_prefix|>", gguf.TokenType.USER_DEFINED),
    ("<|fim_middle|>", gguf.TokenType.USER_DEFINED),
    ("<|fim_suffix|>", gguf.TokenType.USER_DEFINED),
    ("<|fim_pad|>", gguf.TokenType.USER_DEFINED),
    ("<|repo_name|>", gguf.TokenType.USER_DEFINED),
    ("<|file_sep|>", gguf.TokenType.USER_DEFINED),
)
FIM_TOKENS = frozenset(text for text, _ in QWEN_CODER_SPECIALS[16:])

_MERGE_WORDS = ("def", "return", "import", "self", "print", "class", "for", "in", "if", "else", "None", "the")
_FIM_KEYS = {
    "tokenizer.ggml.fim_pre_token_id": "<|fim_prefix|>",
    "tokenizer.ggml.fim_suf_token_id": "<|fim_suffix|>",
    "tokenizer.ggml.fim_mid_token_id": "<|fim_middle|>",
    "tokenizer.ggml.fim_pad_token_id": "<|fim_pad|>",
    "tokenizer.ggml.fim_rep_token_id": "<|repo_name|>",
    "tokenizer.ggml.fim_sep_token_id": "<|file_sep|>",
}


@dataclass(frozen=True)
class CoderSpec:
    """Shape of a Qwen2.5-Coder-like model and what its vocabulary holds."""

    name: str = "Tiny Qwen2.5-Coder"
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    n_layer: int = 2
    n_ff: int = 128
    context_length: int = 8192
    n_vocab: int | None = None  # None: just the byte alphabet, merges and specials
    tied_embeddings: bool = False
    quantise: bool = True  # Q8_0 for 2-D weights
    fim_tokens: bool = True  # False: a coder vocabulary without FIM tokens (refused for completion)
    fim_metadata: bool = True  # False: FIM tokens present but no tokenizer.ggml.fim_* keys
    size_label: str = "tiny"
    seed: int = 4321

    def model_spec(self) -> TinySpec:
        """The shape for the shared writer: Qwen2's architecture (q/k/v biases, no q/k norms), no chat template."""
        return TinySpec(
            arch="qwen2",
            name=self.name,
            n_embd=self.n_embd,
            n_head=self.n_head,
            n_head_kv=self.n_head_kv,
            n_layer=self.n_layer,
            n_ff=self.n_ff,
            context_length=self.context_length,
            chat_template=None,
            quantise=self.quantise,
            seed=self.seed,
            tied_embeddings=self.tied_embeddings,
            quant="Q8_0",
            size_label=self.size_label,
            attn_bias=True,
            qk_norm=False,
            eos_token="<|endoftext|>",
        )


def build_coder_vocab(spec: CoderSpec) -> TinyVocab:
    """Tokens, their types and merges: bytes, merged words, filler up to Qwen's layout, specials."""
    vocab = byte_level_bpe(_MERGE_WORDS)
    tokens, types = vocab.tokens, vocab.token_types
    if spec.n_vocab is not None:
        # Filler ordinary tokens (never produced by the merges) put the
        # specials at their real ids, and the output layer has its real size.
        tokens.extend(f"ĠÿQ{i}" for i in range(QWEN_REGULAR_TOKENS - len(tokens)))
        types.extend([int(gguf.TokenType.NORMAL)] * (QWEN_REGULAR_TOKENS - len(types)))
    for text, kind in QWEN_CODER_SPECIALS:
        if not spec.fim_tokens and text in FIM_TOKENS:
            continue
        tokens.append(text)
        types.append(int(kind))
    if spec.n_vocab is not None:
        pad = spec.n_vocab - len(tokens)
        tokens.extend(f"[PAD{len(tokens) + i}]" for i in range(pad))
        types.extend([int(gguf.TokenType.UNUSED)] * pad)
    return vocab


def write_coder_model(path: Path, spec: CoderSpec = CoderSpec()) -> Path:
    """Write a random-weight Qwen2-architecture coder model described by ``spec`` to ``path``."""
    fim_keys = _FIM_KEYS if spec.fim_tokens and spec.fim_metadata else None
    return write_tiny_model(path, spec.model_spec(), build_coder_vocab(spec), fim_keys)


TINY_CODER = CoderSpec()
# From Qwen/Qwen2.5-Coder-0.5B's config.json: hidden 896, 24 layers, 14 heads,
# 2 KV heads, FFN 4864, tied embeddings, 32,768 context.
QWEN25_CODER_0_5B = CoderSpec(
    name="Qwen2.5-Coder 0.5B shape Q8_0", n_embd=896, n_head=14, n_head_kv=2, n_layer=24, n_ff=4864,
    context_length=32768, n_vocab=QWEN_VOCAB, tied_embeddings=True, size_label="0.5B",
)  # fmt: skip
CODER_SHAPES = {"qwen2.5-coder-0.5b": QWEN25_CODER_0_5B}


def ensure_coder_shape(name: str, folder: Path, progress: Callable[[str], None] = lambda _msg: None) -> Path:
    """The path of a named real-size coder shape in ``folder``, written once (under ``.part`` first)."""
    spec = CODER_SHAPES.get(name.lower())
    if spec is None:
        raise QuillpadError(f"There is no coder model shape called {name!r}; use one of {', '.join(CODER_SHAPES)}.")
    path = folder / f"{name.lower()}-random-q8_0.gguf"
    return write_once(path, lambda part: write_coder_model(part, spec), name, progress)
