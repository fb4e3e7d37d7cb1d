"""The hot-path latency: a swap entering the market side -> the last of its signals validated.

Both sides record ``time.perf_counter_ns()``, which on Linux reads CLOCK_MONOTONIC, one clock for
every process of the machine, so the samples are comparable across processes.

How the two halves meet, in any placement: the market side sends :class:`SwapsEntered` (for each
swap that revealed arbitrage signals: its event number, when it entered, and how many signals it
revealed) and the signal side :class:`SignalsValidated` (for each arbitrage signal: the event
number it carries, and when it finished validation), in batches, to a probe actor.
:class:`HotPathPairing` pairs them as they come, by event number: signals are validated in the
order they were found, so a swap is complete once its ``counts[i]`` validations have arrived,
and a validation for a later event means the swap's missing ones will never come (their handler
failed: a dead letter, an injected fault). Such a swap gives no sample (it is counted as
unpaired) and pairs nothing else, so one lost signal never shifts the samples of the swaps after
it. Only what is in flight is buffered (memory does not grow with the run), and the samples go
into a fixed-size :class:`~services_v2.latency.histogram.LatencyHistogram`.

Both services batch their halves the same way: at most :data:`PROBE_BATCH` timings a message,
sent at least every :data:`PROBE_FLUSH_NS` while the run goes, and when the actor stops.
"""

from __future__ import annotations

from collections import deque
from typing import Final, TypeAlias, final

import msgspec

from .histogram import HistogramCounts, LatencyHistogram

__all__ = [
    "PROBE_BATCH",
    "PROBE_FLUSH_NS",
    "HotPathPairing",
    "HotPathReport",
    "HotPathTiming",
    "SignalsValidated",
    "SwapsEntered",
]

PROBE_BATCH: Final = 4096
"""Hot-path timings sent to the probe in one message, at most."""

PROBE_FLUSH_NS: Final = 100_000_000
"""Timings are sent to the probe at least this often (ns) while the run goes, so the live
figures move. Each send wakes the probe, which costs the hot path a hand-off: batches of 256
swaps made the p99 7x worse than batches of 4,096, so the sends stay rare."""


@final
class SwapsEntered(msgspec.Struct, frozen=True, tag="swaps_entered", array_like=True, gc=False):
    """Swaps that revealed arbitrage signals, in order: ``entered_ns[i]`` is when the i-th
    entered the market-data handler, ``counts[i]`` how many signals it revealed (>= 1),
    ``events[i]`` its event number (the ``event`` of the signals it revealed)."""

    entered_ns: list[int]
    counts: list[int]
    events: list[int]


@final
class SignalsValidated(
    msgspec.Struct, frozen=True, tag="signals_validated", array_like=True, gc=False
):
    """When each arbitrage signal finished validation, in the order they were validated:
    ``validated_ns[i]``, and ``events[i]`` the ``event`` the i-th signal carries."""

    validated_ns: list[int]
    events: list[int]


HotPathTiming: TypeAlias = SwapsEntered | SignalsValidated
"""What a hot-path probe receives."""


@final
class HotPathReport(msgspec.Struct, frozen=True):
    """A probe's result: the latency histogram, and what it could not pair.

    Attributes:
        latency: the samples, ns (one per swap whose signals were all validated).
        swaps_unpaired: swaps that did not get all their validations (a signal lost to a
            failed handler), or still waited for some at the end.
        validations_unpaired: validations that came with no swap to pair them with.
    """

    latency: HistogramCounts
    swaps_unpaired: int
    validations_unpaired: int


@final
class HotPathPairing:
    """Pairs the two halves online; see the module docstring.

    The work is a few deque operations per validation (the probe shares the event loop with
    the hot path in a monolith, so its turns must be short).

    Invariant: ``_swaps`` holds ``[event, entered_ns, validations still due]`` for the oldest
    swaps not yet paired, in order of event; ``_validated`` holds ``(event, validated_ns)`` for
    the validations not yet matched (only while the swap they belong to may still come);
    ``_lost_swaps``/``_stray`` count the swaps and validations given up on.
    """

    __slots__ = ("_lost_swaps", "_stray", "_swaps", "_validated", "histogram")

    def __init__(self) -> None:
        self.histogram = LatencyHistogram()
        self._swaps: deque[list[int]] = deque()
        self._validated: deque[tuple[int, int]] = deque()
        self._lost_swaps = 0
        self._stray = 0

    def add_swaps(self, entered_ns: list[int], counts: list[int], events: list[int]) -> None:
        """The market side's half (see :class:`SwapsEntered`)."""
        if not len(entered_ns) == len(counts) == len(events):
            raise ValueError(
                f"{len(entered_ns)} swap times, {len(counts)} counts and {len(events)} events"
            )
        if counts and min(counts) < 1:
            raise ValueError("every swap of a SwapsEntered revealed at least one signal")
        self._swaps.extend(
            [event, entered, count]
            for event, entered, count in zip(events, entered_ns, counts, strict=True)
        )
        self._pair()

    def add_validations(self, validated_ns: list[int], events: list[int]) -> None:
        """The signal side's half (see :class:`SignalsValidated`)."""
        if len(validated_ns) != len(events):
            raise ValueError(f"{len(validated_ns)} validation times but {len(events)} events")
        self._validated.extend(zip(events, validated_ns, strict=True))
        self._pair()

    def _pair(self) -> None:
        swaps, validated = self._swaps, self._validated
        samples: list[int] = []
        while swaps and validated:
            swap = swaps[0]
            event, at = validated[0]
            if event < swap[0]:  # its swap is paired already, or was never reported
                validated.popleft()
                self._stray += 1
            elif event > swap[0]:  # the swap's missing validations will never come
                swaps.popleft()
                self._lost_swaps += 1
            else:
                validated.popleft()
                swap[2] -= 1
                if not swap[2]:
                    swaps.popleft()
                    samples.append(at - swap[1])
        if samples:
            self.histogram.record_many(samples)

    def report(self) -> HotPathReport:
        """The histogram and the unpaired remainders."""
        return HotPathReport(
            latency=self.histogram.counts(),
            swaps_unpaired=self._lost_swaps + len(self._swaps),
            validations_unpaired=self._stray + len(self._validated),
        )
