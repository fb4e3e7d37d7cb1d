"""``MarketDataActor``: the market-data service as an actor (seed task MVP-009)."""

from __future__ import annotations

from time import perf_counter_ns
from typing import Final

from mycelium import Actor, ActorRef, MailboxFull
from mycelium_types.messages import MarketMessage, PoolSwapEvent, SignalMessage
from services_v2.domain.processor import MarketCounters, MarketDataProcessor
from services_v2.pipeline.hot_path import HotPathTiming, SwapsEntered

__all__ = ["PROBE_BATCH", "MarketDataActor"]

PROBE_BATCH: Final = 4096
"""Hot-path timings sent to the probe in one message, at most."""

PROBE_FLUSH_NS: Final = 100_000_000
"""Timings are sent to the probe at least this often (ns) while the run goes, so the live
figures move. Each send wakes the probe, which costs the hot path a hand-off: batches of 256
swaps made the p99 7x worse than batches of 4,096, so the sends stay rare."""


class MarketDataActor(Actor[MarketMessage]):
    """Applies each market message to its ``MarketDataProcessor`` and sends the signals found.

    Ordering: signals reach ``signal_ref`` in the order the processor found them, which is the
    order of the market messages (one sender, FIFO per pair).
    Backpressure: signals are sent with ``await send``, so a full signal mailbox slows this
    actor down instead of losing a signal.

    Hot-path probe (when ``probe`` is given): for each swap that revealed signals, when it
    entered ``handle`` (perf_counter_ns: CLOCK_MONOTONIC on Linux, comparable across processes)
    and how many signals it revealed, sent to ``probe`` as :class:`SwapsEntered` every
    :data:`PROBE_BATCH` swaps or :data:`PROBE_FLUSH_NS`, and when the actor stops. Memory
    stays flat.
    """

    __slots__ = ("_counts", "_entered", "_events", "probe", "process", "processor", "signal_ref")

    # Invariant: _entered, _counts and _events have one entry per swap not yet sent to the
    # probe.

    def __init__(
        self,
        processor: MarketDataProcessor,
        signal_ref: ActorRef[SignalMessage],
        probe: ActorRef[HotPathTiming] | None = None,
    ) -> None:
        self.processor = processor
        self.process = processor.process
        self.signal_ref = signal_ref
        self.probe = probe
        self._entered: list[int] = []
        self._counts: list[int] = []
        self._events: list[int] = []

    async def handle(self, msg: MarketMessage) -> None:
        entered = perf_counter_ns()
        found = self.process(msg)
        if found:
            send = self.signal_ref.send
            for signal in found:
                await send(signal)
            if type(msg) is PoolSwapEvent and self.probe is not None:
                pending = self._entered
                pending.append(entered)
                self._counts.append(len(found))
                self._events.append(self.processor.events - 1)  # the signals' ``event``
                if len(pending) >= PROBE_BATCH or entered - pending[0] >= PROBE_FLUSH_NS:
                    await self._flush()

    async def _flush(self) -> None:
        """Hand the timings to the probe: without waiting when it has room (the hot path must
        not suspend for the probe), else with ``await send`` (nothing is dropped)."""
        probe = self.probe
        if probe is not None and self._entered:
            batch = SwapsEntered(self._entered, self._counts, self._events)
            self._entered, self._counts, self._events = [], [], []
            try:
                probe.try_send(batch)
            except MailboxFull:
                await probe.send(batch)

    async def on_stop(self) -> None:
        await self._flush()

    def report(self) -> MarketCounters:
        """The processor's counters (the bundle's report of this actor)."""
        return self.processor.counters()
