"""The automatic thread policy keeps the count that measured faster, and measures again."""

from __future__ import annotations

import time

from app.core.engine.threads import PROBE_TOKENS, REPROBE_EVERY, ThreadPolicy, candidates


def run(policy: ThreadPolicy, seconds_per_token: dict[int, float], n: int) -> None:
    for _ in range(n):
        time.sleep(seconds_per_token[policy.current])
        policy.token()


def test_keeps_the_faster_count_and_reprobes() -> None:
    applied: list[int] = []
    policy = ThreadPolicy(cores=2, fixed=None, apply=applied.append)
    policy.start_reply()
    busy = {2: 0.004, 1: 0.001}  # one fewer thread wins on a busy machine
    run(policy, busy, 2 * (PROBE_TOKENS + 1) + 2)
    assert policy.current == 1
    quiet = {2: 0.001, 1: 0.004}  # the machine became quiet: all cores win again
    run(policy, quiet, REPROBE_EVERY + 2 * (PROBE_TOKENS + 1) + 2)
    assert policy.current == 2
    assert set(applied) == {1, 2}


def test_fixed_count_never_changes() -> None:
    applied: list[int] = []
    policy = ThreadPolicy(cores=4, fixed=3, apply=applied.append)
    policy.start_reply()
    run(policy, {3: 0.0}, 50)
    assert applied == [3] and policy.current == 3


def test_candidates() -> None:
    assert candidates(1) == (1,)
    assert candidates(2) == (2, 1)
