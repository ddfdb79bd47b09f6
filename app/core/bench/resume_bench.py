"""``quillpad bench resume``: time to first token after reopening, or switching back to, a long chat.

A conversation of about ``history_tokens`` tokens (real text: source files of
the Python standard library as the user's turns) is answered once in a first
engine with saved states on; that engine is closed, as the app would be.
Then the same next question is asked

- in a new engine with saved states on (the app reopened: the state is read
  from disk and only the new turn evaluated), and
- in a new engine with saved states off (today's cost: the whole prompt),

- in an engine that was never closed (saved states off; its KV cache simply
  holds the conversation as the first session left it),

and, at the same fixed seed, the saved-state reply must be the never-closed
engine's. Then, in each of those engines, a short other conversation is
answered and the user switches back to the long one: restored from the RAM
level, or recomputed; the never-closed engine answers without switching.

Why both references: a saved state holds the KV cache as the first session
computed it, the reply's tokens one at a time as they were generated; a
recompute evaluates those tokens in one batch. llama.cpp's batched and
one-at-a-time kernels round differently (the starter's last-token logits
differ by up to 0.5 between the two for the same 22 tokens), so a sampled
reply can part from the recomputed one even though both states are right.
The saved state must give exactly what the app would have given had it never
closed; equality with the recompute is shown, and holds where the rounding
does not change the sampled tokens (as with the Qwen3 shapes).
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.bench.engine_bench import finished_reply
from app.core.engine import ChatMessage, ChatRequest, Engine, LoadOptions

SOURCES = ("textwrap.py", "bisect.py", "heapq.py", "colorsys.py", "fnmatch.py", "string.py", "shlex.py")
CLOSE_GRACE = 300.0  # a 3,000-token state of a 1.7B model is ~350 MB to write on a busy disk
CHUNK = 500  # characters of source per user turn
REPLY = "I read it. The code is clear; ask me about any part of it."


@dataclass(frozen=True)
class Measured:
    """One timed reply."""

    label: str
    ttft: float
    evaluated: int
    reused: int
    answer: str


@dataclass
class ResumeBenchResult:
    """Figures of the bench, paired as (saved state, recomputed)."""

    model: str
    history_tokens: int
    load: tuple[float, float, float]
    # (saved state, recomputed, never closed or never switched)
    cases: list[tuple[Measured, Measured, Measured]] = field(default_factory=list)

    def report(self) -> str:
        lines = [
            f"model: {self.model}   conversation: {self.history_tokens:,} prompt tokens   "
            f"load average at start: {self.load[0]:.1f} {self.load[1]:.1f} {self.load[2]:.1f} (2 cores)",
            "",
            f"{'case':<34}{'TTFT s':>9}{'evaluated':>11}{'reused':>9}{'speed-up':>10}"
            "  same reply as: never closed | recomputed",
        ]
        for saved, recomputed, kept in self.cases:
            speedup = recomputed.ttft / saved.ttft if saved.ttft else 0.0
            as_kept = "yes" if saved.answer == kept.answer else "NO"
            as_recomputed = "yes" if saved.answer == recomputed.answer else "no"
            lines.append(
                f"{saved.label:<34}{saved.ttft:>9.2f}{saved.evaluated:>11,}{saved.reused:>9,}{speedup:>9.1f}x"
                f"  {as_kept:>14} | {as_recomputed}"
            )
            for other in (recomputed, kept):
                lines.append(f"{other.label:<34}{other.ttft:>9.2f}{other.evaluated:>11,}{other.reused:>9,}")
        lines += [
            "target: saved state at least 10x faster to the first token than recomputing, and at a fixed seed the",
            "reply the app would have given had it never closed (or never switched); a recomputed prompt is",
            "evaluated in batches, the saved one partly a token at a time, and llama.cpp rounds the two differently",
        ]
        return "\n".join(lines)


def history(target_tokens: int, tokens_of: Callable[[tuple[ChatMessage, ...]], int]) -> tuple[ChatMessage, ...]:
    """User turns of real source text with short answers, until about ``target_tokens``."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    messages: tuple[ChatMessage, ...] = ()
    for name in SOURCES * 20:
        text = (stdlib / name).read_text(encoding="utf-8")
        for start in range(0, len(text), CHUNK):
            size = CHUNK
            while True:  # the last turn shrinks to land close to the target
                turn = (ChatMessage("user", f"Here is part of {name}:\n{text[start : start + size]}"),)
                if tokens_of(messages + turn) <= target_tokens:
                    break
                size //= 2
                if size < 32:
                    return messages
            messages += (*turn, ChatMessage("assistant", REPLY))
    return messages


def _ask(engine: Engine, label: str, messages: tuple[ChatMessage, ...], tokens: int, seed: int) -> Measured:
    answer, stats = finished_reply(engine.chat(ChatRequest(messages, thinking=False, max_tokens=tokens, seed=seed)))
    return Measured(label, stats.time_to_first_token, stats.prompt_tokens_evaluated, stats.prompt_tokens_reused, answer)


def run_resume_bench(
    model: str,
    *,
    history_tokens: int = 3000,
    tokens: int = 32,
    seed: int = 1234,
    threads: int | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> ResumeBenchResult:
    """Measure reopening and switching back with and without saved states; see the module docstring.

    Saved states go to a temporary folder (``QUILLPAD_HOME`` is pointed there
    for this process and its engines), never to the user's.
    """
    import tempfile

    with_states = LoadOptions(threads=threads, context_length=history_tokens + 2048, state_disk_mb=8192)
    without = LoadOptions(threads=threads, context_length=history_tokens + 2048, state_ram_mb=0, state_disk_mb=0)
    previous_home = os.environ.get("QUILLPAD_HOME")
    with tempfile.TemporaryDirectory(prefix="quillpad-bench-resume-") as home:
        os.environ["QUILLPAD_HOME"] = home
        try:
            first = Engine()
            try:
                first.load(model, with_states)
                conversation = history(
                    history_tokens, lambda m: first.render(ChatRequest(m, thinking=False, max_tokens=tokens)).tokens
                )
                q1 = (*conversation, ChatMessage("user", "What does the first file do?"))
                n_history = first.render(ChatRequest(q1, thinking=False, max_tokens=tokens)).tokens
                result = ResumeBenchResult(Path(model).name, n_history, os.getloadavg())
                progress(f"first session: evaluating the {n_history:,}-token conversation")
                a1 = _ask(first, "first session", q1, tokens, seed)
            finally:
                first.close(grace=CLOSE_GRACE)  # as the app closes: the state write finishes first
            # The app was closed; the user comes back and asks the next question.
            q2 = (*q1, ChatMessage("assistant", a1.answer), ChatMessage("user", "And the second one?"))
            other = (ChatMessage("user", "Something else: what is a heap?"),)
            engines: list[Engine] = []
            try:
                reopened = Engine()
                engines.append(reopened)
                reopened.load(model, with_states)
                progress("reopened with the saved state")
                saved = _ask(reopened, "reopened, saved state", q2, tokens, seed)
                recompute = Engine()
                engines.append(recompute)
                recompute.load(model, without)
                progress("reopened without saved states (the whole prompt again)")
                plain = _ask(recompute, "reopened, recomputed", q2, tokens, seed)
                kept_open = Engine()
                engines.append(kept_open)
                kept_open.load(model, without)
                progress("the same conversation in an engine that is never closed")
                kept_first = _ask(kept_open, "never closed: first session", q1, tokens, seed)
                if kept_first.answer != a1.answer:
                    progress("note: the never-closed engine's first reply differs from the first session's")
                kept = _ask(kept_open, "never closed", q2, tokens, seed)
                result.cases.append((saved, plain, kept))

                q3 = (*q2, ChatMessage("assistant", saved.answer), ChatMessage("user", "Which one is faster?"))
                progress("switching to another conversation and back (saved state)")
                _ask(reopened, "other chat", other, tokens, seed)
                back_saved = _ask(reopened, "switched back, saved state", q3, tokens, seed)
                progress("switching to another conversation and back (recomputed)")
                _ask(recompute, "other chat", other, tokens, seed)
                back_plain = _ask(recompute, "switched back, recomputed", q3, tokens, seed)
                never_switched = _ask(kept_open, "never switched", q3, tokens, seed)
                result.cases.append((back_saved, back_plain, never_switched))
            finally:
                for engine in engines:
                    engine.close(grace=CLOSE_GRACE)
        finally:
            if previous_home is None:
                os.environ.pop("QUILLPAD_HOME", None)
            else:
                os.environ["QUILLPAD_HOME"] = previous_home
    return result
