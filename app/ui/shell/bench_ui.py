"""``quillpad bench ui``: does the window stream at full speed and stay responsive?

A real window streams fixed-length replies from a model while a 5 ms
heartbeat timer runs on the GUI thread; a late heartbeat is a stall the user
would feel. After each reply, bare llama-cpp-python (in this process, the
window open and idle) decodes at the same context length and as many tokens
as the window's reply, so both pay the same attention cost (decoding 200
where the window decoded 400 measured bare at a shorter average context and
favoured it by a few per cent). Bare runs right before each reply too, at the
context the reply is about to have, and the window is compared with the mean
of the two: this shared machine's speed drifts by ±15 % within seconds (bare
alone gave 82, 93, 66 tokens/s at three growing contexts, ten seconds apart),
and one bare run after the reply judged the window by whichever way the machine
had just drifted (window / bare went 0.73, 1.12 on consecutive replies). When
the window is about to drop old turns, the before-run is cut to the context the
window cut to last time (``predicted_context``): with the after-run alone, those
replies were judged by one drift (Qwen3-0.6B shape, reply 12: window 11.6
tokens/s as at replies 6 and 9, bare after 14.8 against 10.9 and 10.3). A
before-run whose context the reply did not have is left out. Bare waits until
the app and engine have finished what the reply left behind (``_settle``) and
holds the app's code-reference indexing. With ``busy``, one CPU-bound process
runs beside both all along, and bare is
measured at each thread count asked for (all cores and one fewer by default)
to compare the window against the best of them. A thread count whose run has
taken ``SLOW_RUN_CAP`` times as long as the fastest full run is stopped there,
its rate over the tokens it decoded (it cannot be the best): beside a
CPU-bound program 2 threads decoded the starter at 1-4 tokens/s, so two
400-token runs of them made a reply take 13 minutes instead of one. Each
reply starts with the count that was fastest last time. A reply under target
is either slower at every token (the app costs something per token) or slow
in a stretch (a stall, a thread trial, or the shared host slowing for some
seconds); both rates are also compared over median token times (``typical``)
and the seconds lost in tokens slower than twice the median are shown, so a
low reply says which; how long the decoding threads waited for a core while
ready to run (``wait ms``, the kernel's run-queue delay) says whether a reply
slower at every token lost to work on this machine or to the host under it.
The GUI-thread cost of each
token is measured at every reply. What a reply contains changes that cost
several-fold (a code block or a long list re-renders more than prose: 60-230
µs per token over 20 starter replies at the same conversation length), so
whether the cost grows with the conversation's length is measured apart: after
each reply and its bare run, a fixed reply (``PROBE_TEXT``) is streamed into
the same view in the window's batch sizes and timed, then removed; five times
(fifteen after the first and the last reply, the two compared), in GUI-thread
CPU time, the median kept. Timed once in wall time it also
counted waits for a core (right after a reply the engine copies and writes the
reply's saved state: ~760 MB after a 6,600-token Qwen3-0.6B-shape reply) and
gave 41-175 µs per token over 20 such replies, with no trend; without a model
the same probe gave 57-85 µs after 1, 20 and 60 replies, and one probe varies
by about ±20 % with nothing changed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QTimer

from app.core.engine.events import Stats
from app.core.errors import QuillpadError

HEARTBEAT_MS = 5
PROBE_MESSAGE_ID = 1_000_000_000  # never a real message's id
PROBE_CHUNK_CHARS = 40  # about 10 tokens: one 10-a-second batch at 100 tokens/s
PROBE_GAP_SECONDS = 0.05  # between batches, as streaming leaves the renderer time
SETTLE_STEP_S = 0.25
SETTLED_SHARE = 0.1  # of one core, over a step: the app and engine are done with the last reply
SETTLE_MAX_S = 20.0
# A bare run that has taken this many times as long as the fastest full run is stopped: it is no contender.
SLOW_RUN_CAP = 3.0
# The first and the last reply's probes are the ones compared: more repeats there. With 5 the
# medians still went 63, 76, 61, 72 ... 82, 79 µs over 20 starter replies with no trend.
PROBE_REPEATS_ENDS = 15
PROBE_REPEATS = 5  # one probe varies by about ±20 % with nothing changed (51-76 µs, no model)
PROBE_TEXT = (
    "Here is how the function works, step by step.\n\n"
    "1. It reads the **input file** line by line and skips blank lines.\n"
    "2. Each line is split on commas; the first field is the `key`.\n"
    "3. Values for the same key are added up in a dictionary.\n\n"
    "```python\n"
    "def totals(path: str) -> dict[str, float]:\n"
    "    sums: dict[str, float] = {}\n"
    "    with open(path, encoding='utf-8') as handle:\n"
    "        for line in handle:\n"
    "            if not line.strip():\n"
    "                continue\n"
    "            key, *values = line.rstrip('\\n').split(',')\n"
    "            sums[key] = sums.get(key, 0.0) + sum(float(v) for v in values)\n"
    "    return sums\n"
    "```\n\n"
    "The dictionary keeps the first-seen order of the keys, so the report lists them in the order of "
    "the file. If a value is not a number, `float` raises a `ValueError`; catch it around the sum if "
    "the file may hold text in those columns.\n\n"
    "| key | meaning |\n|---|---|\n| `sums` | running totals |\n| `values` | the fields after the key |\n\n"
    "For very large files this stays fast: one pass, and memory grows only with the number of keys."
)


@dataclass
class ReplyFigures:
    """One streamed reply and the bare rates at its context length."""

    number: int
    tokens: int
    context: int  # prompt tokens of the window's reply
    window_tps: float
    threads: int
    render_us_per_token: float
    worst_ms: float
    p99_ms: float
    load: float
    bare_tps: dict[int, float] = field(default_factory=dict)  # threads -> tokens/s: mean of before and after
    bare_runs: dict[int, tuple[float, ...]] = field(default_factory=dict)  # threads -> (before, after) or (after,)
    # CPU ms per token while the window streamed: this process (GUI thread
    # and helpers), the Qt WebEngine processes (renderer, GPU), the engine worker.
    cpu_ms: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)  # resident memory after the reply: app, engine
    probe_us_per_token: float = 0.0  # the fixed reply streamed into the view after this one
    thread_tokens: tuple[tuple[int, int], ...] = ()  # tokens per generation thread count, most first
    settle_s: float = 0.0  # how long the app and engine took to finish the reply's aftermath
    window_gaps: tuple[float, ...] = ()  # seconds between the window's consecutive tokens
    bare_gaps: dict[int, list[float]] = field(default_factory=dict)  # threads -> the same, bare's runs together
    # Milliseconds per token the decoding process's threads were ready to run but waited for a core
    # (the kernel's run-queue delay): the engine in the window's reply, this process in bare's runs.
    wait_ms: float = 0.0
    bare_wait_ms: dict[int, float] = field(default_factory=dict)  # threads -> mean of before and after

    @property
    def threads_text(self) -> str:
        """The final thread count, or how many tokens each count decoded when the policy switched."""
        if len(self.thread_tokens) > 1:
            return " ".join(f"{threads}:{count}" for threads, count in self.thread_tokens)
        return str(self.threads)

    @property
    def best_threads(self) -> int | None:
        """The thread count bare decoded fastest at around this reply (None before bare ran)."""
        return max(self.bare_tps, key=lambda threads: self.bare_tps[threads], default=None)

    @property
    def best_bare(self) -> float:
        return max(self.bare_tps.values(), default=0.0)

    def bare_text(self, threads: int) -> str:
        """Bare's rate at ``threads`` as "before/after" the window's reply, or "after" alone."""
        runs = self.bare_runs.get(threads) or (self.bare_tps.get(threads, 0.0),)
        return "/".join(f"{rate:.1f}" for rate in runs)

    def set_bare(
        self,
        before: dict[int, float] | None,
        after: dict[int, float],
        gaps: dict[int, list[float]] | None = None,
        waits: dict[int, list[float]] | None = None,
    ) -> None:
        """Record bare's runs around this reply; the window is compared with their mean.

        ``gaps``: bare's seconds between tokens per thread count, over the runs kept; ``waits``: its
        run-queue wait in ms per token per thread count, one per run kept."""
        for threads, rate in after.items():
            runs = (before[threads], rate) if before and threads in before else (rate,)
            self.bare_runs[threads] = runs
            self.bare_tps[threads] = statistics.fmean(runs)
        self.bare_gaps = dict(gaps or {})
        self.bare_wait_ms = {threads: statistics.fmean(runs) for threads, runs in (waits or {}).items() if runs}

    @property
    def wait_text(self) -> str:
        """Run-queue wait per token, "window/bare" (bare: the best thread count)."""
        best = self.best_threads
        bare = self.bare_wait_ms.get(best, 0.0) if best is not None else 0.0
        return f"{self.wait_ms:.2f}/{bare:.2f}"

    @property
    def typical_ratio(self) -> float:
        """The window's median token time against the best bare count's: a slow stretch does not move it,
        a cost paid at every token does."""
        best = self.best_threads
        bare = self.bare_gaps.get(best, []) if best is not None else []
        if not bare or not self.window_gaps:
            return 0.0
        return statistics.median(bare) / statistics.median(self.window_gaps)

    @property
    def stretch_s(self) -> float:
        """Seconds the window lost in tokens slower than twice its median token, beyond that median."""
        if not self.window_gaps:
            return 0.0
        median = statistics.median(self.window_gaps)
        return sum(gap - median for gap in self.window_gaps if gap > 2 * median)

    @property
    def decode_s(self) -> float:
        return sum(self.window_gaps)


@dataclass
class UiBenchResult:
    model: str
    busy: bool
    bare_threads: tuple[int, ...]
    replies: list[ReplyFigures] = field(default_factory=list)

    def report(self) -> str:
        bare_cols = "".join(f"{f'bare {n}t':>13}" for n in self.bare_threads)
        lines = [
            f"model: {self.model}   heartbeat: every {HEARTBEAT_MS} ms on the GUI thread   "
            f"CPU-bound neighbour: {'yes' if self.busy else 'no'}   cores: {os.cpu_count()}",
            "",
            f"{'reply':>5}{'context':>9}{'window':>9}{'threads':>12}{bare_cols}{'ratio':>7}{'typical':>8}"
            f"{'slow s':>8}{'wait ms':>11}"
            f"{'GUI µs/tok':>12}{'fixed':>7}{'worst ms':>10}{'p99 ms':>8}{'load':>6}{'settle s':>9}"
            f"{'RSS MB app':>11}{'engine':>8}"
            "   CPU ms/token: app | web | engine | other",
        ]
        for r in self.replies:
            ratio = r.window_tps / r.best_bare if r.best_bare else 0.0
            bare = "".join(f"{r.bare_text(n):>13}" for n in self.bare_threads)
            lines.append(
                f"{r.number:>5}{r.context:>9}{r.window_tps:>9.1f}{r.threads_text:>12}{bare}{ratio:>7.2f}"
                f"{r.typical_ratio:>8.2f}{r.stretch_s:>4.1f}/{r.decode_s:<3.0f}{r.wait_text:>11}"
                f"{r.render_us_per_token:>12.1f}{r.probe_us_per_token:>7.0f}{r.worst_ms:>10.1f}{r.p99_ms:>8.1f}"
                f"{r.load:>6.1f}{r.settle_s:>9.1f}"
                f"{r.rss_mb.get('app', 0.0):>11.0f}{r.rss_mb.get('engine', 0.0):>8.0f}   "
                + " | ".join(f"{r.cpu_ms.get(k, 0.0):.2f}" for k in ("app", "web", "engine", "other"))
            )
        if not self.replies:
            return "\n".join(lines)
        worst = max(r.worst_ms for r in self.replies)
        ratios = [r.window_tps / r.best_bare for r in self.replies if r.best_bare]
        first, last = self.replies[0], self.replies[-1]
        growth = last.probe_us_per_token / first.probe_us_per_token if first.probe_us_per_token else 0.0
        live = last.render_us_per_token / first.render_us_per_token if first.render_us_per_token else 0.0
        target = 0.8 if self.busy else 0.85
        lines += [
            "",
            "window and bare are decode rates (tokens/s) at the same context; bare: before/after the window's reply",
            "(after alone where the before-run missed the reply's context);"
            " ratio: window / the best thread count's mean of the two;",
            f"a bare run {SLOW_RUN_CAP:g}x as long as the fastest full run is stopped (rate over the tokens decoded)",
            "typical: the same over median token times (bare's runs together): a cost paid at every token",
            "shows here, a slow stretch does not; slow s: the window's seconds lost in tokens slower than",
            "twice its median token, beyond that median / its whole decode time",
            "wait ms: per token, how long the decoding process's threads waited for a core though ready to run",
            "(the kernel's run-queue delay; window: the engine, bare: this process at the best count); a reply",
            "slower at every token with no more waiting than bare's lost its speed to the host, not to this machine",
            "threads: the window's generation threads (count:tokens when the automatic policy switched mid-reply)",
            "CPU ms/token: CPU time over the whole reply (prompt processing included) per generated token",
            "settle s: how long the app and engine worked on after the reply (saving state) before bare ran",
            f"lowest ratio over the replies: {min(ratios, default=0.0):.2f}   target >= {target}",
            f"worst stall over all replies: {worst:.1f} ms   target < 50 ms",
            f"GUI cost per token of the same fixed reply, after reply {last.number} vs after reply "
            f"{first.number}: {growth:.2f}x   target <= 1.2x",
            f"(GUI µs/tok of the replies themselves, {last.number} vs {first.number}: {live:.2f}x; "
            "that depends on what each reply contains)",
        ]
        return "\n".join(lines)


def _delays(ticks: list[float]) -> list[float]:
    """How late each heartbeat was, in ms."""
    return [max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in itertools.pairwise(ticks)]


class BareConversation:
    """Bare llama-cpp-python keeping a conversation as long as the window's, in its own KV cache."""

    def __init__(self, model: str, context: int, threads: int, batch_threads: int) -> None:
        import llama_cpp

        from app.core.engine.llama_open import open_llama
        from app.core.engine.worker import banned_tokens_processor, eog_token_ids

        self._llama_cpp = llama_cpp
        self.batch_threads = batch_threads
        self.llm = open_llama(model, n_ctx=context, n_threads=threads, n_threads_batch=batch_threads, verbose=False)
        self.no_eog = banned_tokens_processor(eog_token_ids(self.llm))
        self.tokens: list[int] = []
        self._fastest: int | None = None  # the thread count that decoded fastest last time
        self.decoded: dict[int, int] = {}  # tokens each thread count decoded in the last run
        self.gaps: dict[int, list[float]] = {}  # seconds between tokens per thread count in the last run
        self.waits: dict[int, float] = {}  # run-queue wait in ms per token per thread count in the last run

    def close(self) -> None:
        self.llm.close()

    def _filler(self, count: int) -> list[int]:
        """``count`` tokens of ordinary text (what a conversation is made of)."""
        text = " ".join(f"Line {n}: the function returns the sum of the values it was given." for n in range(64))
        piece = list(self.llm.tokenize(text.encode(), add_bos=False, special=False))
        return (piece * (count // len(piece) + 1))[:count]

    def _turn(self, user_text: str) -> list[int]:
        text = f"<|im_start|>user\n{user_text}<|im_end|>\n<|im_start|>assistant\n".encode()
        return list(self.llm.tokenize(text, add_bos=not self.tokens, special=True))

    def before(
        self, user_text: str, n_tokens: int, thread_counts: tuple[int, ...], context: int | None = None
    ) -> tuple[int, dict[int, float] | None]:
        """Decode ``n_tokens`` at each thread count after the conversation so far and a new user turn,
        keeping nothing: the context the window's next reply is about to have. ``context`` is that
        length as predicted (the window's text re-tokenises longer than bare's: with a random-weight
        shape its context grew by ~1,600 tokens per 400-token reply), padded with filler like
        ``reply``, or cut to its last ``context`` tokens as ``reply`` does once the window drops old
        turns. Returns the context length and the rates; no rates when the reply would not fit (with
        no prediction bare cannot know where the window will start)."""
        turn = self._turn(user_text)
        if context is None:
            prompt = self.tokens + turn
        else:
            missing = context - len(self.tokens) - len(turn)
            prompt = (
                self.tokens + self._filler(missing) + turn if missing > 0 else (self.tokens + turn)[-max(1, context) :]
            )
        if len(prompt) + n_tokens > self.llm.n_ctx():
            return len(prompt), None
        rates, _generated = self._decode(prompt, n_tokens, thread_counts)
        return len(prompt), rates

    def reply(self, user_text: str, n_tokens: int, thread_counts: tuple[int, ...], context: int) -> dict[int, float]:
        """Add a user turn, decode ``n_tokens`` at each thread count from the same point; keep the last.

        The prompt is made exactly ``context`` tokens long, the window's prompt for the same reply:
        bare decodes fewer tokens per reply than the window and its text tokenises differently, so
        without this its conversation grew more slowly and it was measured at a shorter context
        (about half the window's by reply 9 with the starter), which made bare look faster. Filler
        goes before the new turn, so the cached prefix is kept; once the window drops old turns,
        bare keeps the last ``context`` tokens.
        """
        turn = self._turn(user_text)
        missing = context - len(self.tokens) - len(turn)
        prompt = self.tokens + self._filler(missing) + turn if missing > 0 else (self.tokens + turn)[-max(1, context) :]
        rates, generated = self._decode(prompt, n_tokens, thread_counts)
        self.tokens = prompt + generated
        return rates

    def _decode(
        self, prompt: list[int], n_tokens: int, thread_counts: tuple[int, ...]
    ) -> tuple[dict[int, float], list[int]]:
        """Decode rate (tokens/s after the first token) at each thread count, the fastest last time
        first; the tokens of the last run that decoded all ``n_tokens``. A run that has taken
        ``SLOW_RUN_CAP`` times as long as the fastest full run is stopped (see the module docstring)."""
        llm = self.llm
        rates: dict[int, float] = {}
        generated: list[int] = []
        kept: list[int] = []
        fastest_seconds: float | None = None
        self.decoded = {}
        self.gaps = {}
        self.waits = {}
        ordered = sorted(thread_counts, key=lambda threads: threads != self._fastest)
        for threads in ordered:
            self._llama_cpp.llama_set_n_threads(llm.ctx, threads, self.batch_threads)
            llm.set_seed(1234)
            generated = []
            gaps: list[float] = []
            first = last = 0.0
            waited = run_queue_seconds(os.getpid())
            for token in llm.generate(prompt, temp=0.7, top_k=20, top_p=0.8, logits_processor=self.no_eog):
                llm.detokenize([token])  # a real app turns tokens into text too
                now = time.perf_counter()
                if generated:
                    gaps.append(now - last)
                else:
                    first = now
                last = now
                generated.append(token)
                if len(generated) >= n_tokens:
                    break
                if fastest_seconds is not None and last - first > SLOW_RUN_CAP * fastest_seconds:
                    break
            rates[threads] = (len(generated) - 1) / (last - first) if len(generated) > 1 and last > first else 0.0
            self.decoded[threads] = len(generated)
            self.gaps[threads] = gaps
            self.waits[threads] = (run_queue_seconds(os.getpid()) - waited) * 1000 / max(1, len(generated))
            if len(generated) >= n_tokens:
                kept = generated
                if fastest_seconds is None or last - first < fastest_seconds:
                    fastest_seconds = last - first
        self._fastest = max(rates, key=lambda threads: rates[threads]) if rates else None
        return {threads: rates[threads] for threads in thread_counts}, kept or generated


def predicted_context(replies: list[ReplyFigures], n_ctx: int | None = None, tokens: int = 0) -> int | None:
    """The next reply's context: grown as it grew at the last reply that did not drop old turns;
    or, when that and ``tokens`` more would not fit ``n_ctx``, the context the window cut to the
    last time it dropped old turns (none before the first cut). A wrong guess costs only the
    before-run: ``same_context`` then leaves it out."""
    steps = [later.context - earlier.context for earlier, later in itertools.pairwise(replies)]
    growth = next((step for step in reversed(steps) if step > 0), None)
    if growth is None:
        return None
    grown = replies[-1].context + growth
    if n_ctx is None or grown + tokens <= n_ctx:
        return grown
    cuts = [later.context for later, step in zip(replies[1:], steps, strict=True) if step < 0]
    return cuts[-1] if cuts else None


def same_context(before: int, reply: int) -> bool:
    """Whether a bare run before a reply was at (nearly) the reply's context: within 3 % or 32
    tokens (the window's prompt has a few more template tokens than bare's)."""
    return abs(before - reply) <= max(32, 0.03 * reply)


def _settle(window: Any, wait_until: Any, neighbour_pid: int | None) -> float:
    """Wait (up to ``SETTLE_MAX_S``) until the app, its WebEngine processes and the engine have
    finished the work a reply leaves behind; the seconds waited.

    After a reply the engine copies and writes its saved state (~80 MB for the
    starter at 3,400 tokens, ~760 MB for the Qwen3-0.6B shape at 6,600) and the
    window stores the conversation and renders the finished message. A bare run
    started right away paid for that: two bare runs back to back after a reply
    gave 83 then 95, 75 then 85, 50 then 64 tokens/s (starter, 9 replies; the
    second faster in 6 of 9). That work is the window's, not bare's.
    """
    began = time.monotonic()
    engine_pid = window.bridge.engine.worker_pid
    previous = _cpu_seconds(engine_pid, neighbour_pid)
    while time.monotonic() - began < SETTLE_MAX_S:
        wait_until(lambda: False, SETTLE_STEP_S)
        now = _cpu_seconds(engine_pid, neighbour_pid)
        used = sum(now[k] - previous[k] for k in ("app", "web", "engine"))
        previous = now
        if used < SETTLE_STEP_S * SETTLED_SHARE:
            break
    return time.monotonic() - began


@contextlib.contextmanager
def _indexing_held(window: Any) -> Iterator[None]:
    """Hold the window's code-reference update during a bare run, as the window does during its
    replies: bare stands for the model without the app, so the app's background work must not slow it."""
    window.refs.hold_for_reply(True)
    try:
        yield
    finally:
        window.refs.hold_for_reply(False)


def _cpu_seconds(engine_pid: int | None, neighbour_pid: int | None) -> dict[str, float]:
    """CPU time so far of this process, its WebEngine helper processes, the engine worker and any
    other child (the code-reference indexer, at idle priority)."""
    import psutil

    me = psutil.Process()
    totals = {"app": sum(me.cpu_times()[:2]), "web": 0.0, "engine": 0.0, "other": 0.0}
    for child in me.children(recursive=True):
        try:
            name = " ".join(child.cmdline())
            seconds = sum(child.cpu_times()[:2])
        except psutil.Error:
            continue
        if child.pid == neighbour_pid:
            continue
        if child.pid == engine_pid:
            totals["engine"] += seconds
        elif "QtWebEngineProcess" in name:
            totals["web"] += seconds
        else:
            totals["other"] += seconds
    return totals


def run_queue_seconds(pid: int | None) -> float:
    """Seconds the threads of ``pid`` have waited for a core while ready to run (Linux schedstat),
    summed; 0 where the kernel does not say."""
    if pid is None:
        return 0.0
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as stat:
                total += int(stat.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the thread ended, or no schedstat
    return total / 1e9


def _rss_mb(engine_pid: int | None) -> dict[str, float]:
    """Resident memory of this process (with the window) and of the engine worker, in MB."""
    import psutil

    found = {"app": psutil.Process().memory_info().rss / 2**20, "engine": 0.0}
    if engine_pid is not None:
        with contextlib.suppress(psutil.Error):
            found["engine"] = psutil.Process(engine_pid).memory_info().rss / 2**20
    return found


def _busy_neighbour() -> subprocess.Popen[bytes]:
    """One CPU-bound process, as any other program on the user's machine."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_ui_bench(
    model: str,
    tokens: int = 400,
    replies: int = 20,
    timeout: float = 600.0,
    busy: bool = False,
    bare_threads: tuple[int, ...] = (),
    progress: Callable[[str], None] = lambda _msg: None,
    probe_repeats: tuple[int, int] = (PROBE_REPEATS_ENDS, PROBE_REPEATS),
) -> UiBenchResult:
    """Stream ``replies`` replies of ``tokens`` tokens each; see the module docstring."""
    from app.core.engine.options import physical_cores
    from app.core.paths import app_paths
    from app.core.settings import load_settings
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.scripted_session import wait_until

    cores = physical_cores()
    if not bare_threads:
        bare_threads = (cores, cores - 1) if busy and cores > 1 else (cores,)
    neighbour = _busy_neighbour() if busy else None
    neighbour_pid = neighbour.pid if neighbour else None  # its CPU is not the app's
    paths = app_paths()
    window = MainWindow(paths, load_settings(paths))
    window.resize(1400, 860)
    window.show()
    result = UiBenchResult(model=os.path.basename(model), busy=busy, bare_threads=bare_threads)
    bare: BareConversation | None = None
    last_stats: list[Stats] = []
    window.chat.statsChanged.connect(last_stats.append)
    try:
        if not wait_until(lambda: window.chat.view.is_ready, 30):
            raise QuillpadError("The chat view did not load, so nothing could be measured.")
        window.models.auto_load = True
        window.models.inspect(model)
        if not wait_until(lambda: window.chat.model_ready or window.banner.restart_button.isVisible(), timeout):
            raise QuillpadError("The model did not load in time.")
        if not window.chat.model_ready:
            raise QuillpadError(f"The model could not be loaded: {window.banner.text.text()}")
        context = int(getattr(window, "context_length", 0) or 8192)
        bare = BareConversation(model, context, cores, cores)
        probe_tokens = len(bare.llm.tokenize(PROBE_TEXT.encode(), add_bos=False, special=False))
        window.chat.request_overrides = {"max_tokens": tokens, "ignore_eos": True, "thinking": False}
        for number in range(1, replies + 1):
            text = f"Reply {number}: write as much as you can."
            progress(f"reply {number}/{replies}: bare llama-cpp-python before it, at threads {bare_threads}")
            with _indexing_held(window):
                _settle(window, wait_until, neighbour_pid)
                predicted = predicted_context(result.replies, context, tokens)
                before_context, before = bare.before(text, tokens, bare_threads, predicted)
                before_gaps, before_waits = bare.gaps, bare.waits
            progress(f"reply {number}/{replies}: window")
            figures = _window_reply(window, text, tokens, timeout, last_stats, neighbour_pid)
            figures.number = number
            figures.rss_mb = _rss_mb(window.bridge.engine.worker_pid)  # before bare runs in this process
            progress(f"reply {number}/{replies}: bare llama-cpp-python after it")
            with _indexing_held(window):
                figures.settle_s = _settle(window, wait_until, neighbour_pid)
                after = bare.reply(text, tokens, bare_threads, figures.context)
            kept = before if same_context(before_context, figures.context) else None
            gaps = {n: (before_gaps.get(n, []) if kept else []) + bare.gaps.get(n, []) for n in bare.gaps}
            waits = {n: ([before_waits[n]] if kept and n in before_waits else []) + [bare.waits[n]] for n in bare.waits}
            figures.set_bare(kept, after, gaps, waits)
            # After bare, not right after the reply: then the engine copies and writes the reply's
            # saved state (~760 MB after a 6,600-token Qwen3-0.6B-shape reply), which slows this
            # thread's work through the shared caches and memory.
            figures.probe_us_per_token = statistics.median(
                _probe_gui_cost(window.chat.view, probe_tokens, wait_until)
                for _ in range(probe_repeats[0] if number in (1, replies) else probe_repeats[1])
            )
            figures.load = os.getloadavg()[0]
            result.replies.append(figures)
            # Each row as it comes: a run cut short on a busy machine still leaves its figures.
            progress(result.report().splitlines()[2 + len(result.replies)])
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
        if bare is not None:
            bare.close()
        window.shutdown()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return result


def _probe_gui_cost(view: Any, tokens: int, wait_until: Any) -> float:
    """GUI-thread CPU µs per token to stream ``PROBE_TEXT`` into ``view`` in batches, then remove it.

    Only the view's calls are timed, as ``ChatPanel.render_seconds`` times a
    live reply's; the gaps between batches let the page render, so each batch
    costs what it costs while streaming (back to back, the renderer's budget
    would skip most of them). CPU time of this thread, not wall time: time
    the thread spends waiting for a core is not work it does.
    """
    spent = 0.0
    view.start_reply(PROBE_MESSAGE_ID)
    for start in range(0, len(PROBE_TEXT), PROBE_CHUNK_CHARS):
        began = time.thread_time()
        view.append_answer(PROBE_MESSAGE_ID, PROBE_TEXT[start : start + PROBE_CHUNK_CHARS])
        spent += time.thread_time() - began
        wait_until(lambda: False, PROBE_GAP_SECONDS)
    began = time.thread_time()
    # Its code block is not the model's: the window must not check where it comes from.
    blocked = view.blockSignals(True)
    try:
        view.finish_reply(PROBE_MESSAGE_ID)
    finally:
        view.blockSignals(blocked)
    spent += time.thread_time() - began
    view.remove_message(PROBE_MESSAGE_ID)
    return spent / max(1, tokens) * 1e6


def _window_reply(
    window: Any,
    text: str,
    tokens: int,
    timeout: float,
    last_stats: list[Stats],
    neighbour_pid: int | None,
) -> ReplyFigures:
    from app.ui.shell.scripted_session import wait_for_signal

    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda t=ticks: t.append(time.perf_counter()))
    window.chat.render_seconds = 0.0
    last_stats.clear()
    engine_pid = window.bridge.engine.worker_pid
    cpu_before = _cpu_seconds(engine_pid, neighbour_pid)
    waited = run_queue_seconds(engine_pid)
    heartbeat.start()
    window.chat.ask(text)
    # Waits on the panel's signal, not by polling: the wait must not cost the reply it measures.
    if not wait_for_signal(window.chat.busyChanged, lambda: not window.chat.busy, timeout):
        raise QuillpadError(f"A reply did not finish within {timeout:.0f} s.")
    heartbeat.stop()
    cpu_after = _cpu_seconds(engine_pid, neighbour_pid)
    waited = run_queue_seconds(engine_pid) - waited
    if not last_stats:
        raise QuillpadError("A reply ended without figures; see the log.")
    stats = last_stats[-1]
    delays = _delays(ticks) or [0.0]
    return ReplyFigures(
        number=0,
        tokens=stats.completion_tokens,
        context=stats.prompt_tokens,
        window_tps=stats.decode_tokens_per_second,
        threads=stats.threads,
        thread_tokens=stats.thread_tokens,
        window_gaps=stats.token_gaps,
        wait_ms=waited * 1000 / max(1, stats.completion_tokens),
        render_us_per_token=window.chat.render_seconds / max(1, stats.completion_tokens) * 1e6,
        worst_ms=max(delays),
        p99_ms=statistics.quantiles(delays, n=100)[98] if len(delays) >= 2 else delays[0],
        load=0.0,
        cpu_ms={k: (cpu_after[k] - cpu_before[k]) * 1000 / max(1, stats.completion_tokens) for k in cpu_after},
    )
