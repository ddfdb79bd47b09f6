"""``quillpad bench complete``: inline completion replayed over real source files.

For each of several positions in real files (by default the sources of an
installed dependency, code nobody here wrote), the bench does what the
editor does:

1. a **jump**: the cursor lands on a new position and a suggestion is asked
   for (a full prompt of up to 1,024 tokens, little of it cached);
2. **typing**: the characters that really follow in the file are typed at
   ``interval`` seconds per keystroke, in bursts of ``burst`` characters;
   after each burst the editor's debounce ends and a suggestion is asked
   for (the prefix extends the previous one, so the KV cache is reused).
   A request still running when the next burst's request comes is
   cancelled, as in the editor. Latency is counted from the request (the
   debounce is the user's setting and is not included).

The **ceiling** line is llama.cpp's own prompt speed for this model on this
machine at the same moment (a fresh 256-token prompt, nothing cached), so a
gap between the figures and the targets can be told apart from the
machine's load.

It reports latency to the first suggestion (median, p95) for jumps and
keystrokes apart, tokens per suggestion, the share of requests cancelled and
the prompt tokens evaluated versus reused from the KV cache. Positions are
chosen with a fixed seed before anything is measured.
"""

from __future__ import annotations

import os
import queue
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.completion.engine import CompletionEngine, CompletionResult
from app.core.completion.messages import CompletionLimits
from app.core.completion.prompt import PromptBudget
from app.core.completion.related import build_request
from app.core.errors import QuillpadError

DEFAULT_PACKAGE = "pygments"  # a large pure-Python dependency, present wherever Quillpad is


@dataclass
class Sample:
    """One request as the user experiences it."""

    kind: str  # "jump" or "keystroke"
    result: CompletionResult
    waited: float  # seconds between the keystroke and the request reaching the engine


@dataclass
class CompletionBenchResult:
    """Every request's figures, and the summary."""

    model: str
    threads: int
    interval: float
    files: int
    prompt_budget: int
    samples: list[Sample] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ceiling_tokens_per_second: float = 0.0

    def _latencies(self, kind: str) -> list[float]:
        return [
            s.waited + s.result.seconds_to_first
            for s in self.samples
            if s.kind == kind and s.result.seconds_to_first is not None
        ]

    @staticmethod
    def _p(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def report(self) -> str:
        lines = [
            f"completion bench: {Path(self.model).name}, {self.threads} thread(s), "
            f"a keystroke every {self.interval * 1000:.0f} ms, {self.files} file(s), "
            f"prompt budget {self.prompt_budget} tokens",
            f"load average before {self.load_before[0]:.2f}, after {self.load_after[0]:.2f} ({os.cpu_count()} CPUs)",
            "",
            f"{'requests':<12}{'count':>7}{'suggested':>11}{'median ms':>11}{'p95 ms':>9}{'prompt tok':>12}",
        ]
        for kind in ("jump", "keystroke"):
            of_kind = [s for s in self.samples if s.kind == kind]
            lat = self._latencies(kind)
            prompt = statistics.mean(s.result.stats.prompt_tokens for s in of_kind) if of_kind else 0
            lines.append(
                f"{kind:<12}{len(of_kind):>7}{len(lat):>11}{self._p(lat, 0.5) * 1000:>11.0f}"
                f"{self._p(lat, 0.95) * 1000:>9.0f}{prompt:>12.0f}"
            )
        done = [s for s in self.samples if s.result.reason == "done"]
        cancelled = [s for s in self.samples if s.result.reason == "cancelled"]
        errors = [s for s in self.samples if s.result.reason == "error"]
        evaluated = sum(s.result.stats.prompt_tokens_evaluated for s in self.samples)
        reused = sum(s.result.stats.prompt_tokens_reused for s in self.samples)
        key_eval = [
            s.result.stats.prompt_tokens_evaluated
            for s in self.samples
            if s.kind == "keystroke" and s.result.stats.prompt_tokens
        ]
        tokens = [s.result.stats.generated_tokens for s in done]
        lines += [
            "",
            f"tokens per finished suggestion: {statistics.mean(tokens) if tokens else 0:.1f}",
            f"cancelled by the next keystroke: {len(cancelled)} of {len(self.samples)} "
            f"({100 * len(cancelled) / max(1, len(self.samples)):.0f}%); errors: {len(errors)}",
            f"prompt tokens evaluated {evaluated}, reused from the cache {reused} "
            f"({100 * reused / max(1, evaluated + reused):.0f}% reused); "
            f"median evaluated per keystroke {statistics.median(key_eval) if key_eval else 0:.0f}",
            f"ceiling: llama.cpp evaluates {self.ceiling_tokens_per_second:.0f} prompt tokens/s with this model "
            f"here now, so a fresh {self.prompt_budget}-token prompt alone takes "
            f"{self.prompt_budget / max(self.ceiling_tokens_per_second, 1e-9) * 1000:.0f} ms",
            "targets (0.5B shape, 2 cores): jump median < 400 ms, keystroke median < 150 ms",
        ]
        return "\n".join(lines)


def _ceiling(engine: CompletionEngine, limits: CompletionLimits) -> float:
    """Prompt tokens per second for a fresh prompt of about 256 tokens (nothing reusable cached)."""
    filler = "".join(f"value_{i:04d} = compute({i})\n" for i in range(400))
    text = f"# ceiling {time.monotonic()}\n" + filler
    request = build_request(text, len(text))
    budget = PromptBudget(total=256, suffix=16, related=0)
    result = engine.complete(request, CompletionLimits(max_tokens=1, budget=budget))
    evaluated = result.stats.prompt_tokens_evaluated
    seconds = result.stats.seconds_total
    return evaluated / seconds if seconds > 0 else 0.0


def default_source_dir() -> Path:
    """The installed sources of ``DEFAULT_PACKAGE``."""
    import importlib.util

    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or spec.origin is None:
        raise QuillpadError(f"Give a folder of source files; {DEFAULT_PACKAGE} is not installed to use instead.")
    return Path(spec.origin).parent


def pick_positions(folder: Path, files: int, per_file: int, seed: int = 0) -> list[tuple[Path, str, int]]:
    """``files`` Python files of ``folder`` (2–200 KB, spread over the sorted list) and
    ``per_file`` cursor positions in each, at line starts after some indentation."""
    candidates = sorted(p for p in folder.rglob("*.py") if p.is_file() and 2_000 <= p.stat().st_size <= 200_000)
    if not candidates:
        raise QuillpadError(f"{folder} has no Python files of 2–200 KB to replay; give a folder of source code.")
    step = max(1, len(candidates) // files)
    rng = random.Random(seed)
    chosen: list[tuple[Path, str, int]] = []
    for path in candidates[::step][:files]:
        text = path.read_text(encoding="utf-8", errors="replace")
        starts = [i + 1 for i, ch in enumerate(text) if ch == "\n" and text[i + 1 : i + 5] == "    "]
        for line_start in rng.sample(starts, min(per_file, len(starts))):
            cursor = line_start + len(text[line_start:]) - len(text[line_start:].lstrip(" "))
            chosen.append((path, text, cursor))
    return chosen


def run_completion_bench(
    model: str,
    folder: Path | None = None,
    *,
    files: int = 6,
    per_file: int = 2,
    keystrokes: int = 12,
    interval: float = 0.12,
    threads: int = 2,
    prompt_tokens: int = 1024,
    burst: int = 3,
    read_pause: float = 1.0,
    progress: Callable[[str], None] = lambda _m: None,
) -> CompletionBenchResult:
    """Replay jumps and typing over real files; see the module docstring."""
    folder = folder or default_source_dir()
    positions = pick_positions(folder, files, per_file)
    result = CompletionBenchResult(model, threads, interval, len({p for p, _t, _c in positions}), prompt_tokens)
    result.load_before = os.getloadavg()
    limits = CompletionLimits(budget=PromptBudget(total=prompt_tokens, suffix=prompt_tokens // 8, related=0))
    with CompletionEngine() as engine:
        progress(f"loading {Path(model).name}")
        engine.load(model, threads=threads)
        # One warm-up request (first-touch page faults of the weights are not what users feel twice).
        engine.complete(build_request("def main():\n    ", 16), limits)
        jobs: queue.Queue[tuple[str, str, int, int, float] | None] = queue.Queue()

        def drive() -> None:
            while True:
                job = jobs.get()
                if job is None:
                    return
                kind, text, cursor, rid, submitted = job
                request = build_request(text, cursor)
                waited = time.monotonic() - submitted
                outcome = engine.complete(request, limits, request_id=rid)
                result.samples.append(Sample(kind, outcome, waited))

        driver = threading.Thread(target=drive, name="completion-bench")
        driver.start()
        try:
            for index, (path, text, cursor) in enumerate(positions):
                progress(f"position {index + 1}/{len(positions)}: {path.name}")
                typed = text[cursor : cursor + keystrokes]
                typed = typed.split("\n", 1)[0] or typed[:1]
                base = text[:cursor] + text[cursor + len(typed) :]
                jobs.put(("jump", base, cursor, engine.new_request_id(), time.monotonic()))
                time.sleep(read_pause)  # the user reads the suggestion before typing on
                for n in range(1, len(typed) + 1):
                    time.sleep(interval)
                    if n % burst == 0 or n == len(typed):
                        doc = base[:cursor] + typed[:n] + base[cursor:]
                        jobs.put(("keystroke", doc, cursor + n, engine.new_request_id(), time.monotonic()))
                        time.sleep(read_pause / 2)
                time.sleep(read_pause)
        finally:
            jobs.put(None)
            driver.join()
        result.ceiling_tokens_per_second = _ceiling(engine, limits)
    result.load_after = os.getloadavg()
    return result
