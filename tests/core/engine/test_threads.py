"""The automatic thread policy keeps the count that measured faster, and measures again."""

from __future__ import annotations

from app.core.engine.threads import (
    FIRST_TRIAL_AFTER,
    PROBE_TOKENS,
    REPROBE_EVERY,
    WIN_MARGIN,
    ThreadPolicy,
    candidates,
)


class Clock:
    """Time that passes only when a token is decoded."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def policy_with_clock(cores: int = 2, fixed: int | None = None, applied: list[int] | None = None) -> ThreadPolicy:
    sink = applied if applied is not None else []
    return ThreadPolicy(cores=cores, fixed=fixed, apply=sink.append, clock=Clock())


def run(policy: ThreadPolicy, seconds_per_token: dict[int, float], n: int) -> list[int]:
    clock = policy.clock
    assert isinstance(clock, Clock)
    used = []
    for _ in range(n):
        used.append(policy.current)
        clock.now += seconds_per_token[policy.current]
        policy.token()
    return used


def test_keeps_the_faster_count_and_tries_again_later() -> None:
    applied: list[int] = []
    policy = policy_with_clock(applied=applied)
    policy.start_reply()
    busy = {2: 0.008, 1: 0.002}  # one fewer thread wins on a busy machine
    run(policy, busy, FIRST_TRIAL_AFTER + 3 * PROBE_TOKENS)
    assert policy.winner == 1 and policy.current == 1
    quiet = {2: 0.002, 1: 0.008}  # the machine became quiet: all cores win again
    run(policy, quiet, REPROBE_EVERY + 3 * PROBE_TOKENS)
    assert policy.winner == 2
    assert set(applied) == {1, 2}


def test_a_much_slower_trial_is_given_up_at_once_and_backs_off() -> None:
    policy = policy_with_clock()
    policy.start_reply()
    policy.winner = 1
    policy._switch(1)
    used = run(policy, {1: 0.002, 2: 0.02}, 4 * REPROBE_EVERY)
    # Each trial of the slow count costs two tokens (the switch, one timed), then waits twice as long.
    assert used.count(2) <= 2 * 3
    assert policy.winner == 1


def test_fixed_count_never_changes() -> None:
    applied: list[int] = []
    policy = policy_with_clock(cores=4, fixed=3, applied=applied)
    policy.start_reply()
    run(policy, {3: 0.0}, 50)
    assert applied == [3] and policy.current == 3


def test_a_trial_only_slightly_faster_does_not_take_over() -> None:
    """Noise makes one fewer thread look a few per cent faster now and then on a quiet machine."""
    policy = policy_with_clock()
    policy.start_reply()
    almost = {2: 0.010, 1: 0.0095}  # 5 % faster: within the margin
    assert WIN_MARGIN < 0.95
    used = run(policy, almost, 2 * REPROBE_EVERY)
    assert policy.winner == 2
    assert used[:FIRST_TRIAL_AFTER] == [2] * FIRST_TRIAL_AFTER  # the start of a reply is never a trial
    assert used.count(1) <= 2 * PROBE_TOKENS


def test_tokens_are_counted_per_thread_count_and_reply() -> None:
    """What Stats.thread_tokens reports: which count decoded how many of this reply's tokens."""
    policy = policy_with_clock()
    policy.start_reply()
    run(policy, {2: 0.002, 1: 0.008}, FIRST_TRIAL_AFTER + 3 * PROBE_TOKENS)
    at_one = policy.tokens_at[1]
    assert 0 < at_one <= PROBE_TOKENS + 1  # one trial of one thread, given up
    assert policy.tokens_at == {2: FIRST_TRIAL_AFTER + 3 * PROBE_TOKENS - at_one, 1: at_one}
    policy.start_reply()
    assert policy.tokens_at == {}
    run(policy, {2: 0.002, 1: 0.008}, 5)
    assert policy.tokens_at == {2: 5}


def test_candidates() -> None:
    assert candidates(1) == (1,)
    assert candidates(2) == (2, 1)
