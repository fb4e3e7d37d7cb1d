"""``LatencyHistogram``: exact counts and bounded-error percentiles in a fixed amount of memory.

An HDR-style log-linear histogram of non-negative integers (nanoseconds): every power of two
from 256 up is split into 128 equal buckets, and values below 256 have a bucket each. So a
value ``v`` falls in a bucket of width at most ``v / 128``, and every bucket is represented by
its midpoint.

Error bound: a percentile is the nearest-rank sample's bucket (the ``ceil(p/100 * n)``-th
smallest value's), reported as that bucket's midpoint clamped to the exact minimum and
maximum, so it is within ``v / 256`` of the exact nearest-rank value ``v`` (< 0.4 %), and exact
below 256 ns. ``count``, ``min``, ``max`` and ``total`` are exact. Memory: at most 7,424
counters (values up to 2**64), allocated on the first value; recording never allocates more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, final

import msgspec

__all__ = ["SUB_BUCKET_BITS", "HistogramCounts", "LatencyHistogram"]

SUB_BUCKET_BITS: Final = 7
"""log2 of the buckets per power of two: 128, for a relative bucket width of at most 1/128."""

_SUB: Final = 1 << SUB_BUCKET_BITS
_LINEAR: Final = 2 * _SUB  # values below this have a bucket each
_BUCKETS: Final = (63 - SUB_BUCKET_BITS) * _SUB + _LINEAR  # 7,424: any value < 2**64


def _index(value: int) -> int:
    shift = value.bit_length() - (SUB_BUCKET_BITS + 1)
    if shift <= 0:
        return value
    return (shift << SUB_BUCKET_BITS) + (value >> shift)


def _bounds(index: int) -> tuple[int, int]:
    """The smallest value of bucket ``index`` and its width."""
    if index < _LINEAR:
        return index, 1
    shift = (index >> SUB_BUCKET_BITS) - 1
    return (index - (shift << SUB_BUCKET_BITS)) << shift, 1 << shift


@final
class HistogramCounts(msgspec.Struct, frozen=True, array_like=True):
    """A histogram as data (to send or store): non-empty buckets and the exact extremes."""

    buckets: list[tuple[int, int]]
    """(bucket index, count), in index order."""
    min: int
    max: int
    total: int


@final
class LatencyHistogram:
    """See the module docstring. ``record`` is the hot call; everything else reads.

    Not thread-safe: one owner records.
    """

    __slots__ = ("_counts", "count", "max", "min", "total")

    def __init__(self) -> None:
        # Invariant: sum(_counts) == count; _counts is empty until the first value.
        self._counts: list[int] = []
        self.count = 0
        self.min = 0
        self.max = 0
        self.total = 0

    def record(self, value: int) -> None:
        """Count one value (ns, >= 0).

        Raises:
            ValueError: ``value`` is negative or not below 2**64.
        """
        if not 0 <= value < 1 << 64:
            raise ValueError(f"a latency is in [0, 2**64) ns, got {value}")
        counts = self._counts
        if not counts:
            self._counts = counts = [0] * _BUCKETS
            self.min = self.max = value
        elif value < self.min:
            self.min = value
        elif value > self.max:
            self.max = value
        counts[_index(value)] += 1
        self.count += 1
        self.total += value

    def record_many(self, values: Sequence[int]) -> None:
        """Count each of ``values`` (the same as ``record`` for each, faster).

        Raises:
            ValueError: a value is out of range; nothing was counted.
        """
        if not values:
            return
        low, high = min(values), max(values)
        if low < 0 or high >= 1 << 64:
            bad = low if low < 0 else high
            raise ValueError(f"a latency is in [0, 2**64) ns, got {bad}")
        counts = self._counts
        if not counts:
            self._counts = counts = [0] * _BUCKETS
            self.min, self.max = low, high
        else:
            self.min, self.max = min(self.min, low), max(self.max, high)
        sub_bits = SUB_BUCKET_BITS
        linear = _LINEAR
        for value in values:
            if value < linear:
                counts[value] += 1
            else:
                shift = value.bit_length() - (sub_bits + 1)
                counts[(shift << sub_bits) + (value >> shift)] += 1
        self.count += len(values)
        self.total += sum(values)

    def percentile(self, p: float) -> int | None:
        """The ``p``-th percentile (nearest rank, ``0 < p <= 100``) within the documented bound;
        ``None`` when empty."""
        if not 0 < p <= 100:
            raise ValueError(f"p must be in (0, 100], got {p}")
        if not self.count:
            return None
        rank = max(1, math.ceil(p / 100 * self.count))
        seen = 0
        for index, count in enumerate(self._counts):
            seen += count
            if seen >= rank:
                return min(self.max, max(self.min, self.bucket_value(index)))
        raise AssertionError("the bucket counts do not add up")  # pragma: no cover

    @staticmethod
    def bucket_value(index: int) -> int:
        """The value that represents bucket ``index`` (its midpoint, rounded down)."""
        low, width = _bounds(index)
        return low + (width - 1) // 2

    def merge(self, other: LatencyHistogram) -> None:
        """Add ``other``'s values to this histogram."""
        self.merge_counts(other.counts())

    def counts(self) -> HistogramCounts:
        """The histogram as data."""
        buckets = [(index, count) for index, count in enumerate(self._counts) if count]
        return HistogramCounts(buckets=buckets, min=self.min, max=self.max, total=self.total)

    def merge_counts(self, data: HistogramCounts) -> None:
        """Add the values described by ``data`` (from :meth:`counts`).

        Raises:
            ValueError: ``data`` is not a histogram's counts (bad index or count).
        """
        if not data.buckets:
            return
        counts = self._counts
        if not counts:
            self._counts = counts = [0] * _BUCKETS
            self.min, self.max = data.min, data.max
        else:
            self.min, self.max = min(self.min, data.min), max(self.max, data.max)
        for index, count in data.buckets:
            if not 0 <= index < _BUCKETS or count < 1:
                raise ValueError(f"not a histogram bucket: ({index}, {count})")
            counts[index] += count
            self.count += count
        self.total += data.total

    @classmethod
    def from_counts(cls, data: HistogramCounts) -> LatencyHistogram:
        """A histogram holding the values described by ``data``."""
        histogram = cls()
        histogram.merge_counts(data)
        return histogram

    def __repr__(self) -> str:
        p50 = self.percentile(50)
        return f"LatencyHistogram(count={self.count}, p50={p50}, max={self.max})"
