"""pass@1 with a 95% confidence interval, and the spread across seeds."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    """``passed`` out of ``total`` with its Wilson score interval."""

    passed: int
    total: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, object]:
        return {"passed": self.passed, "total": self.total, "pass_at_1": self.rate, "ci95": [self.low, self.high]}


def wilson(passed: int, total: int, z: float = Z95) -> Proportion:
    """The Wilson score interval, which stays inside [0, 1] and behaves at 0 and n."""
    if total <= 0:
        return Proportion(0, 0, 0.0, 0.0)
    p = passed / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return Proportion(passed, total, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class SeedSpread:
    """Mean and sample standard deviation of per-seed pass@1 (sd is ``None`` for one seed)."""

    mean: float
    sd: float | None
    per_seed: dict[int, float]

    def to_dict(self) -> dict[str, object]:
        return {"mean": self.mean, "sd": self.sd, "per_seed": {str(k): v for k, v in self.per_seed.items()}}


def seed_spread(per_seed: dict[int, float]) -> SeedSpread:
    """Mean ± sd of the pass rates of several seeds."""
    values = list(per_seed.values())
    if not values:
        return SeedSpread(0.0, None, {})
    sd = statistics.stdev(values) if len(values) > 1 else None
    return SeedSpread(statistics.fmean(values), sd, dict(per_seed))
