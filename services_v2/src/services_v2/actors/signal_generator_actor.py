"""``SignalGeneratorActor``: the signal-generator service as an actor (seed task MVP-010)."""

from __future__ import annotations

from time import perf_counter_ns
from typing import final

import msgspec

from mycelium import Actor, ActorRef
from mycelium_types.messages import ArbitrageSignal, SignalMessage
from services_v2.domain.validator import ExecutionPlan, SignalValidator, ValidationCounters
from services_v2.latency.hot_path import (
    PROBE_BATCH,
    PROBE_FLUSH_NS,
    HotPathTiming,
    SignalsValidated,
)
from services_v2.plans_file import PlansWriter

from ._timings import send_timings

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
    injected: int = 0
    """Signals made to fail by ``--faults`` (see ``services_v2.actors.faults``)."""
    restarts: int = 0
    """Times the actor was restarted after such a failure."""


class SignalGeneratorActor(Actor[SignalMessage]):
    """Validates each signal with its ``SignalValidator`` and prepares execution plans.

    The counters are exact and take no memory per signal. With ``record=True`` it also keeps
    every signal received and every plan in ``signals`` and ``plans`` (what the oracle tests
    compare; memory then grows with the run). With ``plans_file``, every accepted plan is
    written there as it comes (the plans file of ``mycelium-bundle --plans``), from whichever
    process the actor runs in; the file is complete once the actor has stopped.

    Hot-path probe (when ``probe`` is given): when each arbitrage signal finished validation
    (perf_counter_ns), sent to ``probe`` as :class:`SignalsValidated` every
    :data:`~services_v2.latency.hot_path.PROBE_BATCH` signals or ``PROBE_FLUSH_NS``,
    and when the actor stops.
    """

    __slots__ = (
        "_append",
        "_validated",
        "_validated_events",
        "_writer",
        "plans",
        "plans_file",
        "probe",
        "record",
        "signals",
        "validate",
        "validator",
    )

    def __init__(
        self,
        validator: SignalValidator,
        probe: ActorRef[HotPathTiming] | None = None,
        *,
        record: bool = False,
        plans_file: str | None = None,
        append: bool = False,
    ) -> None:
        self.validator = validator
        self.validate = validator.validate
        self.probe = probe
        self.record = record
        self.signals: list[SignalMessage] = []
        self.plans: list[ExecutionPlan] = []
        self._validated: list[int] = []
        self._validated_events: list[int] = []  # the event of each signal in _validated
        self.plans_file = plans_file
        self._append = append
        self._writer: PlansWriter | None = None

    async def on_start(self) -> None:
        if self.plans_file is not None:
            self._writer = PlansWriter(self.plans_file, append=self._append)

    async def handle(self, msg: SignalMessage) -> ExecutionPlan | None:
        plan = self.validate(msg)
        if plan is not None and self._writer is not None:
            self._writer.write(plan)
        if self.record:
            self.signals.append(msg)
            if plan is not None:
                self.plans.append(plan)
        if type(msg) is ArbitrageSignal and self.probe is not None:
            validated = self._validated
            now = perf_counter_ns()
            validated.append(now)
            self._validated_events.append(msg.event)
            if len(validated) >= PROBE_BATCH or now - validated[0] >= PROBE_FLUSH_NS:
                await self._flush()
        return plan

    async def _flush(self) -> None:
        """Hand the timings not yet sent to the probe (see :func:`send_timings`)."""
        probe = self.probe
        if probe is not None and self._validated:
            batch = SignalsValidated(self._validated, self._validated_events)
            self._validated, self._validated_events = [], []
            await send_timings(probe, batch)

    async def on_stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        await self._flush()

    def report(self) -> SignalSideReport:
        """The counters, and the signals and plans if recorded."""
        return SignalSideReport(self.validator.counters(), self.signals, self.plans)
