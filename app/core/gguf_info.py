"""What a GGUF model is, read from its header: the inspector's facts.

``inspect_model`` is the one entry point: it validates the file (see
``gguf_header``), optionally asks llama.cpp in a child process whether it can
load the architecture, and returns a typed ``ModelInfo``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gguf import GGMLQuantizationType, LlamaFileType

from app.core.errors import ModelFileError
from app.core.gguf_header import ArrayValue, GGUFHeader, read_gguf_header

# Bytes per element of the KV cache (llama.cpp's default cache type is f16).
KV_BYTES_PER_ELEMENT = 2
# llama.cpp's compute buffers and runtime overhead, a rough allowance that
# keeps the estimate honest for small models where it dominates.
RUNTIME_OVERHEAD_BYTES = 256 * 1024**2


@dataclass(frozen=True)
class RamEstimate:
    """Memory needed to run a model at one context length, in bytes."""

    context_length: int
    weights: int
    kv_cache: int
    overhead: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.overhead


@dataclass(frozen=True)
class ModelInfo:
    """Facts about a GGUF model file, as its header states them."""

    path: str
    file_size: int
    gguf_version: int
    architecture: str
    name: str | None
    basename: str | None
    size_label: str | None
    parameter_count: int
    quantization: str
    quantization_guessed: bool
    context_length: int | None
    layers: int | None
    heads: int | None
    kv_heads: int | None
    head_dim: int | None
    embedding_length: int | None
    expert_count: int | None
    experts_used: int | None
    vocab_size: int | None
    tokenizer_model: str | None
    has_chat_template: bool
    supports_thinking_switch: bool
    tensor_count: int
    weights_bytes: int
    chat_template: str | None = None

    @property
    def is_moe(self) -> bool:
        return bool(self.expert_count)

    @property
    def display_name(self) -> str:
        return self.name or self.basename or Path(self.path).stem

    def kv_cache_bytes(self, context_length: int) -> int:
        """KV cache size for ``context_length`` tokens (f16 keys and values)."""
        if not (self.layers and self.kv_heads and self.head_dim):
            return 0
        return 2 * self.layers * context_length * self.kv_heads * self.head_dim * KV_BYTES_PER_ELEMENT

    def estimate_ram(self, context_length: int | None = None) -> RamEstimate:
        """Estimate memory for weights plus KV cache at ``context_length``.

        Defaults to the model's training context, capped at 32k tokens (a
        typical desktop setting; the full 128k of some models is rarely used).
        """
        if context_length is None:
            context_length = min(self.context_length or 4096, 32_768)
        if context_length <= 0:
            raise ValueError("context_length must be positive")
        return RamEstimate(
            context_length=context_length,
            weights=self.weights_bytes,
            kv_cache=self.kv_cache_bytes(context_length),
            overhead=RUNTIME_OVERHEAD_BYTES,
        )

    def to_dict(self, include_template: bool = False) -> dict[str, Any]:
        """Plain data for JSON output (the template is long, so optional)."""
        data = asdict(self)
        if not include_template:
            data.pop("chat_template")
        data["is_moe"] = self.is_moe
        ram = self.estimate_ram()
        data["ram_estimate"] = {**asdict(ram), "total": ram.total}
        return data


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, ArrayValue) and value.values:
        # Some models give per-layer values (e.g. head counts); the largest
        # is the one that sizes the cache.
        numbers = [v for v in value.values if isinstance(v, int) and not isinstance(v, bool)]
        return max(numbers) if numbers else None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _quantization(header: GGUFHeader) -> tuple[str, bool]:
    """The file type label (e.g. ``Q4_K_M``), guessed from tensors if unset."""
    file_type = _int(header.metadata.get("general.file_type"))
    if file_type is not None:
        try:
            return LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_"), False
        except ValueError:
            return f"unknown ({file_type})", False
    weight_bytes: Counter[GGMLQuantizationType] = Counter()
    for tensor in header.tensors:
        if len(tensor.shape) >= 2:
            weight_bytes[tensor.ggml_type] += tensor.n_bytes
    if not weight_bytes:
        return "unknown", True
    return weight_bytes.most_common(1)[0][0].name, True


def model_info_from_header(header: GGUFHeader) -> ModelInfo:
    """Build ``ModelInfo`` from a validated header."""
    meta = header.metadata
    arch = _str(meta.get("general.architecture"))
    if not arch:
        raise ModelFileError(
            f"{header.path.name} has no general.architecture entry, so it is not a model llama.cpp can run; "
            "choose a language-model GGUF."
        )

    def arch_int(key: str) -> int | None:
        return _int(meta.get(f"{arch}.{key}"))

    heads = arch_int("attention.head_count")
    embedding = arch_int("embedding_length")
    head_dim = arch_int("attention.key_length")
    if head_dim is None and heads and embedding:
        head_dim = embedding // heads
    kv_heads = arch_int("attention.head_count_kv") or heads
    vocab = header.array_length("tokenizer.ggml.tokens") or arch_int("vocab_size")
    template = _str(meta.get("tokenizer.chat_template"))
    quant, guessed = _quantization(header)
    return ModelInfo(
        path=str(header.path),
        file_size=header.file_size,
        gguf_version=header.version,
        architecture=arch,
        name=_str(meta.get("general.name")),
        basename=_str(meta.get("general.basename")),
        size_label=_str(meta.get("general.size_label")),
        parameter_count=sum(t.n_elements for t in header.tensors),
        quantization=quant,
        quantization_guessed=guessed,
        context_length=arch_int("context_length"),
        layers=arch_int("block_count"),
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        embedding_length=embedding,
        expert_count=arch_int("expert_count"),
        experts_used=arch_int("expert_used_count"),
        vocab_size=vocab,
        tokenizer_model=_str(meta.get("tokenizer.ggml.model")),
        has_chat_template=bool(template),
        supports_thinking_switch=bool(template and "enable_thinking" in template),
        tensor_count=len(header.tensors),
        weights_bytes=sum(t.n_bytes for t in header.tensors),
        chat_template=template,
    )


def inspect_model(path: str | Path, *, timeout: float = 5.0, check_loadable: bool = True) -> ModelInfo:
    """Validate a GGUF file and describe it, without loading tensor data.

    With ``check_loadable`` the bundled llama.cpp is asked, in a child
    process, to load the file's vocabulary: this is what finds architectures
    it cannot run, and a native crash there cannot take the caller down.
    Raises ``ModelFileError`` with a one-sentence message on any refusal.
    """
    header = read_gguf_header(path, timeout=timeout)
    info = model_info_from_header(header)
    if check_loadable:
        from app.core.llama_probe import probe_vocab_load

        probe_vocab_load(Path(path), info.architecture, timeout=timeout)
    return info


def human_size(n_bytes: int) -> str:
    """Format a byte count the way file managers do (1.2 GB)."""
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def human_count(n: int) -> str:
    """Format a parameter count as 8.2B, 270M, 1.1K."""
    for threshold, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= threshold:
            return f"{n / threshold:.1f}{suffix}"
    return str(n)
