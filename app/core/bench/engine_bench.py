"""``quillpad bench engine``: the engine against bare llama-cpp-python, side by side.

Both paths decode the same rendered prompt with the same threads, sampling
and seed, for the same fixed number of tokens (end-of-turn tokens are masked
in both), alternating so that machine noise hits both alike. Then a growing
five-turn conversation shows how much of each prompt is evaluated again.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.engine import (
    AnswerText,
    ChatMessage,
    ChatRequest,
    Done,
    EngineError,
    EngineEvent,
    LoadOptions,
    Stats,
    ThinkingText,
)
from app.core.engine.llama_open import open_llama
from app.core.engine.options import SamplingOverrides
from app.core.engine.owner import EngineOwner
from app.core.engine.vocab import Vocab
from app.core.engine.worker import banned_tokens_processor, eog_token_ids
from app.core.errors import QuillpadError

BENCH_PROMPT = "Write a Python function that checks whether a number is prime, then explain it."
FOLLOW_UPS = (
    "Now make it faster for large numbers.",
    "Add type hints and a docstring.",
    "Write three pytest tests for it.",
    "Summarise the changes in one sentence.",
)


@dataclass(frozen=True)
class RunFigures:
    """One timed reply."""

    decode_tps: float
    ttft: float
    wall: float


@dataclass(frozen=True)
class TurnFigures:
    """Prompt accounting for one turn of the growing conversation."""

    turn: int
    prompt_tokens: int
    evaluated: int
    reused: int
    growth: int  # prompt tokens added since the previous turn
    # Tokens the template put before the previous answer that history drops
    # again (Qwen3's empty think block when thinking is off).
    prefill: int = 0

    @property
    def only_new_part_evaluated(self) -> bool:
        """Nothing before the previous answer was evaluated again."""
        return self.turn == 1 or self.evaluated <= self.growth + self.prefill


@dataclass(frozen=True)
class StopFigures:
    """How long a stop took to end the reply, seen from the parent."""

    phase: str  # "prompt processing" or "generation"
    latency: float  # seconds from stop() to the Done event


@dataclass
class EngineBenchResult:
    """Everything the bench measured."""

    model: str
    threads: int
    tokens: int
    bare: list[RunFigures] = field(default_factory=list)
    engine: list[RunFigures] = field(default_factory=list)
    turns: list[TurnFigures] = field(default_factory=list)
    stops: list[StopFigures] = field(default_factory=list)

    @staticmethod
    def _median(runs: list[RunFigures], attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs) if runs else 0.0

    @staticmethod
    def _best(runs: list[RunFigures]) -> float:
        return max((r.decode_tps for r in runs), default=0.0)

    @property
    def ratio(self) -> float:
        """Best-of-rounds decode speed, engine over bare.

        The best round is the one least disturbed by whatever else the
        machine was doing (as timeit takes the minimum), so it is the fairest
        comparison on a shared machine; medians are printed too.
        """
        bare = self._best(self.bare)
        return self._best(self.engine) / bare if bare else 0.0

    def report(self) -> str:
        """A plain-text table of the figures."""
        m = self._median
        lines = [
            f"model: {self.model}   threads: {self.threads}   tokens per reply: {self.tokens}   "
            f"rounds: {len(self.bare)}",
            "",
            f"{'path':<22}{'best tok/s':>12}{'median tok/s':>14}{'TTFT ms':>10}{'wall s':>9}",
            f"{'bare llama-cpp-python':<22}{self._best(self.bare):>12.1f}{m(self.bare, 'decode_tps'):>14.1f}"
            f"{m(self.bare, 'ttft') * 1000:>10.1f}{m(self.bare, 'wall'):>9.3f}",
            f"{'quillpad engine':<22}{self._best(self.engine):>12.1f}{m(self.engine, 'decode_tps'):>14.1f}"
            f"{m(self.engine, 'ttft') * 1000:>10.1f}{m(self.engine, 'wall'):>9.3f}",
            f"ratio engine/bare (decode tok/s, best of rounds): {self.ratio:.3f}   target >= 0.97",
            "(TTFT and wall are medians; the engine's TTFT includes the trip between processes.)",
            "",
            "growing conversation (engine):",
            f"{'turn':>4}{'prompt':>8}{'evaluated':>11}{'reused':>8}{'new since last':>16}{'prefill':>9}"
            "  only previous answer + new turn evaluated",
        ]
        for t in self.turns:
            lines.append(
                f"{t.turn:>4}{t.prompt_tokens:>8}{t.evaluated:>11}{t.reused:>8}{t.growth:>16}{t.prefill:>9}  "
                f"{'yes' if t.only_new_part_evaluated else 'NO'}"
            )
        if self.stops:
            lines += ["", "stop latency (stop() to the end of the reply, target < 250 ms):"]
            lines += [f"  during {s.phase}: {s.latency * 1000:.1f} ms" for s in self.stops]
        return "\n".join(lines)


def _bare_run(llm: Any, prompt_tokens: list[int], n_tokens: int, sampling: Any, seed: int) -> RunFigures:
    """Decode with llama-cpp-python alone, the way an app without a worker would."""
    # The same end-of-turn ban as the engine's, so both decode the same length.
    no_eog = banned_tokens_processor(eog_token_ids(llm))
    llm.reset()
    llm.set_seed(seed)
    started = time.perf_counter()
    first = last = started
    count = 0
    for token in llm.generate(
        prompt_tokens,
        top_k=sampling.top_k,
        top_p=sampling.top_p,
        min_p=sampling.min_p,
        temp=sampling.temperature,
        repeat_penalty=sampling.repeat_penalty,
        presence_penalty=sampling.presence_penalty,
        logits_processor=no_eog,
    ):
        llm.detokenize([token])  # a real app turns tokens into text too
        now = time.perf_counter()
        if count == 0:
            first = now
        last = now
        count += 1
        if count >= n_tokens:
            break
    decode = (count - 1) / (last - first) if count > 1 and last > first else 0.0
    return RunFigures(decode_tps=decode, ttft=first - started, wall=last - started)


def _engine_run(engine: EngineOwner, request: ChatRequest) -> RunFigures:
    started = time.perf_counter()
    first: float | None = None
    stats: Stats | None = None
    for event in engine.chat(request):
        if first is None and isinstance(event, AnswerText | ThinkingText):
            first = time.perf_counter()
        if isinstance(event, Stats):
            stats = event
        if isinstance(event, EngineError):
            raise QuillpadError(event.message)
    wall = time.perf_counter() - started
    assert stats is not None
    return RunFigures(
        decode_tps=stats.decode_tokens_per_second,
        ttft=(first or started) - started,
        wall=wall,
    )


class _EndedBeforeStop(QuillpadError):
    """The reply finished before the timed stop was sent (a fast model on a quiet machine)."""


def _stop_latency(engine: EngineOwner, request: ChatRequest, after: float | None) -> StopFigures:
    """Stop a reply ``after`` seconds (or at its first text when None)."""
    stopped_at: list[float] = []
    reply = engine.chat(request, "bench")

    def stop_now() -> None:
        stopped_at.append(time.perf_counter())
        engine.stop(reply.id)

    timer = threading.Timer(after, stop_now) if after is not None else None
    if timer:
        timer.start()
    stats: Stats | None = None
    try:
        for event in reply:
            if timer is None and not stopped_at and isinstance(event, AnswerText | ThinkingText):
                stop_now()
            if isinstance(event, Stats):
                stats = event
            if isinstance(event, Done | EngineError):
                ended = time.perf_counter()
    finally:
        if timer:
            timer.cancel()
    if not stopped_at:
        raise _EndedBeforeStop("The reply ended before the stop was sent; use a longer prompt.")
    in_prompt = stats is not None and stats.prompt_tokens_evaluated + stats.prompt_tokens_reused < stats.prompt_tokens
    return StopFigures("prompt processing" if in_prompt else "generation", ended - stopped_at[0])


def finished_reply(events: Iterable[EngineEvent]) -> tuple[str, Stats]:
    """A benchmark reply's answer and figures; an ``EngineError`` becomes a ``QuillpadError``."""
    answer = ""
    stats: Stats | None = None
    for event in events:
        if isinstance(event, Stats):
            stats = event
        elif isinstance(event, Done):
            answer = event.answer
        elif isinstance(event, EngineError):
            raise QuillpadError(event.message)
    if stats is None:
        raise QuillpadError("The reply ended without its figures; see the log file.")
    return answer, stats


def run_engine_bench(
    model: str | Path,
    *,
    tokens: int = 256,
    rounds: int = 3,
    threads: int | None = None,
    seed: int = 1234,
    progress: Callable[[str], None] = lambda _msg: None,
) -> EngineBenchResult:
    """Measure both paths on ``model``; see the module docstring."""
    # Through the owner, as the app asks: its queue and request ids are part of what is measured.
    with EngineOwner() as engine:
        loaded = engine.load(model, LoadOptions(threads=threads))
        threads = loaded.threads

        def request_for(round_no: int) -> ChatRequest:
            # A different first line per round: nothing is reused from the
            # previous round, so both paths evaluate the whole prompt.
            return ChatRequest(
                (ChatMessage("user", f"Round {round_no}. {BENCH_PROMPT}"),),
                thinking=False,
                max_tokens=tokens,
                seed=seed,
                ignore_eos=True,
                sampling=SamplingOverrides(),
            )

        sampling = loaded.profile.sampling(False)
        llm = open_llama(
            model,
            n_ctx=loaded.context_length,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=loaded.options.batch_size,
            verbose=False,
        )
        try:
            result = EngineBenchResult(model=Path(model).name, threads=threads, tokens=tokens)
            for round_no in range(1, rounds + 1):
                request = request_for(round_no)
                prompt_bytes = engine.render(request).text.encode()
                prompt_tokens = llm.tokenize(prompt_bytes, add_bos=Vocab(llm).add_bos, special=True)
                progress(f"round {round_no}/{rounds}: bare llama-cpp-python")
                result.bare.append(_bare_run(llm, prompt_tokens, tokens, sampling, seed))
                progress(f"round {round_no}/{rounds}: quillpad engine")
                result.engine.append(_engine_run(engine, request))
        finally:
            llm.close()

        progress("growing conversation")
        engine.restart()  # start from an empty cache
        first = (ChatMessage("user", BENCH_PROMPT),)
        prefill = (
            engine.render(ChatRequest(first, thinking=False)).tokens
            - engine.render(ChatRequest(first, thinking=True)).tokens
        )
        messages: tuple[ChatMessage, ...] = ()
        previous_prompt = 0
        for turn, text in enumerate((BENCH_PROMPT, *FOLLOW_UPS), start=1):
            messages += (ChatMessage("user", text),)
            answer, stats = finished_reply(
                engine.chat(ChatRequest(messages, thinking=False, max_tokens=min(tokens, 128), seed=seed))
            )
            result.turns.append(
                TurnFigures(
                    turn=turn,
                    prompt_tokens=stats.prompt_tokens,
                    evaluated=stats.prompt_tokens_evaluated,
                    reused=stats.prompt_tokens_reused,
                    growth=stats.prompt_tokens - previous_prompt,
                    prefill=max(0, prefill) if turn > 1 else 0,
                )
            )
            previous_prompt = stats.prompt_tokens
            messages += (ChatMessage("assistant", answer),)

        progress("stop latency")

        # A prompt filling most of the context, stopped while it is evaluated
        # (on a fast model it may already be generating: the phase says so).
        def filler(n_words: int) -> ChatRequest:
            text = " ".join(["context"] * n_words)
            return ChatRequest((ChatMessage("user", text),), thinking=False, max_tokens=16, seed=seed)

        per_word = max(1.0, (engine.render(filler(200)).tokens - engine.render(filler(100)).tokens) / 100)
        long_request = filler(max(16, int(loaded.context_length * 0.7 / per_word)))
        # A fast model can finish the whole reply within the delay: stop sooner, down to at once.
        for after in (0.2, 0.05, 0.01, 0.0):
            try:
                result.stops.append(_stop_latency(engine, long_request, after=after))
                break
            except _EndedBeforeStop:
                if after == 0.0:
                    raise
        endless = ChatRequest(
            (ChatMessage("user", "Count to one thousand."),), thinking=False, seed=seed, ignore_eos=True
        )
        result.stops.append(_stop_latency(engine, endless, after=None))
    return result
