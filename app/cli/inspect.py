"""``quillpad inspect``: what a GGUF file is, read from its header without loading it."""

from __future__ import annotations

import argparse
import json

from app.cli.common import EXIT_OK, SubParsers
from app.core.gguf_info import ModelInfo, human_count, human_size, inspect_model


def add_parser(sub: SubParsers) -> None:
    """Register ``inspect`` on the main parser."""
    parser = sub.add_parser("inspect", help="describe a GGUF model file without loading it")
    parser.add_argument("file", help="path to a .gguf file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--template", action="store_true", help="also print the chat template")
    parser.add_argument(
        "--no-load-check", action="store_true", help="skip asking llama.cpp whether it can read the file"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds allowed for reading (default 5)")
    parser.set_defaults(handler=cmd_inspect)


def _format_info(info: ModelInfo) -> str:
    ram = info.estimate_ram()
    name_bits = [b for b in (info.basename, info.size_label) if b and b != info.name]
    name = info.display_name + (f" ({', '.join(name_bits)})" if name_bits else "")
    quant = info.quantization + (" (guessed from tensors)" if info.quantization_guessed else "")
    heads = "unknown"
    if info.heads:
        heads = f"{info.heads} (KV heads {info.kv_heads}, head size {info.head_dim})"
    experts = "none (dense model)"
    if info.is_moe:
        experts = f"{info.expert_count}, {info.experts_used} used per token (mixture of experts)"
    template = "none (plain completion prompts)"
    if info.has_chat_template:
        template = "yes, with a thinking switch" if info.supports_thinking_switch else "yes, no thinking switch"

    def number(value: int | None, unit: str = "") -> str:
        return "unknown" if value is None else f"{value:,}{unit}"

    rows = [
        ("File", f"{info.path} ({human_size(info.file_size)}, GGUF v{info.gguf_version})"),
        ("Name", name),
        ("Architecture", info.architecture),
        ("Parameters", f"{human_count(info.parameter_count)} ({info.parameter_count:,})"),
        ("Quantisation", quant),
        ("Context length", number(info.context_length, " tokens")),
        ("Layers", number(info.layers)),
        ("Heads", heads),
        ("Embedding size", number(info.embedding_length)),
        ("Experts", experts),
        ("Vocabulary", f"{number(info.vocab_size, ' tokens')} ({info.tokenizer_model or 'unknown'} tokenizer)"),
        ("Chat template", template),
        (
            "RAM estimate",
            f"{human_size(ram.total)} at {ram.context_length:,} tokens (weights {human_size(ram.weights)}, "
            f"KV cache {human_size(ram.kv_cache)}, runtime {human_size(ram.overhead)})",
        ),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def cmd_inspect(args: argparse.Namespace) -> int:
    """Describe a GGUF model file, or say why it cannot be used."""
    info = inspect_model(args.file, timeout=args.timeout, check_loadable=not args.no_load_check)
    if args.json:
        print(json.dumps(info.to_dict(include_template=args.template), indent=2))
    else:
        print(_format_info(info))
        if args.template and info.chat_template:
            print("\nChat template:\n" + info.chat_template)
    return EXIT_OK
