"""Random-weight GGUFs with the exact shapes of real Qwen3 models, cached for benchmarks.

Speed depends on a model's shape (layers, widths, heads, vocabulary,
quantisation), never on its weights' values, so these files run at the real
model's speed and use its memory. They are big (the 8B at Q8_0 is 8.7 GB),
so each is written once into a cache folder, under a ``.part`` name first,
and reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from app.core.bench.synthetic_gguf import QWEN_VOCAB, TinySpec, write_once, write_tiny_model
from app.core.errors import QuillpadError

# From the models' config.json (Qwen/Qwen3-*): hidden size, layers, heads,
# KV heads, head dim 128, FFN width, tied embeddings up to 4B.
SHAPES: dict[str, TinySpec] = {
    "qwen3-0.6b": TinySpec(
        name="Qwen3 0.6B shape", n_embd=1024, n_layer=28, n_head=16, n_head_kv=8, head_dim=128, n_ff=3072,
        context_length=40960, n_vocab=QWEN_VOCAB, tied_embeddings=True, size_label="0.6B",
    ),
    "qwen3-1.7b": TinySpec(
        name="Qwen3 1.7B shape", n_embd=2048, n_layer=28, n_head=16, n_head_kv=8, head_dim=128, n_ff=6144,
        context_length=40960, n_vocab=QWEN_VOCAB, tied_embeddings=True, size_label="1.7B",
    ),
    "qwen3-8b": TinySpec(
        name="Qwen3 8B shape", n_embd=4096, n_layer=36, n_head=32, n_head_kv=8, head_dim=128, n_ff=12288,
        context_length=40960, n_vocab=QWEN_VOCAB, size_label="8B",
    ),
    "qwen3-30b-a3b": TinySpec(
        arch="qwen3moe", name="Qwen3 30B-A3B shape", n_embd=2048, n_layer=48, n_head=32, n_head_kv=4,
        head_dim=128, n_ff=768, n_expert=128, n_expert_used=8, context_length=40960, n_vocab=QWEN_VOCAB,
        size_label="30B-A3B",
    ),
}  # fmt: skip
QUANTS = ("Q8_0", "Q4_0")


def shape_spec(name: str, quant: str = "Q8_0") -> TinySpec:
    """The spec of a named shape at ``quant``; a one-sentence error for unknown names."""
    spec = SHAPES.get(name.lower())
    if spec is None:
        raise QuillpadError(f"There is no model shape called {name!r}; use one of {', '.join(SHAPES)}.")
    if quant not in QUANTS:
        raise QuillpadError(f"Shapes can be written as {' or '.join(QUANTS)}, not {quant!r}.")
    return replace(spec, quant=quant, name=f"{spec.name} {quant}")


def shape_cache_dir() -> Path:
    """Where generated shapes are kept: ``bench-models`` in the app's cache folder."""
    from app.core.paths import app_paths

    return app_paths().cache_dir / "bench-models"


def ensure_shape(
    name: str,
    quant: str = "Q8_0",
    folder: Path | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> Path:
    """The path of the shape's GGUF, written first if it is not in ``folder`` yet."""
    spec = shape_spec(name, quant)
    folder = folder or shape_cache_dir()
    path = folder / f"{name.lower()}-random-{quant.lower()}.gguf"
    return write_once(path, lambda part: write_tiny_model(part, spec), name, progress)


def resolve_model(model: str, quant: str = "Q8_0", progress: Callable[[str], None] = lambda _msg: None) -> str:
    """A bench's ``--model``: a GGUF path as given, or a shape's name (generated on first use)."""
    if model.lower() in SHAPES:
        return str(ensure_shape(model, quant, progress=progress))
    return model
