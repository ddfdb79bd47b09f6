"""``quillpad complete``: one inline-completion suggestion for a cursor position in a file.

The same core path as the editor: ``app.core.completion.related.build_request``
builds the request (window around the cursor, related files), a
``CompletionEngine`` runs it in its own worker process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.core.errors import QuillpadError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``complete`` on the main parser."""
    complete = sub.add_parser("complete", help="fill in code at a position in a file with a coding model")
    complete.add_argument("file", metavar="FILE")
    complete.add_argument("--line", type=int, required=True, help="1-based line of the cursor")
    complete.add_argument("--column", type=int, required=True, help="1-based column of the cursor")
    complete.add_argument("--model", help="a GGUF with fill-in-the-middle tokens (default: Settings ▸ Completion)")
    complete.add_argument("--project", help="project folder for related files (default: the file's folder)")
    complete.add_argument("--max-tokens", type=int, default=64, help="longest suggestion in tokens (default 64)")
    complete.add_argument("--threads", type=int, help="CPU threads (default: chosen from the cores)")
    complete.add_argument("--show-prompt", action="store_true", help="print the prompt sent to the model too")
    complete.add_argument("--json", action="store_true", help="print one JSON object")
    complete.set_defaults(handler=run_complete)


def _model_path(given: str | None) -> str:
    if given:
        return given
    from app.core.paths import app_paths
    from app.core.settings import load_settings

    chosen = load_settings(app_paths()).settings.completion.model
    if not chosen:
        raise QuillpadError("No completion model is chosen; pass --model FILE or choose one in Settings ▸ Completion.")
    return chosen


def run_complete(args: argparse.Namespace) -> int:
    """Print the suggestion at ``--line``/``--column`` of FILE and its timing."""
    from app.core.completion.engine import CompletionEngine, CompletionUnavailable
    from app.core.completion.messages import CompletionLimits
    from app.core.completion.related import build_request, cursor_offset
    from app.core.text_files import load_text_file

    if args.line < 1 or args.column < 1:
        raise QuillpadError("Lines and columns start at 1; give --line and --column of at least 1.")
    if args.max_tokens < 1:
        raise QuillpadError("Use --max-tokens of at least 1.")
    path = Path(args.file).resolve()
    text = load_text_file(path).text  # refuses binary, huge and unreadable files with one sentence
    root = Path(args.project).resolve() if args.project else path.parent
    request = build_request(text, cursor_offset(text, args.line, args.column), path, root)
    model = _model_path(args.model)
    with CompletionEngine() as engine:
        try:
            fmt = engine.load(model, threads=args.threads)
        except CompletionUnavailable as err:
            raise QuillpadError(str(err)) from None
        prompt = engine.render(request) if args.show_prompt else None
        result = engine.complete(request, CompletionLimits(max_tokens=args.max_tokens))
    if result.reason == "error":
        raise QuillpadError(result.error)
    stats = result.stats
    if args.json:
        payload = {
            "completion": result.text,
            "format": fmt,
            "seconds_to_first": result.seconds_to_first,
            "seconds_total": round(result.seconds_total, 4),
            "prompt_tokens": stats.prompt_tokens,
            "generated_tokens": stats.generated_tokens,
            "related_files": [r.path for r in request.related],
        }
        if prompt is not None:
            payload["prompt"] = prompt.text
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    if prompt is not None:
        print(f"--- prompt ({prompt.tokens} tokens) ---\n{prompt.text}\n--- completion ---")
    print(result.text)
    first = (
        "no suggestion"
        if result.seconds_to_first is None
        else f"first suggestion {result.seconds_to_first * 1000:.0f} ms"
    )
    print(
        f"({first}, total {result.seconds_total * 1000:.0f} ms; prompt {stats.prompt_tokens} tokens, "
        f"{stats.generated_tokens} generated; format {fmt})",
        file=sys.stderr,
    )
    return 0
