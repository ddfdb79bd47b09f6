"""Fingerprints by winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003), as MOSS does.

Every run of ``k`` consecutive normalised tokens (a k-gram) is hashed; in
every window of ``w`` consecutive hashes the smallest (the rightmost on a tie)
is kept. Two texts sharing a run of at least ``w + k - 1`` tokens are then
certain to share a kept hash, while only about ``2 / (w + 1)`` of the hashes
are stored. The arithmetic is numpy's, so a 10,000-line file takes
milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.core.refs.normalise import token_id

# Tuned by ``quillpad bench refs`` (see the README): k=12 keeps single
# statements from matching by themselves; w=16 guarantees any shared run of
# 27 tokens is found, below the default minimum match of 40.
DEFAULT_K = 12
DEFAULT_W = 16
_BASE = np.uint64(1_000_003)
# Hashes are stored as SQLite integers: 63 bits, never negative.
_MASK = np.uint64((1 << 63) - 1)

IdArray = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class Winnowing:
    """The fingerprint parameters: k-gram length and window size."""

    k: int = DEFAULT_K
    w: int = DEFAULT_W

    @property
    def guarantee(self) -> int:
        """Shared runs at least this long are always found."""
        return self.w + self.k - 1


def token_ids(tokens: Sequence[str]) -> IdArray:
    """The stable numbers of normalised tokens."""
    return np.fromiter((token_id(t) for t in tokens), dtype=np.uint64, count=len(tokens))


def kgram_hashes(ids: IdArray, k: int) -> IdArray:
    """The hash of every k-gram; entry ``i`` covers tokens ``i .. i + k - 1``."""
    count = len(ids) - k + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
        for offset in range(k):
            hashes = hashes * _BASE + ids[offset : offset + count]
        # Mixing the high bits in makes the minimum of a window a fair sample.
        hashes ^= hashes >> np.uint64(29)
        hashes *= np.uint64(0xBF58476D1CE4E5B9)
        hashes ^= hashes >> np.uint64(32)
    masked: IdArray = hashes & _MASK
    return masked


def winnow(hashes: IdArray, w: int) -> npt.NDArray[np.int64]:
    """The positions kept by winnowing (sorted, each once)."""
    if len(hashes) == 0:
        return np.empty(0, dtype=np.int64)
    if len(hashes) <= w:
        reverse = hashes[::-1]
        return np.array([len(hashes) - 1 - int(np.argmin(reverse))], dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(hashes, w)
    # argmin finds the first minimum; on the reversed window that is the rightmost one.
    rightmost = w - 1 - np.argmin(windows[:, ::-1], axis=1)
    positions = rightmost + np.arange(len(windows))
    return np.unique(positions).astype(np.int64)


def fingerprints(ids: IdArray, params: Winnowing) -> tuple[IdArray, npt.NDArray[np.int64]]:
    """Kept hashes and the token position each k-gram starts at."""
    hashes = kgram_hashes(ids, params.k)
    kept = winnow(hashes, params.w)
    return hashes[kept], kept
