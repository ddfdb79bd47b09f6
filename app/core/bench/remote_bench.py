"""``quillpad bench remote``: a model server against the local engine, side by side.

For one GGUF file it starts llama-cpp-python's own server on 127.0.0.1 (or
uses ``--server``) and measures, with the same prompt and reply length:
time to first token, decode speed, and how long ``stop()`` from another
thread takes to end the reply; then the same for the local engine.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.bench.engine_bench import BENCH_PROMPT
from app.core.bench.llama_server import LlamaServer
from app.core.engine import AnswerText, ChatMessage, ChatRequest, Done, Engine, EngineError, LoadOptions, Stats
from app.core.engine.backend import ChatBackend
from app.core.errors import QuillpadError
from app.core.remote import RemoteBackend, RemoteConfig

STOP_TOKENS = 200


@dataclass
class PathFigures:
    """What one backend measured."""

    name: str
    ttft: list[float] = field(default_factory=list)
    decode_tps: list[float] = field(default_factory=list)
    stop_latency: list[float] = field(default_factory=list)

    def row(self) -> str:
        def med(values: list[float], scale: float = 1.0) -> str:
            return f"{statistics.median(values) * scale:.1f}" if values else "-"

        def spread(values: list[float], scale: float = 1000.0) -> str:
            return f"{min(values) * scale:.1f}-{max(values) * scale:.1f}" if values else "-"

        return (
            f"{self.name:<34}{med(self.ttft, 1000):>10}{spread(self.ttft):>16}{med(self.decode_tps):>10}"
            f"{med(self.stop_latency, 1000):>11}{spread(self.stop_latency):>14}"
        )


@dataclass
class RemoteBenchResult:
    model: str
    tokens: int
    rounds: int
    paths: list[PathFigures]

    def report(self) -> str:
        lines = [
            f"model: {self.model}   tokens per reply: {self.tokens}   rounds: {self.rounds}",
            "",
            f"{'path':<34}{'TTFT ms':>10}{'TTFT range':>16}{'tok/s':>10}{'stop ms':>11}{'stop range':>14}",
        ]
        lines += [p.row() for p in self.paths]
        lines += [
            "",
            "TTFT: request to first generated token, median (the server's includes HTTP and SSE).",
            "stop: stop() called from another thread to the reply's Done(cancelled), median.",
        ]
        return "\n".join(lines)


def _stop_and_note(backend: ChatBackend, asked: list[float]) -> None:
    asked.append(time.perf_counter())
    backend.stop()


def _measure(backend: ChatBackend, figures: PathFigures, tokens: int, rounds: int) -> None:
    request = ChatRequest((ChatMessage("user", BENCH_PROMPT),), max_tokens=tokens, ignore_eos=True, seed=1)
    list(backend.chat(request))  # warm-up: first-request costs are not what this measures
    for _ in range(rounds):
        for event in backend.chat(request):
            if isinstance(event, Stats):
                figures.ttft.append(event.time_to_first_token)
                figures.decode_tps.append(event.decode_tokens_per_second)
            elif isinstance(event, EngineError):
                raise QuillpadError(event.message)
    long = ChatRequest((ChatMessage("user", BENCH_PROMPT),), max_tokens=STOP_TOKENS, ignore_eos=True, seed=2)
    for _ in range(rounds):
        asked: list[float] = []
        stopper: threading.Thread | None = None
        for event in backend.chat(long):
            if isinstance(event, AnswerText) and stopper is None:
                stopper = threading.Thread(target=_stop_and_note, args=(backend, asked))
                stopper.start()
            elif isinstance(event, Done) and event.reason == "cancelled" and asked:
                figures.stop_latency.append(time.perf_counter() - asked[0])
        if stopper is not None:
            stopper.join()


def run_remote_bench(
    gguf: Path | None,
    *,
    server: str | None = None,
    model: str = "",
    api_key: str | None = None,
    tokens: int = 64,
    rounds: int = 5,
    threads: int = 1,
    progress: Callable[[str], None] = lambda _msg: None,
) -> RemoteBenchResult:
    """Measure the server (started for ``gguf`` unless ``server`` is given) and, with ``gguf``, the local engine."""
    if gguf is None and server is None:
        raise QuillpadError("Give a GGUF file (--model) to serve locally, or --server URL.")
    paths: list[PathFigures] = []
    launched: LlamaServer | None = None
    try:
        if server is None:
            assert gguf is not None
            progress(f"starting llama-cpp-python's server for {gguf.name}")
            launched = LlamaServer(gguf, threads=threads).start()
            server = launched.base_url
        with RemoteBackend(RemoteConfig(server, model, api_key=api_key)) as remote:
            connected = remote.connect()
            progress(f"measuring {connected.display_name}")
            figures = PathFigures(f"server ({connected.host})")
            _measure(remote, figures, tokens, rounds)
            paths.append(figures)
    finally:
        if launched is not None:
            launched.stop()
    if gguf is not None:
        progress("measuring the local engine")
        with Engine() as engine:
            engine.load(gguf, LoadOptions(threads=threads))
            figures = PathFigures("local engine (worker process)")
            _measure(engine, figures, tokens, rounds)
            paths.append(figures)
    return RemoteBenchResult(str(gguf or model or server), tokens, rounds, paths)
