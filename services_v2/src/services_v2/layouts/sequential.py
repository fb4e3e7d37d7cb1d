"""The sequential layout: both services' domain objects called in a plain loop, the oracle.

No actors, no event loop, no concurrency: each message goes through the market-data
processor, and each signal it reveals goes straight to the validator, in order. Any other
layout must produce the same :meth:`PipelineResult.outcome` for the same events and config.
:func:`run_reference` is also the floor of the hot-path figures (``mycelium-bench``).

:func:`faulted_reference` is the oracle of a run with injected faults: the same loop minus
exactly the messages the same :class:`~services_v2.domain.faults.FaultPlan` fails. The draws
are made in the order the actors make them: one market draw per event (a failed event never
reaches the processor), then one signal draw per signal the processor found (a failed signal
never reaches the validator), so the oracle's signals, plans and counters are those every
fault-free part of the faulty run must reproduce, to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from time import perf_counter, perf_counter_ns
from typing import final

from mycelium_types.messages import MarketMessage, PoolSwapEvent, SignalMessage
from services_v2.domain.faults import MARKET_STREAM, SIGNAL_STREAM, FaultPlan
from services_v2.domain.validator import ExecutionPlan
from services_v2.latency.histogram import LatencyHistogram

from .config import PipelineConfig
from .result import PipelineResult, ProgressCallback

__all__ = ["FaultedReference", "faulted_reference", "run_reference"]

_PROGRESS_STEPS = 200


def run_reference(
    events: Sequence[MarketMessage],
    config: PipelineConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> PipelineResult:
    """Run ``events`` through the market-data processor then the validator, sequentially.

    ``progress``, if given, is called about 200 times with the number of events handled (and
    once at the end with ``len(events)``). The result's ``mode`` is ``"sequential"``.

    Raises:
        TypeError: an event is not a MarketMessage member.
    """
    config = config if config is not None else PipelineConfig()
    processor = config.new_processor()
    validator = config.new_validator()
    process = processor.process
    validate = validator.validate
    signals: list[SignalMessage] = []
    plans: list[ExecutionPlan] = []
    histogram = LatencyHistogram()
    latencies: list[int] = []
    add_signal = signals.append
    add_plan = plans.append
    add_latency = latencies.append
    total = len(events)
    step = max(1, -(-total // _PROGRESS_STEPS)) if progress is not None else 1 << 16
    started = perf_counter()
    for start in range(0, total, step):
        for message in events[start : start + step]:
            entered = perf_counter_ns()
            found = process(message)
            if found:
                for signal in found:
                    add_signal(signal)
                    plan = validate(signal)
                    if plan is not None:
                        add_plan(plan)
                if type(message) is PoolSwapEvent:
                    add_latency(perf_counter_ns() - entered)
        histogram.record_many(latencies)
        latencies.clear()
        if progress is not None:
            progress(min(start + step, total))
    elapsed = perf_counter() - started
    return PipelineResult(
        mode="sequential",
        market=processor.counters(),
        validation=validator.counters(),
        signals=signals,
        plans=plans,
        latency=histogram,
        elapsed_s=elapsed,
    )


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
