"""``SignalGeneratorActor``: the signal-generator service as an actor (seed task MVP-010)."""

from __future__ import annotations

from time import perf_counter_ns
from typing import final

from mycelium import Actor
from mycelium_types.messages import SignalMessage
from services_v2.domain.validator import ExecutionPlan, SignalValidator

__all__ = ["SignalGeneratorActor"]


@final
class SignalGeneratorActor(Actor[SignalMessage]):
    """Validates each signal with its ``SignalValidator`` and keeps the execution plans.

    ``signals`` and ``plans`` keep everything received and accepted, in order (what the oracle
    test compares); ``validated_ns[i]`` is when the i-th signal finished validation.
    """

    __slots__ = ("plans", "signals", "validate", "validated_ns", "validator")

    def __init__(self, validator: SignalValidator) -> None:
        self.validator = validator
        self.validate = validator.validate
        self.signals: list[SignalMessage] = []
        self.plans: list[ExecutionPlan] = []
        self.validated_ns: list[int] = []

    async def handle(self, msg: SignalMessage) -> ExecutionPlan | None:
        self.signals.append(msg)
        plan = self.validate(msg)
        if plan is not None:
            self.plans.append(plan)
        self.validated_ns.append(perf_counter_ns())
        return plan
