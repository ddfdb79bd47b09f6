"""The automatic thread policy keeps the count that measured faster, and measures again."""

from __future__ import annotations

from app.core.engine.threads import (
    CONFIRM_AFTER,
    FIRST_TRIAL_AFTER,
    LOAD_CHANGE,
    LOAD_TOKENS,
    MAX_REPROBE_FEWER,
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
    # Each trial of the slow count costs one token (timed, though the switch came just before it), then
    # the next waits twice as long: 192, then 384 tokens later.
    assert used.count(2) == 2
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
    almost = {2: 0.010, 1: 0.0095}  # 5 % faster: within the margin
    assert WIN_MARGIN < 0.95
    decoded = replies(policy, almost, 2)
    assert policy.winner == 2
    assert all(counts[1] <= PROBE_TOKENS for counts in decoded)
    policy.start_reply()
    policy._until_trial = 0  # make the third reply hold a trial too
    used = run(policy, almost, 2 * FIRST_TRIAL_AFTER)
    assert used[:FIRST_TRIAL_AFTER] == [2] * FIRST_TRIAL_AFTER  # the start of a later reply is never a trial
    assert 1 in used


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


def replies(
    policy: ThreadPolicy, seconds_per_token: dict[int, float], count: int, tokens: int = 400
) -> list[dict[int, int]]:
    """``count`` replies of ``tokens``: the tokens each reply decoded per thread count."""
    decoded = []
    for _ in range(count):
        policy.start_reply()
        run(policy, seconds_per_token, tokens)
        decoded.append(dict(policy.tokens_at))
    return decoded


def test_a_quiet_machine_is_not_retried_at_every_reply() -> None:
    """Each trial of one thread fewer costs a quiet machine's reply about 1 % of its speed."""
    policy = policy_with_clock()
    quiet = {2: 0.010, 1: 0.016}  # one thread 1.6x slower: a full trial, lost
    decoded = replies(policy, quiet, 20)
    tried = [n for n, counts in enumerate(decoded, 1) if counts.get(1)]
    assert tried[:2] == [1, 2]  # the wait doubles from 192 tokens ...
    assert len(tried) <= 5  # ... to MAX_REPROBE: 5 of 20 replies hold a trial, not all 20
    assert all(counts.get(1, 0) <= PROBE_TOKENS + 1 for counts in decoded)
    assert policy.winner == 2


def test_the_context_growing_reply_by_reply_is_not_a_change_of_load() -> None:
    policy = policy_with_clock()
    tried = []
    for n in range(20):
        slower = 1.03**n  # each reply's longer context makes tokens ~3 % slower
        policy.start_reply()
        run(policy, {2: 0.010 * slower, 1: 0.016 * slower}, 400)
        if policy.tokens_at.get(1):
            tried.append(n + 1)
    assert len(tried) <= 6
    assert LOAD_CHANGE < 1.03**20  # yet over 20 replies it drifted past it: trials re-base the reference


def test_a_program_starting_between_replies_brings_the_trial_forward() -> None:
    policy = policy_with_clock()
    quiet = replies(policy, {2: 0.010, 1: 0.016}, 12)
    assert 1 not in quiet[-1]  # the wait for the next trial is long by now
    policy.start_reply()
    busy = {2: 0.030, 1: 0.016}  # another program takes a core: two threads stall each other
    used = run(policy, busy, 400)
    assert policy.winner == 1
    # As soon as LOAD_TOKENS tokens past the reply's start were all slower (the first of them is token 24).
    assert used.index(1) == FIRST_TRIAL_AFTER + LOAD_TOKENS - 1
    assert used[-300:].count(2) <= PROBE_TOKENS + 1  # one more trial of two threads, 192 tokens later


def test_a_program_ending_brings_all_cores_back_within_max_reprobe_fewer_tokens() -> None:
    """One thread's speed does not show the other program ending (it had a core to itself), so all
    cores are tried again at least every MAX_REPROBE_FEWER tokens while fewer win ..."""
    policy = policy_with_clock()
    busy = replies(policy, {2: 0.030, 1: 0.016}, 12)
    assert policy.winner == 1
    tried = [n for n, counts in enumerate(busy[1:], 2) if counts.get(2)]
    assert len(tried) <= 6  # 192, 384, 768, then 1024 tokens apart
    assert all(counts.get(2, 0) <= PROBE_TOKENS for counts in busy[1:])
    assert policy._interval == MAX_REPROBE_FEWER
    quiet = replies(policy, {2: 0.010, 1: 0.016}, 4)  # quiet again
    assert policy.winner == 2
    assert sum(counts.get(1, 0) for counts in quiet) <= MAX_REPROBE_FEWER + PROBE_TOKENS


def test_all_cores_that_stall_are_not_tried_in_every_reply() -> None:
    """... but not in every reply: beside a CPU-bound program 2 threads sometimes decoded 2-4 tokens/s
    against 130 for one, so each token of a trial cost a 400-token reply ~10 % of its speed."""
    policy = policy_with_clock()
    decoded = replies(policy, {2: 0.400, 1: 0.0077}, 20)
    tried = [n for n, counts in enumerate(decoded, 1) if counts.get(2)]
    assert len(tried) <= 10
    assert all(counts.get(2, 0) <= 1 for counts in decoded[1:])  # one token a trial: given up at once
    assert policy.winner == 1


def test_a_fresh_app_tries_fewer_threads_as_soon_as_it_has_timed_the_winner() -> None:
    """A fresh app starts at all cores, which a CPU-bound neighbour made 6x slower than one thread."""
    policy = policy_with_clock()
    policy.start_reply()
    used = run(policy, {2: 0.045, 1: 0.0077}, 400)
    assert used.index(1) == PROBE_TOKENS + 1  # the reply's first token (after the prompt) is not timed
    # The win is checked CONFIRM_AFTER tokens later (one token of all cores), then 384 tokens later.
    assert used.count(2) == PROBE_TOKENS + 1 + 1
    assert used[PROBE_TOKENS + 1 + PROBE_TOKENS + CONFIRM_AFTER] == 2
    assert policy.winner == 1


def test_a_fresh_app_whose_first_trial_wins_by_noise_goes_back_to_all_cores_soon() -> None:
    """The window lays out the new message while a fresh app's first tokens decode: all cores look slow."""
    policy = policy_with_clock()
    policy.start_reply()
    run(policy, {2: 0.030, 1: 0.016}, PROBE_TOKENS + 1)  # the layout's slow start at all cores
    used = run(policy, {2: 0.010, 1: 0.016}, 400 - PROBE_TOKENS - 1)
    assert policy.winner == 2
    assert used.index(2) == PROBE_TOKENS + CONFIRM_AFTER  # one thread won the trial, and then lost it


def test_a_slow_start_of_a_reply_is_not_a_change_of_load() -> None:
    """The window lays out the new message while the first tokens decode."""
    policy = policy_with_clock()
    replies(policy, {2: 0.010, 1: 0.016}, 4)
    policy.start_reply()
    run(policy, {2: 0.030, 1: 0.040}, FIRST_TRIAL_AFTER - PROBE_TOKENS)  # slow, then normal again
    used = run(policy, {2: 0.010, 1: 0.016}, 400 - FIRST_TRIAL_AFTER + PROBE_TOKENS)
    assert 1 not in used


def test_a_moment_of_slowness_is_not_a_change_of_load() -> None:
    """The quiet host slows for a moment now and then (bare alone: +-15 % within seconds); ten tokens at
    twice the time do not set off a trial, a program that stays does."""
    policy = policy_with_clock()
    replies(policy, {2: 0.010, 1: 0.016}, 12)  # the wait for the next trial is long by now
    policy.start_reply()
    used = run(policy, {2: 0.010, 1: 0.016}, 100)
    used += run(policy, {2: 0.020, 1: 0.016}, 10)
    used += run(policy, {2: 0.010, 1: 0.016}, 300)
    assert 1 not in used
    policy.start_reply()
    used = run(policy, {2: 0.010, 1: 0.016}, 100)
    used += run(policy, {2: 0.025, 1: 0.016}, 300)
    assert used.index(1) < 100 + LOAD_TOKENS and policy.winner == 1


def test_candidates() -> None:
    assert candidates(1) == (1,)
    assert candidates(2) == (2, 1)
