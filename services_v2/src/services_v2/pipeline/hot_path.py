"""The hot-path latency: a swap entering the market side -> the last of its signals validated.

Both sides record ``time.perf_counter_ns()``, which on Linux reads CLOCK_MONOTONIC, one clock for
every process of the machine, so the samples are comparable across processes.

How the two halves meet, in any placement: the market side sends :class:`SwapsEntered` (for each
swap that revealed arbitrage signals: when it entered, and how many signals it revealed) and
the signal side :class:`SignalsValidated` (when each arbitrage signal finished validation), in
batches, to a probe actor. :class:`HotPathPairing` pairs them as they come: signals are
validated in the order they were found, so the i-th swap's signals are the next ``counts[i]``
validations. Only what is in flight is buffered (memory does not grow with the run), and the
samples go into a fixed-size :class:`~services_v2.pipeline.histogram.LatencyHistogram`.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import TypeAlias, final

import msgspec

from .histogram import HistogramCounts, LatencyHistogram

__all__ = [
    "HotPathPairing",
    "HotPathReport",
    "HotPathTiming",
    "SignalsValidated",
    "SwapsEntered",
]


@final
class SwapsEntered(msgspec.Struct, frozen=True, tag="swaps_entered", array_like=True, gc=False):
    """Swaps that revealed arbitrage signals, in order: ``entered_ns[i]`` is when the i-th
    entered the market-data handler, ``counts[i]`` how many signals it revealed (>= 1)."""

    entered_ns: list[int]
    counts: list[int]


@final
class SignalsValidated(
    msgspec.Struct, frozen=True, tag="signals_validated", array_like=True, gc=False
):
    """When each arbitrage signal finished validation, in the order they were validated."""

    validated_ns: list[int]


HotPathTiming: TypeAlias = SwapsEntered | SignalsValidated
"""What a hot-path probe receives."""


@final
class HotPathReport(msgspec.Struct, frozen=True):
    """A probe's result: the latency histogram, and what it could not pair.

    Attributes:
        latency: the samples, ns (one per swap whose signals were all validated).
        swaps_unpaired: swaps still waiting for some of their validations at the end.
        validations_unpaired: validations that came with no swap to pair them with.
    """

    latency: HistogramCounts
    swaps_unpaired: int
    validations_unpaired: int


@final
class HotPathPairing:
    """Pairs the two halves online; see the module docstring.

    The work is a few list operations per batch (the probe shares the event loop with the hot
    path in a monolith, so its turns must be short): swap ``i`` is complete once the
    validations numbered up to ``_ends[i]`` (counted from the start of the run) have arrived.

    Invariant: ``_entered[i]`` and ``_ends[i]`` describe the oldest swaps not yet paired, in
    order; ``_validated[j]`` is validation number ``_base + j + 1``, kept only while a pending
    swap may still need it.
    """

    __slots__ = ("_base", "_ends", "_entered", "_needed", "_validated", "histogram")

    def __init__(self) -> None:
        self.histogram = LatencyHistogram()
        self._entered: list[int] = []
        self._ends: list[int] = []
        self._validated: list[int] = []
        self._base = 0  # validations dropped from the front of _validated
        self._needed = 0  # validations all the swaps seen so far need

    def add_swaps(self, entered_ns: list[int], counts: list[int]) -> None:
        """The market side's half (see :class:`SwapsEntered`)."""
        if len(entered_ns) != len(counts):
            raise ValueError(f"{len(entered_ns)} swap times but {len(counts)} counts")
        if counts and min(counts) < 1:
            raise ValueError("every swap of a SwapsEntered revealed at least one signal")
        ends = list(accumulate(counts, initial=self._needed))  # ends[0]: the swaps before
        self._needed = ends[-1]
        self._entered += entered_ns
        self._ends += ends[1:]
        self._pair()

    def add_validations(self, validated_ns: list[int]) -> None:
        """The signal side's half (see :class:`SignalsValidated`)."""
        self._validated += validated_ns
        self._pair()

    def _pair(self) -> None:
        ends = self._ends
        if not ends:
            return
        base = self._base
        arrived = base + len(self._validated)
        ready = bisect_right(ends, arrived)
        if not ready:
            return
        validated = self._validated
        entered = self._entered
        pairs = zip(entered[:ready], ends[:ready], strict=True)
        self.histogram.record_many([validated[end - 1 - base] - start for start, end in pairs])
        used = ends[ready - 1] - base
        del entered[:ready], ends[:ready], validated[:used]
        self._base = base + used

    def report(self) -> HotPathReport:
        """The histogram and the unpaired remainders."""
        return HotPathReport(
            latency=self.histogram.counts(),
            swaps_unpaired=len(self._entered),
            validations_unpaired=max(0, self._base + len(self._validated) - self._needed),
        )
