"""The ``quillpad`` command: the GUI by default, a sub-command per capability.

Every sub-command prints a one-line reason on stderr and exits 2 for input it
refuses; no traceback reaches the user (it goes to the log file).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.gguf_info import ModelInfo, human_count, human_size, inspect_model
from app.core.logging_setup import configure_logging
from app.core.paths import app_paths

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REFUSED = 2


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


def cmd_gui(args: argparse.Namespace) -> int:
    """Start the desktop app (imports Qt only here)."""
    from app.ui.shell.application import run_gui

    return run_gui(model=args.model)


def cmd_screenshot(args: argparse.Namespace) -> int:
    """Save a picture of the whole window after the requested steps."""
    return _scripted(args, Path(args.out))


def cmd_selftest(args: argparse.Namespace) -> int:
    """The same steps without a picture; exit 0 only if every step worked."""
    return _scripted(args, None)


def _scripted(args: argparse.Namespace, out: Path | None) -> int:
    from app.ui.shell.scripted_session import run_scripted_session

    steps = run_scripted_session(out=out, model=args.model_file, open_file=args.open, prompt=args.prompt)
    for step in steps:
        print(f"{'ok' if step.ok else 'FAILED':6} {step.name}: {step.detail}")
    sandbox_ok = True
    if out is None:  # selftest: also what the sandbox isolates on this machine
        from app.core.sandbox.probes import check_isolation

        for check in check_isolation():
            print(f"{'ok' if check.ok else 'FAILED':6} {check.name}: {check.detail}")
            sandbox_ok = sandbox_ok and check.ok
    return EXIT_OK if steps and all(step.ok for step in steps) and sandbox_ok else EXIT_ERROR


def _version_text() -> str:
    from app.core.versions import version_info

    return "\n".join(version_info().lines())


class _VersionAction(argparse.Action):
    """Prints versions lazily: importing llama.cpp is not free."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print app and llama.cpp versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(_version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(
        prog="quillpad",
        description="A desktop coding and math assistant running Qwen3 GGUF models locally. "
        "Run without a command to open the app.",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--model", help="GGUF model to load when the app opens")
    parser.set_defaults(handler=cmd_gui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    inspect = sub.add_parser("inspect", help="describe a GGUF model file without loading it")
    inspect.add_argument("file", help="path to a .gguf file")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument("--template", action="store_true", help="also print the chat template")
    inspect.add_argument(
        "--no-load-check", action="store_true", help="skip asking llama.cpp whether it can read the file"
    )
    inspect.add_argument("--timeout", type=float, default=5.0, help="seconds allowed for reading (default 5)")
    inspect.set_defaults(handler=cmd_inspect)

    for name, handler, help_text in (
        ("screenshot", cmd_screenshot, "save a PNG of the main window after optional steps"),
        ("selftest", cmd_selftest, "open the window, optionally load a model and stream a reply; exit 0 if all worked"),
    ):
        scripted = sub.add_parser(name, help=help_text)
        if name == "screenshot":
            scripted.add_argument("--out", required=True, help="PNG file to write")
        scripted.add_argument("--model", dest="model_file", help="GGUF model to load")
        scripted.add_argument("--open", help="file to open in the editor")
        scripted.add_argument("--prompt", help="message to send (needs --model)")
        scripted.set_defaults(handler=handler)

    from app.cli import bench, chat, evaluate, git, math, models, plugins, project, sandbox, testing

    chat.add_parser(sub)
    project.add_parser(sub)
    testing.add_parser(sub)
    plugins.add_parser(sub)
    bench.add_parser(sub)
    git.add_parser(sub)
    models.add_parser(sub)
    math.add_parser(sub)
    evaluate.add_parser(sub)
    sandbox.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quillpad`` console script."""
    paths = app_paths()
    configure_logging(paths)
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if argv[:1] == ["test"] and "--" in argv:  # the rest goes to pytest untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    if passthrough:
        args.passthrough = passthrough
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except QuillpadError as err:
        print(f"quillpad: {err}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("quillpad: interrupted.", file=sys.stderr)
        return 130
    except Exception:
        log.exception("unexpected error in %s", getattr(args.handler, "__name__", "command"))
        print(
            f"quillpad: an unexpected error stopped the command; details are in {paths.log_file}.",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
