"""Random-weight GGUF models: tiny ones for tests, real-size shapes for benchmarks.

The models are real GGUF files that llama.cpp loads and runs: Qwen3 dense
and MoE models, with or without a chat template. Their vocabulary is a
byte-level BPE (GPT-2 byte alphabet plus a few merges) with the Qwen special
tokens, so tokenisation and detokenisation behave like the real thing; a
real-size shape pads it with filler words to Qwen's 151,936 entries, because
the output layer's cost depends on the vocabulary's size. Weights are random,
so what the models *say* is noise, but llama.cpp does the same arithmetic as
for the real model of that shape: decode and prompt speed, memory and KV
cache are those of the real model. ``tests/fixtures/tiny_gguf.py`` re-exports
this module for the test suite.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from app.core.errors import QuillpadError

# Written for this project: ChatML like Qwen3's, with an `enable_thinking`
# switch (an empty think block is pre-filled when thinking is off) and earlier
# assistant turns stripped of their thinking, as Qwen3 requires.
QWEN3_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- set content = message['content'] -%}"
    "{%- if '</think>' in content -%}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}"
    "{%- endif -%}"
    "{{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
)

QWEN_VOCAB = 151_936  # Qwen2.5's and Qwen3's vocabulary (and output layer) size

# (text, token type) in Qwen's order. Chat-structure tokens are CONTROL
# (hidden when detokenising without specials); the think and tool-call tags
# are USER_DEFINED, so they appear in generated text as in real Qwen3 GGUFs.
QWEN_SPECIAL_TOKENS: tuple[tuple[str, gguf.TokenType], ...] = (
    ("<|endoftext|>", gguf.TokenType.CONTROL),
    ("<|im_start|>", gguf.TokenType.CONTROL),
    ("<|im_end|>", gguf.TokenType.CONTROL),
    ("<tool_call>", gguf.TokenType.USER_DEFINED),
    ("</tool_call>", gguf.TokenType.USER_DEFINED),
    ("<think>", gguf.TokenType.USER_DEFINED),
    ("</think>", gguf.TokenType.USER_DEFINED),
)

# A few merges so the tokenizer really is BPE (words become fewer tokens than
# bytes); chosen from common English and code fragments.
_MERGE_WORDS = (
    "the",
    "and",
    "ing",
    "def",
    "return",
    "import",
    "self",
    "print",
    "think",
    "hello",
    "world",
    "user",
    "assistant",
    "system",
    "code",
    "math",
)


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
class TinyVocab:
    """A byte-level BPE vocabulary and its merges."""

    tokens: list[str]
    token_types: list[int]
    merges: list[str]

    def token_id(self, text: str) -> int:
        return self.tokens.index(text)


def _filler_words(count: int, known: set[str]) -> list[str]:
    """``count`` distinct word-like tokens (``Ġ`` marks a leading space), none in ``known``."""
    letters = "etaoinshrdlucmfwypvbgkjqxz"
    words: list[str] = []
    length = 2
    while len(words) < count:
        for combo in itertools.product(letters, repeat=length):
            for word in ("Ġ" + "".join(combo), "".join(combo)):
                if word not in known:
                    words.append(word)
                    if len(words) == count:
                        return words
        length += 1
    return words


def byte_level_bpe(merge_words: Sequence[str]) -> TinyVocab:
    """GPT-2's byte alphabet, then the merged pieces of ``merge_words`` (with and without a leading space)."""
    byte_map = _bytes_to_unicode()
    tokens = [byte_map[b] for b in range(256)]
    types = [int(gguf.TokenType.NORMAL)] * 256
    merges: list[str] = []
    known = set(tokens)
    for word in merge_words:
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
    return TinyVocab(tokens=tokens, token_types=types, merges=merges)


def build_vocab(n_vocab: int | None = None) -> TinyVocab:
    """Byte alphabet, merged pieces of a few words (with and without a
    leading space), filler words up to ``n_vocab`` entries if given, then the
    Qwen special tokens."""
    base = byte_level_bpe(_MERGE_WORDS)
    tokens, types, known = base.tokens, base.token_types, set(base.tokens)
    if n_vocab is not None:
        # Never produced by tokenising (no merges lead to them), but the
        # model can sample them: they detokenise to word-like text.
        fillers = _filler_words(max(0, n_vocab - len(tokens) - len(QWEN_SPECIAL_TOKENS)), known)
        tokens += fillers
        types += [int(gguf.TokenType.NORMAL)] * len(fillers)
    for text, kind in QWEN_SPECIAL_TOKENS:
        tokens.append(text)
        types.append(int(kind))
    return base


@dataclass(frozen=True)
class TinySpec:
    """Shape of a random-weight model; the defaults are small enough to write in ms."""

    arch: str = "qwen3"
    name: str = "Tiny Qwen3"
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    n_layer: int = 2
    n_ff: int = 128
    context_length: int = 4096
    n_expert: int = 0
    n_expert_used: int = 0
    chat_template: str | None = QWEN3_CHAT_TEMPLATE
    quantise: bool = True  # 2-D weights quantised (``quant``), as a quantised GGUF would be
    seed: int = 1234
    head_dim: int | None = None  # None: n_embd // n_head (Qwen3 uses 128 whatever the width)
    n_vocab: int | None = None  # None: the tiny vocabulary; else padded with filler words to this size
    tied_embeddings: bool = False  # output layer shares token_embd (Qwen3 0.6B to 4B)
    quant: str = "Q8_0"  # "Q8_0" or "Q4_0": what the gguf package can write
    size_label: str = "tiny"
    attn_bias: bool = False  # q/k/v biases (Qwen2's architecture)
    qk_norm: bool = True  # per-head q/k norms (Qwen3's; Qwen2 has none)
    eos_token: str = "<|im_end|>"  # Qwen3 instruct ends a turn; base and coder models end with <|endoftext|>


# Above this many weights a matrix is written as random quantised blocks
# directly: drawing floats and quantising them in numpy would take minutes
# for an 8B model, and speed does not depend on the weights' values.
_DIRECT_BLOCKS_ABOVE = 1 << 20

_QUANT_TYPES = {
    "Q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "Q4_0": (gguf.GGMLQuantizationType.Q4_0, gguf.LlamaFileType.MOSTLY_Q4_0),
}


def _quantise(weights: np.ndarray, qtype: gguf.GGMLQuantizationType) -> np.ndarray:
    quantised: np.ndarray = gguf.quants.quantize(weights, qtype)
    return quantised


def _random_blocks(rng: np.random.Generator, shape: tuple[int, ...], qtype: gguf.GGMLQuantizationType) -> np.ndarray:
    """Random quantised blocks of a Q8_0/Q4_0 tensor of ``shape`` (inner dimension last).

    Each block is a float16 scale and 32 quants; the quants are random bytes
    and the scale small, so values look like a trained model's (|w| < 0.07).
    """
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    *outer, cols = shape
    n_blocks = cols // block_size
    data = rng.integers(0, 256, size=(*outer, n_blocks, type_size), dtype=np.uint8)
    scale = np.frombuffer(np.float16(0.0005).tobytes(), dtype=np.uint8)
    data[..., 0:2] = scale
    return data.reshape(*outer, n_blocks * type_size)


def write_tiny_model(
    path: Path,
    spec: TinySpec = TinySpec(),
    vocab: TinyVocab | None = None,
    token_id_keys: Mapping[str, str] | None = None,
) -> Path:
    """Write a random-weight model described by ``spec`` to ``path``.

    ``vocab``: the vocabulary, if not Qwen3's (``build_vocab(spec.n_vocab)``);
    ``token_id_keys``: metadata keys to set to a token's id (the coder's
    ``tokenizer.ggml.fim_pre_token_id`` -> ``<|fim_prefix|>``). Tensors are
    written one at a time, so a 9 GB model needs only one tensor's worth of
    memory.
    """
    vocab = vocab or build_vocab(spec.n_vocab)
    rng = np.random.default_rng(spec.seed)
    head_dim = spec.head_dim or spec.n_embd // spec.n_head
    n_vocab = len(vocab.tokens)
    qtype, file_type = _QUANT_TYPES[spec.quant]

    writer = gguf.GGUFWriter(str(path), spec.arch)
    writer.add_name(spec.name)
    writer.add_basename(spec.name.replace(" ", "-"))
    writer.add_size_label(spec.size_label)
    writer.add_file_type(file_type if spec.quantise else gguf.LlamaFileType.ALL_F32)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_context_length(spec.context_length)
    writer.add_embedding_length(spec.n_embd)
    writer.add_block_count(spec.n_layer)
    writer.add_feed_forward_length(spec.n_ff)
    writer.add_head_count(spec.n_head)
    writer.add_head_count_kv(spec.n_head_kv)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0)
    if spec.n_expert:
        writer.add_expert_count(spec.n_expert)
        writer.add_expert_used_count(spec.n_expert_used)
        writer.add_expert_feed_forward_length(spec.n_ff)

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.token_types)
    writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.token_id("<|endoftext|>"))
    writer.add_eos_token_id(vocab.token_id(spec.eos_token))
    writer.add_pad_token_id(vocab.token_id("<|endoftext|>"))
    writer.add_add_bos_token(False)
    for key, text in (token_id_keys or {}).items():
        writer.add_uint32(key, vocab.token_id(text))
    if spec.chat_template is not None:
        writer.add_chat_template(spec.chat_template)

    # (name, make the data): the infos go first, then the data in the same order.
    pending: list[tuple[str, Callable[[], np.ndarray], gguf.GGMLQuantizationType | None]] = []

    def add(name: str, shape: tuple[int, ...], quantised: bool, make: Callable[[], np.ndarray]) -> None:
        raw = qtype if quantised else None
        if quantised:
            block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
            byte_shape = (*shape[:-1], shape[-1] // block_size * type_size)
            nbytes = int(np.prod(byte_shape))
            writer.add_tensor_info(name, byte_shape, np.dtype(np.uint8), nbytes, raw_dtype=raw)
        else:
            writer.add_tensor_info(name, shape, np.dtype(np.float32), int(np.prod(shape)) * 4)
        pending.append((name, make, raw))

    def weights(name: str, *shape: int) -> None:
        # numpy shape is (rows, cols) = GGUF's (ne1, ne0): cols is the input dim.
        direct = spec.quantise and int(np.prod(shape)) > _DIRECT_BLOCKS_ABOVE

        def make() -> np.ndarray:
            if direct:
                return _random_blocks(rng, shape, qtype)
            data = (rng.standard_normal(shape) * 0.05).astype(np.float32)
            return _quantise(data, qtype) if spec.quantise else data

        # Expert tensors of the tiny MoE stay float, as before.
        add(name, shape, spec.quantise and (len(shape) == 2 or direct), make)

    def norm(name: str, size: int) -> None:
        add(name, (size,), False, lambda: np.ones(size, dtype=np.float32))

    def bias(name: str, size: int) -> None:
        add(name, (size,), False, lambda: (rng.standard_normal(size) * 0.02).astype(np.float32))

    weights("token_embd.weight", n_vocab, spec.n_embd)
    norm("output_norm.weight", spec.n_embd)
    if not spec.tied_embeddings:
        weights("output.weight", n_vocab, spec.n_embd)
    for i in range(spec.n_layer):
        p = f"blk.{i}."
        norm(p + "attn_norm.weight", spec.n_embd)
        weights(p + "attn_q.weight", spec.n_head * head_dim, spec.n_embd)
        weights(p + "attn_k.weight", spec.n_head_kv * head_dim, spec.n_embd)
        weights(p + "attn_v.weight", spec.n_head_kv * head_dim, spec.n_embd)
        weights(p + "attn_output.weight", spec.n_embd, spec.n_head * head_dim)
        if spec.attn_bias:
            bias(p + "attn_q.bias", spec.n_head * head_dim)
            bias(p + "attn_k.bias", spec.n_head_kv * head_dim)
            bias(p + "attn_v.bias", spec.n_head_kv * head_dim)
        if spec.qk_norm:
            norm(p + "attn_q_norm.weight", head_dim)
            norm(p + "attn_k_norm.weight", head_dim)
        norm(p + "ffn_norm.weight", spec.n_embd)
        if spec.n_expert:
            weights(p + "ffn_gate_inp.weight", spec.n_expert, spec.n_embd)
            weights(p + "ffn_gate_exps.weight", spec.n_expert, spec.n_ff, spec.n_embd)
            weights(p + "ffn_up_exps.weight", spec.n_expert, spec.n_ff, spec.n_embd)
            weights(p + "ffn_down_exps.weight", spec.n_expert, spec.n_embd, spec.n_ff)
        else:
            weights(p + "ffn_gate.weight", spec.n_ff, spec.n_embd)
            weights(p + "ffn_up.weight", spec.n_ff, spec.n_embd)
            weights(p + "ffn_down.weight", spec.n_embd, spec.n_ff)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _name, make, _raw in pending:
        writer.write_tensor_data(make())
    writer.close()
    return path


def write_once(path: Path, write: Callable[[Path], object], shape: str, progress: Callable[[str], None]) -> Path:
    """``path``, written by ``write`` first if it does not exist yet (under a ``.part`` name until complete,
    so an interrupted write is never taken for a model). ``shape`` names the model's shape in messages."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    progress(f"writing {path.name} (random weights, the shape of {shape}; once)")
    try:
        write(part)
        os.replace(part, path)
    except OSError as err:
        message = f"Could not write the {shape} shape to {path.parent} ({err}); free some disk space."
        raise QuillpadError(message) from err
    finally:
        part.unlink(missing_ok=True)
    return path


QWEN3 = TinySpec()
QWEN3_MOE = TinySpec(arch="qwen3moe", name="Tiny Qwen3 MoE", n_expert=4, n_expert_used=2, quantise=False)
QWEN3_NO_TEMPLATE = TinySpec(name="Tiny Qwen3 Base", chat_template=None)
QWEN3_SLOW = TinySpec(name="Slow Qwen3", n_embd=512, n_head=8, n_head_kv=4, n_layer=8, n_ff=1536, context_length=16384)
