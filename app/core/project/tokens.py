"""Counting tokens when the model's own tokenizer is not at hand."""

from __future__ import annotations

import math
from collections.abc import Callable

# Qwen3's tokenizer averages about 3.5-4 characters per token on English prose and source code; dividing by
# the lower figure errs towards counting too many, so a context that fits by this estimate also fits for real.
CHARS_PER_TOKEN = 3.5

TokenCounter = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """A fast estimate: characters / 3.5, rounded up (0 for empty text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0
