"""How many threads llama.cpp decodes with: fixed, or chosen by measured speed.

llama.cpp's threads meet at a barrier after every operation of every token,
so one thread that the OS takes away (to the GUI, the web view's renderer or
any other program) stalls them all. Measured on a 2-core machine with
another CPU-bound process running, bare llama-cpp-python decoded a 135M
model at 33 tokens/s with 2 threads and 82 with 1; with load 12 from other
users, a Qwen3-0.6B-shaped model gave 0.4 tokens/s with 2 threads and 5.0
with 1. On a quiet machine all cores win. So the automatic policy measures:
it decodes a few tokens at each candidate count (all physical cores, and
one fewer), keeps the faster, and measures again every ``REPROBE_EVERY``
tokens because the machine's load changes while a reply streams. Prompt
processing (large batches, few barriers per token) keeps all cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

PROBE_TOKENS = 6  # tokens timed per candidate
REPROBE_EVERY = 192  # tokens between measurements


def candidates(cores: int) -> tuple[int, ...]:
    """Thread counts the automatic policy compares: all cores and one fewer."""
    return (cores, cores - 1) if cores > 1 else (1,)


@dataclass
class ThreadPolicy:
    """Chooses the generation thread count token by token; ``apply`` sets it in llama.cpp.

    ``fixed``: always that many (the user's setting). Otherwise the counts of
    ``candidates(cores)`` are timed in turn and the fastest kept.
    """

    cores: int
    fixed: int | None
    apply: Callable[[int], None]
    current: int = 0
    _rates: dict[int, list[float]] = field(default_factory=dict)
    _since_probe: int = 0
    _last: float | None = None
    _probing: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.current = self.fixed or self.cores
        self.apply(self.current)

    def start_reply(self) -> None:
        """A reply begins: measure again (the load may have changed since the last one)."""
        self._last = None
        if self.fixed is None and len(candidates(self.cores)) > 1:
            self._begin_probe()

    def _begin_probe(self) -> None:
        self._rates = {n: [] for n in candidates(self.cores)}
        self._probing = list(candidates(self.cores))
        self._since_probe = 0
        self._switch(self._probing[0])

    def _switch(self, threads: int) -> None:
        if threads != self.current:
            self.current = threads
            self.apply(threads)

    def token(self) -> None:
        """Call after each generated token."""
        now = time.perf_counter()
        last, self._last = self._last, now
        if self.fixed is not None or last is None:
            return
        if self._probing:
            samples = self._rates[self.current]
            samples.append(now - last)
            if len(samples) >= PROBE_TOKENS:
                self._probing.pop(0)
                if self._probing:
                    self._switch(self._probing[0])
                    self._last = None  # the first token after a switch pays for it
                else:
                    self._switch(min(self._rates, key=lambda n: sorted(self._rates[n])[len(self._rates[n]) // 2]))
            return
        self._since_probe += 1
        if self._since_probe >= REPROBE_EVERY and len(candidates(self.cores)) > 1:
            self._begin_probe()
            self._last = None
