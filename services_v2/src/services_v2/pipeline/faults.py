"""The oracle of a run with injected faults: the sequential reference minus exactly the
messages the same :class:`~services_v2.domain.faults.FaultPlan` fails.

The draws are made in the order the actors make them: one market draw per event (a failed
event never reaches the processor), then one signal draw per signal the processor found (a
failed signal never reaches the validator), so the oracle's signals, plans and counters are
those every fault-free part of the faulty run must reproduce, to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from time import perf_counter
from typing import final

from mycelium_types.messages import MarketMessage, SignalMessage
from services_v2.domain.faults import MARKET_STREAM, SIGNAL_STREAM, FaultPlan
from services_v2.domain.validator import ExecutionPlan

from .config import PipelineConfig
from .result import PipelineResult

__all__ = ["FaultedReference", "faulted_reference"]


@final
@dataclass(frozen=True, slots=True)
class FaultedReference:
    """The oracle's result, and how many messages it removed (per actor)."""

    result: PipelineResult
    injected_market: int
    injected_signals: int


def faulted_reference(
    events: Iterable[MarketMessage], config: PipelineConfig, plan: FaultPlan
) -> FaultedReference:
    """Run ``events`` sequentially without the messages ``plan`` fails (see the module
    docstring); ``events`` is consumed once, lazily."""
    processor = config.new_processor()
    validator = config.new_validator()
    market_faults = plan.stream(MARKET_STREAM)
    signal_faults = plan.stream(SIGNAL_STREAM)
    signals: list[SignalMessage] = []
    plans: list[ExecutionPlan] = []
    started = perf_counter()
    for message in events:
        if market_faults.fails():
            continue
        for signal in processor.process(message):
            if signal_faults.fails():
                continue
            signals.append(signal)
            accepted = validator.validate(signal)
            if accepted is not None:
                plans.append(accepted)
    result = PipelineResult(
        mode="sequential",
        market=processor.counters(),
        validation=validator.counters(),
        signals=signals,
        plans=plans,
        elapsed_s=perf_counter() - started,
    )
    return FaultedReference(result, market_faults.injected, signal_faults.injected)
