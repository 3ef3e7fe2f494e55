"""Summaries of timing samples and the formatting of numbers with units. Pure."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Summary:
    """Order statistics of one sample (same unit as the input)."""

    n: int
    median: float
    p95: float
    p25: float
    p75: float
    minimum: float
    maximum: float


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(values: Sequence[float]) -> Summary:
    """Median, p95, quartiles and range; NaNs when there is no sample."""
    data = sorted(values)
    if not data:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, nan, nan)
    return Summary(
        n=len(data),
        median=statistics.median(data),
        p95=percentile(data, 95),
        p25=percentile(data, 25),
        p75=percentile(data, 75),
        minimum=data[0],
        maximum=data[-1],
    )


def fmt(value: float, unit: str, digits: int | None = None) -> str:
    """A number with its unit, with precision suited to its size ("12.3 µs", "1,234 ms")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if digits is None:
        magnitude = abs(value)
        digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2
    return f"{value:,.{digits}f} {unit}".strip()


def ratio(value: float, baseline: float) -> str:
    """value / baseline as "3.2×" (n/a when the baseline is zero or missing)."""
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return "n/a"
    r = value / baseline
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 10:
        return f"{r:,.1f}×"
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.3f}×" if r >= 0.01 else f"{r:.4f}×"
