"""Throughput of a run: requests per second, output tokens per second, the latency distribution."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Seconds per request (all attempts and waits of a server's request): mean, p50, p90, p99, max."""
    values = [float(r.get("request_seconds", r.get("generation_seconds", 0.0))) for r in records]
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean": round(statistics.fmean(values), 3),
        "p50": round(percentile(values, 0.5), 3),
        "p90": round(percentile(values, 0.9), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(max(values), 3),
    }


def throughput(records: Sequence[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Rates over ``seconds`` of wall time for the requests in ``records`` (errors included: they took time)."""
    tokens = sum(int(r.get("completion_tokens", 0)) for r in records)
    rate = len(records) / seconds if seconds > 0 else 0.0
    return {
        "requests": len(records),
        "seconds": round(seconds, 3),
        "requests_per_second": round(rate, 3),
        "output_tokens": tokens,
        "output_tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else 0.0,
        "latency_seconds": latency(records),
    }
