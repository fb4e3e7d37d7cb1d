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

from collections import deque
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

    Invariant: ``_swaps`` and ``_validated`` are never both non-empty (whatever can be paired
    is), and ``_need`` is what the oldest waiting swap still waits for.
    """

    __slots__ = ("_need", "_swaps", "_validated", "histogram")

    def __init__(self) -> None:
        self.histogram = LatencyHistogram()
        self._swaps: deque[tuple[int, int]] = deque()
        self._validated: deque[int] = deque()
        self._need = 0

    def add_swaps(self, entered_ns: list[int], counts: list[int]) -> None:
        """The market side's half (see :class:`SwapsEntered`)."""
        if len(entered_ns) != len(counts):
            raise ValueError(f"{len(entered_ns)} swap times but {len(counts)} counts")
        self._swaps.extend(zip(entered_ns, counts, strict=True))
        self._pair()

    def add_validations(self, validated_ns: list[int]) -> None:
        """The signal side's half (see :class:`SignalsValidated`)."""
        self._validated.extend(validated_ns)
        self._pair()

    def _pair(self) -> None:
        swaps, validated = self._swaps, self._validated
        samples: list[int] = []
        need = self._need
        while swaps and validated:
            entered, count = swaps[0]
            if need == 0:
                need = count
            taken = min(need, len(validated))
            for _ in range(taken - 1):
                validated.popleft()
            last = validated.popleft()
            need -= taken
            if need == 0:
                swaps.popleft()
                samples.append(last - entered)
        self._need = need
        self.histogram.record_many(samples)

    def report(self) -> HotPathReport:
        """The histogram and the unpaired remainders."""
        return HotPathReport(
            latency=self.histogram.counts(),
            swaps_unpaired=len(self._swaps),
            validations_unpaired=len(self._validated),
        )
