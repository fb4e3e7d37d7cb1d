"""The bundled monolith: both service actors in one ``ActorSystem`` on one event loop."""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter

import uvloop

from mycelium import ActorRef, ActorSystem
from mycelium_types.messages import MarketMessage
from services_v2.pipeline.config import PipelineConfig
from services_v2.pipeline.hot_path import hot_path_latencies
from services_v2.pipeline.result import PipelineResult, ProgressCallback

from .market_data_actor import MarketDataActor
from .signal_generator_actor import SignalGeneratorActor

__all__ = ["feed_events", "run_actor_pipeline", "run_actor_pipeline_async"]

_PROGRESS_STEPS = 200
MAILBOX_CAPACITY = 4096


def run_actor_pipeline(
    events: Sequence[MarketMessage],
    config: PipelineConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> PipelineResult:
    """Run ``events`` through the two actors on a fresh uvloop event loop; see the async form."""
    return uvloop.run(run_actor_pipeline_async(events, config, progress=progress))


async def run_actor_pipeline_async(
    events: Sequence[MarketMessage],
    config: PipelineConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> PipelineResult:
    """Feed ``events`` to a ``MarketDataActor`` wired to a ``SignalGeneratorActor``.

    Events are sent with ``await send`` (backpressure, nothing dropped). The run ends with a
    graceful stop of the market actor, then of the signal actor, so every event and every
    signal has been handled when this returns. The result's ``outcome()`` equals the
    sequential reference's for the same events and config.
    """
    config = config if config is not None else PipelineConfig()
    async with ActorSystem("bundle") as system:
        signal_actor = SignalGeneratorActor(config.new_validator())
        signal_ref = await system.spawn(
            signal_actor, name="signal-generator", capacity=MAILBOX_CAPACITY
        )
        market_actor = MarketDataActor(config.new_processor(), signal_ref)
        market_ref = await system.spawn(market_actor, name="market-data", capacity=MAILBOX_CAPACITY)
        started = perf_counter()
        await feed_events(market_ref, events, progress)
        await system.stop(market_ref)
        await system.stop(signal_ref)
        elapsed = perf_counter() - started
    return PipelineResult(
        mode="actors",
        market=market_actor.processor.counters(),
        validation=signal_actor.validator.counters(),
        signals=signal_actor.signals,
        plans=signal_actor.plans,
        latencies_ns=hot_path_latencies(
            market_actor.swap_entered_ns,
            market_actor.swap_signal_counts,
            signal_actor.signals,
            signal_actor.validated_ns,
        ),
        elapsed_s=elapsed,
    )


async def feed_events(
    market_ref: ActorRef[MarketMessage],
    events: Sequence[MarketMessage],
    progress: ProgressCallback | None,
) -> None:
    """Send ``events`` in order with ``await send`` (backpressure); report progress ~200 times."""
    total = len(events)
    step = max(1, -(-total // _PROGRESS_STEPS))
    send = market_ref.send
    for start in range(0, total, step):
        for event in events[start : start + step]:
            await send(event)
        if progress is not None:
            progress(min(start + step, total))
