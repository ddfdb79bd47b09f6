"""``quillpad bench``: side-by-side performance measurements (never timed tests)."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``bench`` and its targets on the main parser."""
    bench = sub.add_parser("bench", help="measure performance side by side")
    targets = bench.add_subparsers(title="targets", metavar="TARGET", required=True)
    engine = targets.add_parser("engine", help="the engine against bare llama-cpp-python")
    engine.add_argument("--model", required=True, help="path to a .gguf file")
    engine.add_argument("--tokens", type=int, default=256, help="tokens decoded per reply (default 256)")
    engine.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    engine.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    engine.set_defaults(handler=run_engine)
    ui = targets.add_parser("ui", help="GUI responsiveness while a reply streams into the chat")
    ui.add_argument("--model", required=True, help="path to a .gguf file (a small, fast one)")
    ui.add_argument("--tokens", type=int, default=2000, help="tokens per reply (default 2000)")
    ui.add_argument("--replies", type=int, default=20, help="replies in the conversation (default 20)")
    ui.set_defaults(handler=run_ui)
    context = targets.add_parser("context", help="project index: build time, memory, query latency, save-to-searchable")
    context.add_argument("dir", metavar="DIR", help="a large source tree (copied to a temporary folder; only read)")
    context.add_argument("--edits", type=int, default=50, help="saves timed while the watcher runs (default 50)")
    context.add_argument(
        "--burst", type=int, default=10_000, help="files created, modified and deleted at once (default 10000; 0: none)"
    )
    context.add_argument(
        "--compare-watchers",
        action="store_true",
        help="also compare ways of watching a generated 5,000-folder tree (set-up, watches, threads, latency)",
    )
    context.set_defaults(handler=run_context)
    git = targets.add_parser("git", help="git status, diffs, checkpoints and undo on a clone of a repository")
    git.add_argument("dir", metavar="DIR", help="a folder in a git repository (cloned to a temporary folder)")
    git.add_argument("--touch", type=int, default=20, help="files modified for the diffs and checkpoint (default 20)")
    git.add_argument("--checkpoints", type=int, default=50, help="AI changes listed at the end (default 50)")
    git.set_defaults(handler=run_git)
    remote = targets.add_parser("remote", help="a model server against the local engine: TTFT, speed, stop latency")
    remote.add_argument("--model", help="a .gguf file: served by llama-cpp-python's server and run locally")
    remote.add_argument("--server", metavar="URL", help="measure this server instead of starting one")
    remote.add_argument("--server-model", default="", help="the model name on --server")
    remote.add_argument("--tokens", type=int, default=64, help="tokens per reply (default 64)")
    remote.add_argument("--rounds", type=int, default=5, help="rounds per path (default 5)")
    remote.add_argument("--threads", type=int, default=1, help="CPU threads for both (default 1)")
    remote.set_defaults(handler=run_remote)
    add_math_parser(targets)


def _progress(message: str) -> None:
    """Progress goes to stderr, so the figures on stdout stay clean for scripts."""
    print(f"... {message}", file=sys.stderr, flush=True)


def run_engine(args: argparse.Namespace) -> int:
    """Run the engine bench and print its table."""
    from app.core.bench.engine_bench import run_engine_bench
    from app.core.engine.options import InvalidOptionError

    if args.tokens < 2 or args.rounds < 1:
        raise InvalidOptionError("Use --tokens of at least 2 and --rounds of at least 1.")
    result = run_engine_bench(
        args.model,
        tokens=args.tokens,
        rounds=args.rounds,
        threads=args.threads,
        progress=_progress,
    )
    print(result.report())
    return 0


def run_ui(args: argparse.Namespace) -> int:
    """Run the GUI bench offscreen and print its table."""
    from app.core.engine.options import InvalidOptionError
    from app.ui.shell.application import application
    from app.ui.shell.bench_ui import run_ui_bench

    if args.tokens < 1 or args.replies < 1:
        raise InvalidOptionError("Use --tokens and --replies of at least 1.")
    application(headless=True)
    print(run_ui_bench(args.model, tokens=args.tokens, replies=args.replies).report())
    return 0


def run_context(args: argparse.Namespace) -> int:
    """Run the project-context bench on a copy of DIR and print its figures."""
    from pathlib import Path

    from app.core.bench.context_bench import run_context_bench
    from app.core.engine.options import InvalidOptionError

    if args.edits < 1:
        raise InvalidOptionError("Use --edits of at least 1.")
    if args.burst < 0:
        raise InvalidOptionError("Use --burst of 0 (no burst) or more files.")
    result = run_context_bench(
        Path(args.dir), edits=args.edits, progress=_progress, burst=args.burst, compare=args.compare_watchers
    )
    print(result.report())
    return 0


def run_git(args: argparse.Namespace) -> int:
    """Run the git bench on a clone of DIR's repository and print its figures."""
    from pathlib import Path

    from app.core.bench.git_bench import run_git_bench
    from app.core.engine.options import InvalidOptionError

    if args.touch < 1 or args.checkpoints < 1:
        raise InvalidOptionError("Use --touch and --checkpoints of at least 1.")
    result = run_git_bench(
        Path(args.dir),
        touch=args.touch,
        checkpoints=args.checkpoints,
        progress=_progress,
    )
    print(result.report())
    return 0


def run_remote(args: argparse.Namespace) -> int:
    """Run the remote-backend bench and print its table."""
    import os
    from pathlib import Path

    from app.core.bench.remote_bench import run_remote_bench
    from app.core.engine.options import InvalidOptionError
    from app.core.remote.config import API_KEY_ENV

    if args.tokens < 2 or args.rounds < 1:
        raise InvalidOptionError("Use --tokens of at least 2 and --rounds of at least 1.")
    result = run_remote_bench(
        Path(args.model) if args.model else None,
        server=args.server,
        model=args.server_model,
        api_key=os.environ.get(API_KEY_ENV),
        tokens=args.tokens,
        rounds=args.rounds,
        threads=args.threads,
        progress=_progress,
    )
    print(result.report())
    return 0


def add_math_parser(targets: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``bench math``."""
    math = targets.add_parser("math", help="the math checker on the worked-solution corpus: counts and times")
    math.add_argument(
        "--corpus", default="tests/fixtures/math_corpus", help="corpus folder (default tests/fixtures/math_corpus)"
    )
    math.add_argument("--limit", type=float, default=2.0, help="seconds allowed per SymPy call (default 2)")
    math.set_defaults(handler=run_math)


def run_math(args: argparse.Namespace) -> int:
    """Check every corpus solution and variant; print the counts and the time per solution."""
    from pathlib import Path

    from app.core.mathcheck.corpus import load_corpus, run_corpus
    from app.core.mathcheck.verify import CheckOptions

    result = run_corpus(load_corpus(Path(args.corpus)), CheckOptions(limit=args.limit))
    print(result.report())
    for where in result.wrong_marked_verified:
        print(f"WRONG MARKED VERIFIED: {where}")
    return 1 if result.wrong_marked_verified else 0
