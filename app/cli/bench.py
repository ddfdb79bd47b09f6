"""``quillpad bench``: side-by-side performance measurements (never timed tests)."""

from __future__ import annotations

import argparse
from typing import Protocol

from app.cli.common import EXIT_OK, SubParsers, progress


def add_parser(sub: SubParsers) -> None:
    """Register ``bench`` and its targets on the main parser."""
    bench = sub.add_parser("bench", help="measure performance side by side")
    targets = bench.add_subparsers(title="targets", metavar="TARGET", required=True)
    engine = targets.add_parser("engine", help="the engine against bare llama-cpp-python")
    engine.add_argument("--model", required=True, help=MODEL_HELP)
    engine.add_argument("--quant", default="Q8_0", choices=QUANT_CHOICES, help="quantisation of a shape (default Q8_0)")
    engine.add_argument("--tokens", type=int, default=256, help="tokens decoded per reply (default 256)")
    engine.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    engine.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    engine.set_defaults(handler=run_engine)
    ui = targets.add_parser("ui", help="GUI responsiveness while a reply streams into the chat")
    ui.add_argument("--model", required=True, help=MODEL_HELP)
    ui.add_argument("--quant", default="Q8_0", choices=QUANT_CHOICES, help="quantisation of a shape (default Q8_0)")
    ui.add_argument("--tokens", type=int, default=400, help="tokens per reply (default 400)")
    ui.add_argument("--replies", type=int, default=20, help="replies in the conversation (default 20)")
    ui.add_argument(
        "--busy", action="store_true", help="run one CPU-bound process beside it (a busy machine), all replies long"
    )
    ui.add_argument(
        "--bare-threads",
        default="",
        metavar="N,N",
        help="thread counts for the bare llama-cpp-python column (default: all cores; with --busy, also one fewer)",
    )
    ui.set_defaults(handler=run_ui)
    resume = targets.add_parser("resume", help="time to first token after reopening or switching back to a long chat")
    resume.add_argument("--model", default="qwen3-1.7b", help=MODEL_HELP + " (default qwen3-1.7b)")
    resume.add_argument("--quant", default="Q8_0", choices=QUANT_CHOICES, help="quantisation of a shape (default Q8_0)")
    resume.add_argument("--history", type=int, default=3000, help="prompt tokens of the conversation (default 3000)")
    resume.add_argument("--tokens", type=int, default=32, help="tokens per reply (default 32)")
    resume.set_defaults(handler=run_resume)
    shapes = targets.add_parser("shapes", help="write the random-weight real-size model shapes (cached)")
    shapes.add_argument("names", nargs="*", metavar="SHAPE", help="shapes to write (default: qwen3-0.6b qwen3-1.7b)")
    shapes.add_argument("--quant", default="Q8_0", choices=QUANT_CHOICES, help="quantisation (default Q8_0)")
    shapes.set_defaults(handler=run_shapes)
    context = targets.add_parser("context", help="project index: build time, memory, query latency, save-to-searchable")
    context.add_argument("dir", metavar="DIR", help="a large source tree (copied to a temporary folder; only read)")
    context.add_argument("--edits", type=int, default=50, help="saves timed while the watcher runs (default 50)")
    context.add_argument("--max-files", type=int, help="copy only the first N candidate files (by path)")
    context.add_argument("--force-polling", action="store_true", help="time saves with the polling watcher")
    context.add_argument(
        "--burst", type=int, default=10_000, help="files created, modified and deleted at once (default 10000; 0: none)"
    )
    context.add_argument(
        "--compare-watchers",
        action="store_true",
        help="also compare ways of watching a generated 5,000-folder tree (set-up, watches, threads, latency)",
    )
    context.set_defaults(handler=run_context)
    retrieval = targets.add_parser(
        "retrieval", help="project search quality: top-1/top-5 hit rates, MRR, query latency, index time"
    )
    retrieval.add_argument("dir", metavar="DIR", help="the source tree the questions are about (only read)")
    retrieval.add_argument("queries", metavar="QUERIES.tsv", help="question<TAB>path[<TAB>path...] per line")
    retrieval.add_argument("--quiet", action="store_true", help="leave out the list of missed questions")
    retrieval.set_defaults(handler=run_retrieval)
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
    evals = targets.add_parser(
        "eval-server", help="evaluation throughput on a fake parallel model server at concurrency 1, 8, 32"
    )
    evals.add_argument("--latency", type=float, default=0.5, help="the server's seconds per request (default 0.5)")
    evals.add_argument(
        "--concurrency",
        default="1,8,32",
        help="comma-separated concurrencies; the first is the baseline (default 1,8,32)",
    )
    evals.add_argument("--rounds", type=int, default=6, help="requests per slot at each level (default 6)")
    evals.add_argument("--repeats", type=int, default=3, help="runs per level, the median shown (default 3)")
    evals.set_defaults(handler=run_eval_server)
    add_math_parser(targets)
    complete = targets.add_parser("complete", help="inline completion replayed over real source files")
    complete.add_argument(
        "--model",
        required=True,
        help="a FIM-capable .gguf, or qwen2.5-coder-0.5b (random weights, that shape)",
    )
    complete.add_argument("dir", metavar="DIR", nargs="?", help="source files to replay (default: pygments' sources)")
    complete.add_argument("--files", type=int, default=6, help="files to visit (default 6)")
    complete.add_argument("--positions", type=int, default=2, help="cursor positions per file (default 2)")
    complete.add_argument("--keystrokes", type=int, default=12, help="characters typed at each position (default 12)")
    complete.add_argument("--interval", type=float, default=0.12, help="seconds between keystrokes (default 0.12)")
    complete.add_argument("--burst", type=int, default=3, help="keystrokes before each request (default 3)")
    complete.add_argument(
        "--pause", type=float, default=1.0, help="seconds the user reads a suggestion before typing on (default 1)"
    )
    complete.add_argument("--threads", type=int, help="CPU threads (default: as the editor, half the cores)")
    complete.add_argument("--prompt-tokens", type=int, default=1024, help="prompt budget in tokens (default 1024)")
    complete.set_defaults(handler=run_complete)
    refs = targets.add_parser(
        "refs", help="code referencing: recall and precision on disguised copies, index size, latency"
    )
    refs.add_argument("--index", metavar="PATH", help="reuse (and update) this index file instead of a temporary one")
    refs.add_argument("--packages", metavar="NAMES", help="comma-separated distributions (default: all installed)")
    refs.add_argument("--samples", type=int, default=60, help="functions planted per transformation (default 60)")
    refs.add_argument("--seed", type=int, default=28, help="random seed of the sample (default 28)")
    refs.add_argument("--json", action="store_true", help="print one JSON object")
    refs.set_defaults(handler=run_refs)


MODEL_HELP = (
    "a .gguf file, or a real model's shape with random weights, written once into the cache: "
    "qwen3-0.6b, qwen3-1.7b, qwen3-8b, qwen3-30b-a3b"
)
QUANT_CHOICES = ("Q8_0", "Q4_0")


def _model(args: argparse.Namespace) -> str:
    from app.core.bench.model_shapes import resolve_model

    return resolve_model(args.model, args.quant, progress=progress)


def run_refs(args: argparse.Namespace) -> int:
    """Run the code-reference bench and print its tables."""
    import json
    from pathlib import Path

    from app.core.bench.refs_bench import run_refs_bench
    from app.core.engine.options import InvalidOptionError

    if args.samples < 1:
        raise InvalidOptionError("Use --samples of at least 1.")
    packages = [name.strip() for name in args.packages.split(",") if name.strip()] if args.packages else None
    result = run_refs_bench(
        index_path=Path(args.index) if args.index else None,
        packages=packages,
        samples=args.samples,
        seed=args.seed,
        progress=progress,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.report())
    return 0


class _Figures(Protocol):
    def report(self) -> str: ...


def _show(result: _Figures) -> int:
    """The figures on stdout (progress went to stderr), so scripts can keep them."""
    print(result.report())
    return EXIT_OK


def run_engine(args: argparse.Namespace) -> int:
    """Run the engine bench and print its table."""
    from app.core.bench.engine_bench import run_engine_bench
    from app.core.engine.options import InvalidOptionError

    if args.tokens < 2 or args.rounds < 1:
        raise InvalidOptionError("Use --tokens of at least 2 and --rounds of at least 1.")
    return _show(
        run_engine_bench(_model(args), tokens=args.tokens, rounds=args.rounds, threads=args.threads, progress=progress)
    )


def run_ui(args: argparse.Namespace) -> int:
    """Run the GUI bench offscreen and print its table."""
    from app.core.engine.options import InvalidOptionError
    from app.ui.shell.application import application
    from app.ui.shell.bench_ui import run_ui_bench

    if args.tokens < 1 or args.replies < 1:
        raise InvalidOptionError("Use --tokens and --replies of at least 1.")
    try:
        bare_threads = tuple(int(n) for n in args.bare_threads.split(",") if n.strip())
    except ValueError as err:
        raise InvalidOptionError("Use --bare-threads with whole numbers, e.g. 2,1.") from err
    if any(n < 1 for n in bare_threads):
        raise InvalidOptionError("Use --bare-threads of at least 1.")
    model = _model(args)
    application(headless=True)
    return _show(
        run_ui_bench(
            model,
            tokens=args.tokens,
            replies=args.replies,
            busy=args.busy,
            bare_threads=bare_threads,
            progress=progress,
        )
    )


def run_resume(args: argparse.Namespace) -> int:
    """Run the saved-state bench and print its table."""
    from app.core.bench.resume_bench import run_resume_bench
    from app.core.engine.options import InvalidOptionError

    if args.history < 100 or args.tokens < 1:
        raise InvalidOptionError("Use --history of at least 100 tokens and --tokens of at least 1.")
    return _show(run_resume_bench(_model(args), history_tokens=args.history, tokens=args.tokens, progress=progress))


def run_shapes(args: argparse.Namespace) -> int:
    """Write (or find) the named shapes and print their paths."""
    from app.core.bench.model_shapes import ensure_shape

    for name in args.names or ["qwen3-0.6b", "qwen3-1.7b"]:
        print(ensure_shape(name, args.quant, progress=progress))
    return EXIT_OK


def run_context(args: argparse.Namespace) -> int:
    """Run the project-context bench on a copy of DIR and print its figures."""
    from pathlib import Path

    from app.core.bench.context_bench import run_context_bench
    from app.core.engine.options import InvalidOptionError

    if args.edits < 1:
        raise InvalidOptionError("Use --edits of at least 1.")
    if args.max_files is not None and args.max_files < 1:
        raise InvalidOptionError("Use --max-files of at least 1.")
    if args.burst < 0:
        raise InvalidOptionError("Use --burst of 0 (no burst) or more files.")
    result = run_context_bench(
        Path(args.dir),
        edits=args.edits,
        progress=progress,
        burst=args.burst,
        compare=args.compare_watchers,
        max_files=args.max_files,
        force_polling=args.force_polling,
    )
    return _show(result)


def run_retrieval(args: argparse.Namespace) -> int:
    """Run the retrieval bench on DIR with a query file and print its table."""
    from pathlib import Path

    from app.core.bench.retrieval_bench import run_retrieval_bench

    result = run_retrieval_bench(Path(args.dir), Path(args.queries), progress=progress)
    print(result.report(show_misses=not args.quiet))
    return 0


def run_git(args: argparse.Namespace) -> int:
    """Run the git bench on a clone of DIR's repository and print its figures."""
    from pathlib import Path

    from app.core.bench.git_bench import run_git_bench
    from app.core.engine.options import InvalidOptionError

    if args.touch < 1 or args.checkpoints < 1:
        raise InvalidOptionError("Use --touch and --checkpoints of at least 1.")
    return _show(run_git_bench(Path(args.dir), touch=args.touch, checkpoints=args.checkpoints, progress=progress))


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
        progress=progress,
    )
    return _show(result)


def run_eval_server(args: argparse.Namespace) -> int:
    """Run the evaluation-throughput bench against the fake parallel server and print its table."""
    from app.core.bench.eval_server_bench import run_eval_server_bench
    from app.core.engine.options import InvalidOptionError

    try:
        levels = tuple(int(part) for part in args.concurrency.split(",") if part.strip())
    except ValueError:
        raise InvalidOptionError(
            f"--concurrency takes numbers separated by commas, like 1,8,32 (got {args.concurrency!r})."
        ) from None
    if not levels or levels[0] != 1 or any(not 1 <= level <= 256 for level in levels):
        raise InvalidOptionError(
            "--concurrency must start with 1 (the baseline) and stay between 1 and 256, like 1,8,32."
        )
    return _show(
        run_eval_server_bench(
            latency=args.latency, levels=levels, rounds=args.rounds, repeats=args.repeats, progress=progress
        )
    )


DEFAULT_MATH_CORPORA = ("tests/fixtures/math_corpus", "tests/fixtures/math_corpus_styles")


def add_math_parser(targets: SubParsers) -> None:
    """Register ``bench math``."""
    math = targets.add_parser("math", help="the math checker on the worked-solution corpus: counts and times")
    math.add_argument(
        "--corpus",
        action="append",
        metavar="DIR",
        help="a corpus folder; repeat for several, each reported separately "
        f"(default: {' and '.join(DEFAULT_MATH_CORPORA)})",
    )
    math.add_argument("--limit", type=float, default=2.0, help="seconds allowed per SymPy call (default 2)")
    math.set_defaults(handler=run_math)


def run_math(args: argparse.Namespace) -> int:
    """Check every corpus solution and variant; print the counts and the time per solution."""
    from pathlib import Path

    from app.core.mathcheck.corpus import load_corpus, run_corpus
    from app.core.mathcheck.verify import CheckOptions

    folders = args.corpus or list(DEFAULT_MATH_CORPORA)
    corpora = [(folder, load_corpus(Path(folder))) for folder in folders]  # a bad folder fails before the long run
    failed = False
    for folder, solutions in corpora:
        print(f"== {folder}")
        result = run_corpus(solutions, CheckOptions(limit=args.limit), progress=progress)
        print(result.report())
        for line in result.problems():
            print(line)
        print()
        failed = failed or bool(result.wrong_marked_verified or result.ticked_after_wrong)
    return 1 if failed else 0


def run_complete(args: argparse.Namespace) -> int:
    """Run the completion bench and print its figures."""
    from pathlib import Path

    from app.core.bench.coder_gguf import CODER_SHAPES, ensure_coder_shape
    from app.core.bench.complete_bench import run_completion_bench
    from app.core.completion.engine import default_threads
    from app.core.engine.options import InvalidOptionError
    from app.core.paths import app_paths

    if min(args.files, args.positions, args.keystrokes, args.threads or 1) < 1 or args.interval <= 0:
        raise InvalidOptionError("Use --files, --positions, --keystrokes, --threads of at least 1, --interval > 0.")
    if args.prompt_tokens < 64:
        raise InvalidOptionError("Use --prompt-tokens of at least 64.")
    model = args.model
    if model.lower() in CODER_SHAPES:
        model = str(ensure_coder_shape(model, app_paths().cache_dir / "bench-models", progress=progress))
    result = run_completion_bench(
        model,
        Path(args.dir) if args.dir else None,
        files=args.files,
        per_file=args.positions,
        keystrokes=args.keystrokes,
        interval=args.interval,
        threads=args.threads or default_threads(),
        prompt_tokens=args.prompt_tokens,
        burst=max(1, args.burst),
        read_pause=max(0.0, args.pause),
        progress=progress,
    )
    print(result.report())
    return 0
