"""``SignalGeneratorActor``: the signal-generator service as an actor (seed task MVP-010)."""

from __future__ import annotations

from time import perf_counter_ns
from typing import final

import msgspec

from mycelium import Actor, ActorRef, MailboxFull
from mycelium_types.messages import ArbitrageSignal, SignalMessage
from services_v2.domain.validator import ExecutionPlan, SignalValidator, ValidationCounters
from services_v2.pipeline.hot_path import HotPathTiming, SignalsValidated

from .market_data_actor import PROBE_BATCH

__all__ = ["SignalGeneratorActor", "SignalSideReport"]


@final
class SignalSideReport(msgspec.Struct, frozen=True):
    """What the signal generator did (the bundle's report of this actor).

    Attributes:
        validation: the validator's counters (exact, whatever the length of the run).
        signals: every signal received, in order, if the actor was asked to ``record``.
        plans: every execution plan, in order, if it was asked to ``record``.
    """

    validation: ValidationCounters
    signals: list[SignalMessage] = []
    plans: list[ExecutionPlan] = []


@final
class SignalGeneratorActor(Actor[SignalMessage]):
    """Validates each signal with its ``SignalValidator`` and prepares execution plans.

    The counters are exact and take no memory per signal. With ``record=True`` it also keeps
    every signal received and every plan in ``signals`` and ``plans`` (what the oracle tests
    compare; memory then grows with the run).

    Hot-path probe (when ``probe`` is given): when each arbitrage signal finished validation
    (perf_counter_ns), sent to ``probe`` as :class:`SignalsValidated` every
    :data:`~services_v2.actors.market_data_actor.PROBE_BATCH` signals and when the actor stops.
    """

    __slots__ = ("_validated", "plans", "probe", "record", "signals", "validate", "validator")

    def __init__(
        self,
        validator: SignalValidator,
        probe: ActorRef[HotPathTiming] | None = None,
        *,
        record: bool = False,
    ) -> None:
        self.validator = validator
        self.validate = validator.validate
        self.probe = probe
        self.record = record
        self.signals: list[SignalMessage] = []
        self.plans: list[ExecutionPlan] = []
        self._validated: list[int] = []

    async def handle(self, msg: SignalMessage) -> ExecutionPlan | None:
        plan = self.validate(msg)
        if self.record:
            self.signals.append(msg)
            if plan is not None:
                self.plans.append(plan)
        if type(msg) is ArbitrageSignal and self.probe is not None:
            validated = self._validated
            validated.append(perf_counter_ns())
            if len(validated) >= PROBE_BATCH:
                await self._flush()
        return plan

    async def _flush(self) -> None:
        """Hand the timings to the probe: without waiting when it has room (the hot path must
        not suspend for the probe), else with ``await send`` (nothing is dropped)."""
        probe = self.probe
        if probe is not None and self._validated:
            batch = SignalsValidated(self._validated)
            self._validated = []
            try:
                probe.try_send(batch)
            except MailboxFull:
                await probe.send(batch)

    async def on_stop(self) -> None:
        await self._flush()

    def report(self) -> SignalSideReport:
        """The counters, and the signals and plans if recorded."""
        return SignalSideReport(self.validator.counters(), self.signals, self.plans)
