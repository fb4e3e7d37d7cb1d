"""``MarketDataActor``: the market-data service as an actor (seed task MVP-009)."""

from __future__ import annotations

from time import perf_counter_ns
from typing import final

from mycelium import Actor, ActorRef
from mycelium_types.messages import MarketMessage, PoolSwapEvent, SignalMessage
from services_v2.domain.processor import MarketDataProcessor

__all__ = ["MarketDataActor"]


@final
class MarketDataActor(Actor[MarketMessage]):
    """Applies each market message to its ``MarketDataProcessor`` and sends the signals found.

    Ordering: signals reach ``signal_ref`` in the order the processor found them, which is the
    order of the market messages (one sender, FIFO per pair).
    Backpressure: signals are sent with ``await send``, so a full signal mailbox slows this
    actor down instead of losing a signal.

    Hot-path probe: ``swap_entered_ns[i]`` is when the i-th swap that revealed signals entered
    ``handle`` and ``swap_signal_counts[i]`` how many signals it revealed (perf_counter_ns,
    which on Linux is CLOCK_MONOTONIC, comparable across processes).
    """

    __slots__ = ("process", "processor", "signal_ref", "swap_entered_ns", "swap_signal_counts")

    def __init__(self, processor: MarketDataProcessor, signal_ref: ActorRef[SignalMessage]) -> None:
        self.processor = processor
        self.process = processor.process
        self.signal_ref = signal_ref
        self.swap_entered_ns: list[int] = []
        self.swap_signal_counts: list[int] = []

    async def handle(self, msg: MarketMessage) -> None:
        entered = perf_counter_ns()
        found = self.process(msg)
        if found:
            if type(msg) is PoolSwapEvent:
                self.swap_entered_ns.append(entered)
                self.swap_signal_counts.append(len(found))
            send = self.signal_ref.send
            for signal in found:
                await send(signal)
