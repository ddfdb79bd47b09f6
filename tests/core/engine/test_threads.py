"""The automatic thread policy keeps the count that measured faster, and measures again."""

from __future__ import annotations

import time

from app.core.engine.threads import PROBE_TOKENS, REPROBE_EVERY, ThreadPolicy, candidates


def run(policy: ThreadPolicy, seconds_per_token: dict[int, float], n: int) -> list[int]:
    used = []
    for _ in range(n):
        used.append(policy.current)
        time.sleep(seconds_per_token[policy.current])
        policy.token()
    return used


def test_keeps_the_faster_count_and_tries_again_later() -> None:
    applied: list[int] = []
    policy = ThreadPolicy(cores=2, fixed=None, apply=applied.append)
    policy.start_reply()
    busy = {2: 0.008, 1: 0.002}  # one fewer thread wins on a busy machine
    run(policy, busy, 3 * PROBE_TOKENS)
    assert policy.winner == 1 and policy.current == 1
    quiet = {2: 0.002, 1: 0.008}  # the machine became quiet: all cores win again
    run(policy, quiet, REPROBE_EVERY + 3 * PROBE_TOKENS)
    assert policy.winner == 2
    assert set(applied) == {1, 2}


def test_a_much_slower_trial_is_given_up_at_once_and_backs_off() -> None:
    policy = ThreadPolicy(cores=2, fixed=None, apply=lambda _n: None)
    policy.start_reply()
    policy.winner = 1
    policy._switch(1)
    used = run(policy, {1: 0.002, 2: 0.02}, 4 * REPROBE_EVERY)
    # Each trial of the slow count costs two tokens (the switch, one timed), then waits twice as long.
    assert used.count(2) <= 2 * 3
    assert policy.winner == 1


def test_fixed_count_never_changes() -> None:
    applied: list[int] = []
    policy = ThreadPolicy(cores=4, fixed=3, apply=applied.append)
    policy.start_reply()
    run(policy, {3: 0.0}, 50)
    assert applied == [3] and policy.current == 3


def test_candidates() -> None:
    assert candidates(1) == (1,)
    assert candidates(2) == (2, 1)
