"""How many threads llama.cpp decodes with: fixed, or chosen by measured speed.

llama.cpp's threads meet at a barrier after every operation of every token,
so one thread that the OS takes away (to the GUI, the web view's renderer or
any other program) stalls them all. Measured on a 2-core machine with
another CPU-bound process running, bare llama-cpp-python decoded a 135M
model at 33 tokens/s with 2 threads and 82 with 1; with load 11 from other
users, the starter model gave 0.6-1.4 tokens/s with 2 threads and 5-19 with
1 (``quillpad bench ui --busy``). On a quiet machine all cores win. So the
automatic policy measures: it decodes with the last winner (all physical
cores at first), then tries the other count (all cores or one fewer) for a
few tokens, giving up at the first token slower than twice the winner's,
and switches only to a count clearly faster (``WIN_MARGIN``): on a quiet
machine a 6-token trial of one thread fewer sometimes "won" by noise at the
start of a reply (while the window lays out the new message) and the reply
then ran ~200 tokens at three quarters of the speed. The first trial of a
reply waits ``FIRST_TRIAL_AFTER`` tokens for the same reason. A lost trial
doubles the wait before the next one (``REPROBE_EVERY`` tokens, up to
``MAX_REPROBE``), because on a busy machine each trial of the slow count
costs seconds. While all cores win, that wait counts on across replies: a
trial at the start of every reply cost a quiet machine 9 tokens of 400 at
one thread, about 1 % of each reply. A program that starts meanwhile shows
in the winner's own speed (lockstep stalls: 2 threads went 2.5x slower), so
a winner more than ``LOAD_CHANGE`` slower than at the end of the last reply
or trial, over ``LOAD_TOKENS`` tokens past the reply's start, brings the
trial forward (over 8 tokens the quiet host's moments of slowness did too).
While one fewer wins, the wait counts on
across replies too but never beyond ``MAX_REPROBE_FEWER`` tokens: that
program ending does not show in one thread's speed, which had a core to
itself all along, and beside a CPU-bound program 2 threads sometimes
decoded 2-4 tokens/s against 130 for one, so a trial of all cores in every
reply cost a 400-token reply a fifth of its speed. For the same reason
every token after a switch is timed, so a trial that stalls costs one
token. A fresh app has no reference yet and starts at all cores, which that
program can make 6x slower: its first trial comes as soon as ``PROBE_TOKENS``
tokens are timed, and a count that wins it is checked again
``CONFIRM_AFTER`` tokens later, in case the start of the reply (the window
laying out the new message) made it win by noise.
Prompt processing (large batches, few barriers per token) keeps all cores.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PROBE_TOKENS = 8  # tokens timed per count
FIRST_TRIAL_AFTER = 24  # tokens into a reply before its first trial
WIN_MARGIN = 0.9  # a trial's median must be this fraction of the winner's, or less, to take over
REPROBE_EVERY = 192  # tokens between trials at first
MAX_REPROBE = 4096
GIVE_UP_FACTOR = 2.0  # a trial token this much slower than the winner's ends the trial
# The winner's median token time this much slower than at the end of the last reply or trial: a new
# load, so try the other count now. A CPU-bound program beside 2 threads made them 2.5x slower; at
# 1.3x either way (and the reply's first tokens compared too) a quiet noisy 2-core VM still tried
# in 18 of 20 replies.
LOAD_CHANGE = 1.5
# ... over the median of this many of the reply's tokens after its start: a change of load is one that
# lasts. Over 8 tokens, the quiet host's moments of slowness (bare alone varies by +-15 % within
# seconds) set off a trial in 4 of 20 starter replies beyond those the wait brought.
LOAD_TOKENS = 24
# While one fewer wins, all cores are tried again at most this many tokens apart (about two replies).
MAX_REPROBE_FEWER = 1024
CONFIRM_AFTER = 48  # tokens after a win with no reference yet (a fresh app's first trial)


def candidates(cores: int) -> tuple[int, ...]:
    """Thread counts the automatic policy compares: all cores and one fewer."""
    return (cores, cores - 1) if cores > 1 else (1,)


@dataclass
class ThreadPolicy:
    """Chooses the generation thread count token by token; ``apply`` sets it in llama.cpp.

    ``fixed``: always that many (the user's setting). Otherwise the counts of
    ``candidates(cores)`` compete as the module docstring says.
    """

    cores: int
    fixed: int | None
    apply: Callable[[int], None]
    clock: Callable[[], float] = time.perf_counter
    current: int = 0
    winner: int = 0
    _winner_times: list[float] = field(default_factory=list)
    _load_times: list[float] = field(default_factory=list)  # the winner's last LOAD_TOKENS past the reply's start
    _trial_times: list[float] = field(default_factory=list)
    _trial: int | None = None  # the count on trial, if any
    _until_trial: int = 0
    _interval: int = REPROBE_EVERY
    _last: float | None = None
    _reference: float | None = None  # the winner's median token time at the end of the last reply or trial
    tokens_at: dict[int, int] = field(default_factory=dict)  # this reply's tokens per thread count

    def __post_init__(self) -> None:
        self.current = self.winner = self.fixed or self.cores
        self.apply(self.current)

    def start_reply(self) -> None:
        """A reply begins: time the winner again; try the other count when the wait from the last reply
        runs out, or as soon as the winner is slower than it was."""
        if len(self._load_times) >= LOAD_TOKENS:
            self._reference = statistics.median(self._load_times)
        elif len(self._winner_times) >= PROBE_TOKENS:
            self._reference = statistics.median(self._winner_times)
        self._last = None  # the first token of a reply waits for the prompt
        self._winner_times = []
        self._load_times = []
        self._end_trial()
        self.tokens_at = {}

    def _switch(self, threads: int) -> None:
        if threads != self.current:
            self.current = threads
            self.apply(threads)

    def _end_trial(self) -> None:
        self._trial = None
        self._trial_times = []
        self._switch(self.winner)

    def token(self) -> None:
        """Call after each generated token."""
        now = self.clock()
        self.tokens_at[self.current] = self.tokens_at.get(self.current, 0) + 1
        last, self._last = self._last, now
        others = [n for n in candidates(self.cores) if n != self.winner]
        if self.fixed is not None or last is None or not others:
            return
        took = now - last
        if self._trial is None:
            self._winner_times = [*self._winner_times[-(PROBE_TOKENS - 1) :], took]
            self._until_trial -= 1
            # The start of a reply is not timed against anything (the window is laying out the new message),
            # unless there is nothing yet to lose by it: a fresh app's first reply.
            wait = FIRST_TRIAL_AFTER if self._reference is not None else 0
            if len(self._winner_times) < PROBE_TOKENS or sum(self.tokens_at.values()) < wait:
                return
            self._load_times = [*self._load_times[-(LOAD_TOKENS - 1) :], took]
            reference, lasting = self._reference, len(self._load_times) >= LOAD_TOKENS
            if reference is not None and lasting and statistics.median(self._load_times) > LOAD_CHANGE * reference:
                self._interval = REPROBE_EVERY  # a new load: measure again from the start
                self._until_trial = 0
            if self._until_trial <= 0:
                self._trial = others[0]
                self._trial_times = []
                self._switch(self._trial)
            return
        baseline = statistics.median(self._winner_times)
        self._trial_times.append(took)
        if took > GIVE_UP_FACTOR * baseline:
            self._lost(baseline)
        elif len(self._trial_times) >= PROBE_TOKENS:
            trial = statistics.median(self._trial_times)
            if trial <= WIN_MARGIN * baseline:
                first = self._reference is None
                self.winner = self._trial
                self._winner_times = list(self._trial_times)
                self._load_times = []
                self._reference = trial
                self._interval = REPROBE_EVERY
                self._trial = None
                self._until_trial = CONFIRM_AFTER if first else self._interval
            else:
                self._lost(baseline)

    def _lost(self, baseline: float) -> None:
        self._reference = baseline
        self._load_times = []  # timed against the new reference from here
        longest = MAX_REPROBE if self.winner == max(candidates(self.cores)) else MAX_REPROBE_FEWER
        self._interval = min(longest, self._interval * 2)
        self._until_trial = self._interval
        self._end_trial()
