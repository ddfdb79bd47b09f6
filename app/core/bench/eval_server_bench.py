"""``quillpad bench eval-server``: evaluation throughput on a model server at several concurrencies.

The fake parallel server (``fake_eval_server``) runs in its own process and
answers every request after the same fixed latency, so the server is never
the bottleneck: the ideal at concurrency N is N times the rate of one
request at a time, and the ratio to it measures the client (request
handling, retries' bookkeeping, scoring, the results file). The run is the
real one: ``connect_server`` and ``EvalRun`` on the GSM8K sample, with as
many seeds as it takes to keep every slot busy for several rounds.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from app.core.bench.fake_eval_server import free_port
from app.core.errors import QuillpadError
from app.core.evaluation.datasets import load_dataset
from app.core.evaluation.runner import EvalConfig, EvalRun
from app.core.evaluation.server import connect_server
from app.core.remote.config import RemoteConfig

READY_SECONDS = 30.0


@dataclass(frozen=True)
class LevelFigures:
    """One concurrency level."""

    concurrency: int
    requests: int
    seconds: float  # the requests' phase: first request to last result (the report's throughput)
    wall: float  # the whole run, connecting and writing the report included
    p50: float
    p90: float
    rates: tuple[float, ...] = ()  # req/s of every repeat (this one is the median)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class EvalServerBenchResult:
    latency: float
    levels: list[LevelFigures]
    load: str
    repeats: int = 1

    def report(self) -> str:
        single = self.levels[0].rate / self.levels[0].concurrency if self.levels else 0.0
        lines = [
            f"fake server latency per request: {self.latency:g} s   (1/latency = {1 / self.latency:.2f} requests/s)",
            f"load average at the start: {self.load}   repeats per level: {self.repeats} (median shown)",
            "",
            f"{'concurrency':>11}{'requests':>10}{'seconds':>9}{'req/s':>9}{'ideal':>9}{'ratio':>7}"
            f"{'p50 s':>8}{'p90 s':>8}{'wall s':>8}{'req/s range':>16}",
        ]
        for level in self.levels:
            ideal = single * level.concurrency
            ratio = level.rate / ideal if ideal else 0.0
            spread = f"{min(level.rates):.1f}-{max(level.rates):.1f}" if level.rates else "-"
            lines.append(
                f"{level.concurrency:>11}{level.requests:>10}{level.seconds:>9.2f}{level.rate:>9.2f}{ideal:>9.2f}"
                f"{ratio:>7.2f}{level.p50:>8.2f}{level.p90:>8.2f}{level.wall:>8.2f}{spread:>16}"
            )
        lines += [
            "",
            "ideal: concurrency x the measured rate at concurrency 1; ratio = req/s / ideal. The levels take",
            "turns within each repeat, so noise from other work on the machine falls on all of them alike.",
            "Each level is a real evaluation run (GSM8K sample, several seeds): requests, scoring, results file;",
            "seconds and req/s are the report's throughput (requests to last result); wall adds connecting",
            "and writing the report.",
        ]
        return "\n".join(lines)


def _start_server(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "app.core.bench.fake_eval_server",
        "--port",
        str(port),
        "--latency",
        str(latency),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + READY_SECONDS
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise QuillpadError("The fake evaluation server exited at start.")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url + "/models").status_code == 200:
                    return process, url
            time.sleep(0.1)
    _stop(process)
    raise QuillpadError(f"The fake evaluation server did not start within {READY_SECONDS:g} s.")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _measure(url: str, concurrency: int, rounds: int, folder: Path) -> LevelFigures:
    dataset = load_dataset("gsm8k")
    # Whole rounds only: a last round with idle slots would measure the tail, not the rate.
    step = math.lcm(len(dataset.tasks), concurrency)
    requests_wanted = step * max(1, -(-concurrency * rounds // step))
    seeds = tuple(range(1, requests_wanted // len(dataset.tasks) + 1))
    config = EvalConfig("gsm8k", seeds=seeds, concurrency=concurrency, workers=2, fresh=True)
    started = time.monotonic()
    connection = connect_server(
        RemoteConfig(url),
        concurrency=concurrency,
        thinking=False,
        overrides=None,
        max_tokens=None,
        max_retries=config.max_retries,
        request_timeout=60.0,
    )
    try:
        run = EvalRun(config, dataset, folder / f"c{concurrency}", clients=connection.clients, setup=connection.setup)
        outcome = run.run()
    finally:
        connection.close()
    wall = time.monotonic() - started
    figures = outcome.report["throughput"]
    latency = figures["latency_seconds"]
    return LevelFigures(concurrency, figures["requests"], figures["seconds"], wall, latency["p50"], latency["p90"])


def run_eval_server_bench(
    *,
    latency: float = 0.5,
    levels: tuple[int, ...] = (1, 8, 32),
    rounds: int = 6,
    repeats: int = 3,
    progress: Callable[[str], None] = lambda _msg: None,
) -> EvalServerBenchResult:
    """Measure evaluation throughput against the fake parallel server at each concurrency in ``levels``
    (``repeats`` times, the levels taking turns; each level's median run is reported)."""
    if latency <= 0 or rounds < 1 or repeats < 1 or not levels or min(levels) < 1:
        raise QuillpadError(
            "Use a --latency above 0, --rounds and --repeats of at least 1 and concurrencies of at least 1."
        )
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    process, url = _start_server(latency)
    try:
        with tempfile.TemporaryDirectory(prefix="quillpad-bench-eval-") as folder:
            runs: dict[int, list[LevelFigures]] = {concurrency: [] for concurrency in levels}
            for repeat in range(repeats):
                for concurrency in levels:
                    progress(f"repeat {repeat + 1} of {repeats}: concurrency {concurrency}")
                    runs[concurrency].append(_measure(url, concurrency, rounds, Path(folder)))
    finally:
        _stop(process)
    figures = []
    for concurrency in levels:
        ordered = sorted(runs[concurrency], key=lambda level: level.rate)
        median = ordered[len(ordered) // 2]
        figures.append(replace(median, rates=tuple(level.rate for level in runs[concurrency])))
    return EvalServerBenchResult(latency, figures, load, repeats)
