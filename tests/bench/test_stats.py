"""Percentiles and medians of the report (``mycelium_bench.stats``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mycelium_bench.stats import latency_of, median, median_latency, percentile


def test_percentile_is_nearest_rank() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile(samples, 100) == 100
    assert percentile([7.0], 99) == 7


@pytest.mark.parametrize(("samples", "q", "message"), [([], 50, "no samples"), ([1.0], 0, "q")])
def test_percentile_rejects_bad_input(samples: list[float], q: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        percentile(samples, q)


@given(st.lists(st.lists(st.integers(0, 10**9), min_size=1, max_size=50), min_size=1, max_size=7))
def test_median_of_p50s_never_exceeds_median_of_p99s(runs: list[list[int]]) -> None:
    summary = median_latency([latency_of([float(x) for x in run]) for run in runs])
    assert summary["p50"] <= summary["p99"]


def test_median_of_repeats() -> None:
    assert median([3.0, 1.0, 2.0]) == 2
