"""``MarketDataActor``: the market-data service as an actor (seed task MVP-009)."""

from __future__ import annotations

from time import perf_counter_ns

from mycelium import Actor, ActorRef
from mycelium_types.messages import MarketMessage, PoolSwapEvent, SignalMessage
from services_v2.domain.processor import MarketCounters, MarketDataProcessor
from services_v2.latency.hot_path import PROBE_BATCH, PROBE_FLUSH_NS, HotPathTiming, SwapsEntered

from ._timings import send_timings

__all__ = ["MarketDataActor"]


class MarketDataActor(Actor[MarketMessage]):
    """Applies each market message to its ``MarketDataProcessor`` and sends the signals found.

    Ordering: signals reach ``signal_ref`` in the order the processor found them, which is the
    order of the market messages (one sender, FIFO per pair).
    Backpressure: signals are sent with ``await send``, so a full signal mailbox slows this
    actor down instead of losing a signal.

    Hot-path probe (when ``probe`` is given): for each swap that revealed signals, when it
    entered ``handle`` (perf_counter_ns: CLOCK_MONOTONIC on Linux, comparable across processes)
    and how many signals it revealed, sent to ``probe`` as :class:`SwapsEntered` every
    :data:`~services_v2.latency.hot_path.PROBE_BATCH` swaps or ``PROBE_FLUSH_NS``, and when the
    actor stops. Memory stays flat.
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
        """Hand the timings not yet sent to the probe (see :func:`send_timings`)."""
        probe = self.probe
        if probe is not None and self._entered:
            batch = SwapsEntered(self._entered, self._counts, self._events)
            self._entered, self._counts, self._events = [], [], []
            await send_timings(probe, batch)

    async def on_stop(self) -> None:
        await self._flush()

    def report(self) -> MarketCounters:
        """The processor's counters (the bundle's report of this actor)."""
        return self.processor.counters()
