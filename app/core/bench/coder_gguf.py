"""Random-weight Qwen2.5-Coder-shaped GGUFs: a tiny one for tests, the 0.5B shape for benchmarks.

The files are real GGUFs that llama.cpp loads and runs (architecture
``qwen2``, with the q/k/v biases Qwen2 has). The vocabulary is a byte-level
BPE with a few merges and Qwen2.5-Coder's special tokens in their real order,
including the fill-in-the-middle and repository tokens (``<|fim_prefix|>``,
``<|fim_suffix|>``, ``<|fim_middle|>``, ``<|fim_pad|>``, ``<|repo_name|>``,
``<|file_sep|>``). The 0.5B shape pads the vocabulary to Qwen's 151,936
entries and has the real widths, so it runs at the real model's speed: speed
never depends on the weights' values. Used by the test suite (through
``tests/fixtures/tiny_gguf.py``) and by ``quillpad bench complete``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import gguf
import numpy as np

from app.core.errors import QuillpadError

QWEN_VOCAB = 151_936
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


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable-unicode mapping."""
    bs = list(range(ord("!"), ord("~") + 1))
    bs += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


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


def build_coder_vocab(spec: CoderSpec) -> tuple[list[str], list[int], list[str]]:
    """Tokens, their types and merges: bytes, merged words, filler up to Qwen's layout, specials."""
    byte_map = _bytes_to_unicode()
    tokens = [byte_map[b] for b in range(256)]
    types = [int(gguf.TokenType.NORMAL)] * 256
    merges: list[str] = []
    known = set(tokens)
    for word in _MERGE_WORDS:
        for piece in (word, "Ġ" + word):
            current = piece[0]
            for ch in piece[1:]:
                merged = current + ch
                if merged not in known:
                    merges.append(f"{current} {ch}")
                    tokens.append(merged)
                    types.append(int(gguf.TokenType.NORMAL))
                    known.add(merged)
                current = merged
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
    return tokens, types, merges


def write_coder_model(path: Path, spec: CoderSpec = CoderSpec()) -> Path:
    """Write a random-weight Qwen2-architecture coder model described by ``spec`` to ``path``."""
    tokens, types, merges = build_coder_vocab(spec)
    rng = np.random.default_rng(spec.seed)
    head_dim = spec.n_embd // spec.n_head
    n_vocab = len(tokens)
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name(spec.name)
    writer.add_basename(spec.name.replace(" ", "-"))
    writer.add_size_label(spec.size_label)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if spec.quantise else gguf.LlamaFileType.ALL_F32)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_context_length(spec.context_length)
    writer.add_embedding_length(spec.n_embd)
    writer.add_block_count(spec.n_layer)
    writer.add_feed_forward_length(spec.n_ff)
    writer.add_head_count(spec.n_head)
    writer.add_head_count_kv(spec.n_head_kv)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index("<|endoftext|>"))
    writer.add_eos_token_id(tokens.index("<|endoftext|>"))
    writer.add_pad_token_id(tokens.index("<|endoftext|>"))
    writer.add_add_bos_token(False)
    if spec.fim_tokens and spec.fim_metadata:
        for key, text in (
            ("tokenizer.ggml.fim_pre_token_id", "<|fim_prefix|>"),
            ("tokenizer.ggml.fim_suf_token_id", "<|fim_suffix|>"),
            ("tokenizer.ggml.fim_mid_token_id", "<|fim_middle|>"),
            ("tokenizer.ggml.fim_pad_token_id", "<|fim_pad|>"),
            ("tokenizer.ggml.fim_rep_token_id", "<|repo_name|>"),
            ("tokenizer.ggml.fim_sep_token_id", "<|file_sep|>"),
        ):
            writer.add_uint32(key, tokens.index(text))

    def matrix(name: str, rows: int, cols: int) -> None:
        # numpy shape (rows, cols) is GGUF's (ne1, ne0): cols is the input dimension.
        data = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.05).astype(np.float32)
        if spec.quantise:
            qtype = gguf.GGMLQuantizationType.Q8_0
            writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(name, data)

    def vector(name: str, size: int, ones: bool = False) -> None:
        values = np.ones(size, dtype=np.float32) if ones else (rng.standard_normal(size) * 0.02).astype(np.float32)
        writer.add_tensor(name, values)

    matrix("token_embd.weight", n_vocab, spec.n_embd)
    vector("output_norm.weight", spec.n_embd, ones=True)
    if not spec.tied_embeddings:
        matrix("output.weight", n_vocab, spec.n_embd)
    for i in range(spec.n_layer):
        p = f"blk.{i}."
        vector(p + "attn_norm.weight", spec.n_embd, ones=True)
        matrix(p + "attn_q.weight", spec.n_head * head_dim, spec.n_embd)
        vector(p + "attn_q.bias", spec.n_head * head_dim)
        matrix(p + "attn_k.weight", spec.n_head_kv * head_dim, spec.n_embd)
        vector(p + "attn_k.bias", spec.n_head_kv * head_dim)
        matrix(p + "attn_v.weight", spec.n_head_kv * head_dim, spec.n_embd)
        vector(p + "attn_v.bias", spec.n_head_kv * head_dim)
        matrix(p + "attn_output.weight", spec.n_embd, spec.n_head * head_dim)
        vector(p + "ffn_norm.weight", spec.n_embd, ones=True)
        matrix(p + "ffn_gate.weight", spec.n_ff, spec.n_embd)
        matrix(p + "ffn_up.weight", spec.n_ff, spec.n_embd)
        matrix(p + "ffn_down.weight", spec.n_embd, spec.n_ff)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


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
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.lower()}-random-q8_0.gguf"
    if path.exists():
        return path
    part = path.with_name(path.name + ".part")
    progress(f"writing {path.name} (random weights, the shape of {name}; once)")
    try:
        write_coder_model(part, replace(spec))
        os.replace(part, path)
    except OSError as err:
        raise QuillpadError(f"Could not write the {name} shape to {folder} ({err}); free some disk space.") from err
    finally:
        part.unlink(missing_ok=True)
    return path
