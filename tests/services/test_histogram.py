"""The latency histogram (services_v2.latency.histogram): exact counts, bounded error."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services_v2.latency.histogram import LatencyHistogram

VALUES = st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=1, max_size=300)


def _nearest_rank(values: list[int], p: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@given(VALUES, st.sampled_from([1, 25, 50, 90, 99, 99.9, 100]))
def test_a_percentile_is_within_a_256th_of_the_exact_nearest_rank(
    values: list[int], p: float
) -> None:
    histogram = LatencyHistogram()
    histogram.record_many(values)
    exact = _nearest_rank(values, p)
    got = histogram.percentile(p)
    assert got is not None
    assert abs(got - exact) <= exact / 256
    if exact < 256:
        assert got == exact


@given(VALUES)
def test_counts_extremes_and_total_are_exact_and_both_record_paths_agree(
    values: list[int],
) -> None:
    one_by_one, at_once = LatencyHistogram(), LatencyHistogram()
    for value in values:
        one_by_one.record(value)
    at_once.record_many(values)
    for histogram in (one_by_one, at_once):
        assert (histogram.count, histogram.min, histogram.max, histogram.total) == (
            len(values),
            min(values),
            max(values),
            sum(values),
        )
    assert one_by_one.counts() == at_once.counts()
    assert LatencyHistogram.from_counts(at_once.counts()).counts() == at_once.counts()


def test_memory_does_not_grow_with_the_number_of_values() -> None:
    histogram = LatencyHistogram()
    histogram.record(1)
    buckets = len(histogram._counts)  # pyright: ignore[reportPrivateUsage]
    histogram.record_many(list(range(0, 10**9, 997)))
    assert len(histogram._counts) == buckets == 7_424  # pyright: ignore[reportPrivateUsage]


def test_merging_adds_up() -> None:
    a, b = LatencyHistogram(), LatencyHistogram()
    a.record_many([5, 500, 50_000])
    b.record_many([7, 7_000_000])
    a.merge(b)
    assert (a.count, a.min, a.max, a.total) == (5, 5, 7_000_000, 7_050_512)


def test_an_empty_histogram_has_no_percentile_and_bad_values_are_refused() -> None:
    histogram = LatencyHistogram()
    assert histogram.percentile(50) is None
    with pytest.raises(ValueError, match=r"^a latency is in \[0, 2\*\*64\) ns, got -1$"):
        histogram.record(-1)
    with pytest.raises(ValueError, match=r"got -3$"):
        histogram.record_many([4, -3])
    assert histogram.count == 0
    with pytest.raises(ValueError, match=r"^p must be in \(0, 100\], got 0$"):
        histogram.percentile(0)
