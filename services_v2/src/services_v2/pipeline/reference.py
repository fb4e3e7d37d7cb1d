"""The reference pipeline: both services' domain objects called in a plain loop (the oracle).

No actors, no event loop, no concurrency: each message goes through the market-data
processor, and each signal it reveals goes straight to the validator, in order. Any other
deployment must produce the same :meth:`PipelineResult.outcome` for the same events and
config.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter, perf_counter_ns

from mycelium_types.messages import MarketMessage, PoolSwapEvent, SignalMessage
from services_v2.domain.validator import ExecutionPlan

from .config import PipelineConfig
from .histogram import LatencyHistogram
from .result import PipelineResult, ProgressCallback

__all__ = ["run_reference"]

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
