"""Summaries of samples: medians across repeats and nearest-rank percentiles of latencies."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import TypedDict

__all__ = ["Latency", "latency_of", "median", "median_latency", "percentile"]


class Latency(TypedDict):
    """A latency distribution as the report writes it: ``{"p50": ns, "p99": ns}``."""

    p50: float
    p99: float


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``samples``.

    Raises:
        ValueError: ``samples`` is empty or ``q`` is out of range.
    """
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    ordered = sorted(samples)
    rank = math.ceil(q / 100 * len(ordered))
    return float(ordered[rank - 1])


def latency_of(samples: Sequence[float]) -> Latency:
    """p50 and p99 of one run's samples."""
    return {"p50": percentile(samples, 50), "p99": percentile(samples, 99)}


def median(values: Sequence[float]) -> float:
    """The median of the repeats of a figure."""
    return float(statistics.median(values))


def median_latency(runs: Sequence[Latency]) -> Latency:
    """The median p50 and the median p99 across runs; p50 <= p99 still holds."""
    return {
        "p50": median([run["p50"] for run in runs]),
        "p99": median([run["p99"] for run in runs]),
    }
