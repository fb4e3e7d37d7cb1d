"""The two services with injected faults (``mycelium-bundle --faults RATE``); thin actors.

* :class:`FaultyMarketData` fails the messages its :class:`FaultStream` draws, before they
  touch the market state; spawned with ``supervision = "resume"``, the same instance (market
  state intact) goes on with the next message.
* :class:`FaultySignalGenerator` fails likewise; spawned with a restart supervision, each
  failure replaces the instance. Its ``successor()`` hands on what must outlive an instance:
  the validator, the records, the fault stream, the plans file (reopened for appending) and
  the count of instances (so the report says how many restarts there were).

Each failed message is a dead letter with its reason (the runtime's accounting).
"""

from __future__ import annotations

from typing import final

from mycelium_types.messages import MarketMessage, SignalMessage
from services_v2.domain.faults import FaultStream, InjectedFault
from services_v2.domain.validator import ExecutionPlan

from .market_data_actor import MarketDataActor
from .signal_generator_actor import SignalGeneratorActor, SignalSideReport

__all__ = ["FaultyMarketData", "FaultySignalGenerator"]


@final
class FaultyMarketData(MarketDataActor):
    """A ``MarketDataActor`` failing on its fault stream's draws."""

    __slots__ = ("faults",)

    def attach(self, faults: FaultStream) -> FaultyMarketData:
        """Draw the faults from ``faults``; returns self."""
        self.faults = faults
        return self

    async def handle(self, msg: MarketMessage) -> None:
        if self.faults.fails():
            raise InjectedFault(f"injected fault on market message {self.faults.seen}")
        await super().handle(msg)


@final
class FaultySignalGenerator(SignalGeneratorActor):
    """A ``SignalGeneratorActor`` failing on its fault stream's draws, restarted by its
    supervision through :meth:`successor`."""

    __slots__ = ("faults", "instance")

    def attach(self, faults: FaultStream, instance: int = 1) -> FaultySignalGenerator:
        """Draw the faults from ``faults``; ``instance``: 1 for the first; returns self."""
        self.faults = faults
        self.instance = instance
        return self

    async def handle(self, msg: SignalMessage) -> ExecutionPlan | None:
        if self.faults.fails():
            raise InjectedFault(f"injected fault on signal {self.faults.seen}")
        return await super().handle(msg)

    def successor(self) -> FaultySignalGenerator:
        """The instance that replaces this one after a failure, with the same durable state."""
        fresh = FaultySignalGenerator(
            self.validator,
            self.probe,
            record=self.record,
            plans_file=self.plans_file,
            append=True,
        )
        fresh.signals, fresh.plans = self.signals, self.plans
        return fresh.attach(self.faults, self.instance + 1)

    def report(self) -> SignalSideReport:
        """As the plain actor's, with the faults injected and the restarts."""
        plain = super().report()
        return SignalSideReport(
            plain.validation,
            plain.signals,
            plain.plans,
            injected=self.faults.injected,
            restarts=self.instance - 1,
        )
