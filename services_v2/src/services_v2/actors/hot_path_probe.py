"""``HotPathProbe``: where the two halves of the hot-path latency meet, in any placement."""

from __future__ import annotations

from typing import final

from mycelium import Actor
from services_v2.latency.histogram import LatencyHistogram
from services_v2.latency.hot_path import HotPathPairing, HotPathReport, HotPathTiming, SwapsEntered

__all__ = ["HotPathProbe"]


@final
class HotPathProbe(Actor[HotPathTiming]):
    """Pairs :class:`SwapsEntered` with ``SignalsValidated`` into a latency histogram.

    See :mod:`services_v2.latency.hot_path`. ``histogram`` can be read while the run goes
    (the progress line does); memory stays flat.
    """

    __slots__ = ("pairing",)

    def __init__(self) -> None:
        self.pairing = HotPathPairing()

    @property
    def histogram(self) -> LatencyHistogram:
        """The samples so far."""
        return self.pairing.histogram

    async def handle(self, msg: HotPathTiming) -> None:
        if type(msg) is SwapsEntered:
            self.pairing.add_swaps(msg.entered_ns, msg.counts, msg.events)
        else:
            self.pairing.add_validations(msg.validated_ns, msg.events)

    def report(self) -> HotPathReport:
        """The histogram and what could not be paired."""
        return self.pairing.report()
