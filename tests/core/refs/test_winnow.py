from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.refs.winnow import Winnowing, fingerprints, kgram_hashes, token_ids, winnow

VOCAB = [f"t{i}" for i in range(8)]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 60), st.integers(0, 60))
def test_a_shared_run_of_the_guaranteed_length_shares_a_fingerprint(seed: int, before: int, after: int) -> None:
    params = Winnowing(k=5, w=4)
    rng = random.Random(seed)
    shared = [rng.choice(VOCAB) for _ in range(params.guarantee)]
    first = [rng.choice(VOCAB) for _ in range(before)] + shared
    second = shared + [rng.choice(VOCAB) for _ in range(after)]
    kept_first = set(fingerprints(token_ids(first), params)[0].tolist())
    all_second = set(kgram_hashes(token_ids(second), params.k).tolist())
    assert kept_first & all_second


def test_winnowing_keeps_the_rightmost_minimum_once_per_window() -> None:
    import numpy as np

    hashes = np.array([5, 3, 3, 9, 1, 7, 7], dtype=np.uint64)
    assert winnow(hashes, 3).tolist() == [2, 4]


def test_short_inputs() -> None:
    assert len(fingerprints(token_ids(["a", "b"]), Winnowing())[0]) == 0
