"""The bundled monolith: both service actors in one ``ActorSystem`` on one event loop."""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter

import uvloop

from mycelium import ActorSystem
from mycelium_types.messages import ArbitrageSignal, MarketMessage, SignalMessage
from services_v2.pipeline.config import PipelineConfig
from services_v2.pipeline.result import PipelineResult, ProgressCallback

from .market_data_actor import MarketDataActor
from .signal_generator_actor import SignalGeneratorActor

__all__ = ["hot_path_latencies", "run_actor_pipeline", "run_actor_pipeline_async"]

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
    total = len(events)
    step = max(1, -(-total // _PROGRESS_STEPS))
    async with ActorSystem("bundle") as system:
        signal_actor = SignalGeneratorActor(config.new_validator())
        signal_ref = await system.spawn(
            signal_actor, name="signal-generator", capacity=MAILBOX_CAPACITY
        )
        market_actor = MarketDataActor(config.new_processor(), signal_ref)
        market_ref = await system.spawn(market_actor, name="market-data", capacity=MAILBOX_CAPACITY)
        send = market_ref.send
        started = perf_counter()
        for start in range(0, total, step):
            for event in events[start : start + step]:
                await send(event)
            if progress is not None:
                progress(min(start + step, total))
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
            market_actor.swap_entered_ns, market_actor.swap_signal_counts, signal_actor
        ),
        elapsed_s=elapsed,
    )


def hot_path_latencies(
    entered_ns: Sequence[int], signal_counts: Sequence[int], signal_actor: SignalGeneratorActor
) -> list[int]:
    """For each swap that revealed signals: its last signal's validation time minus its entry.

    Signals reach the signal actor in the order they were found, so the i-th swap's signals are
    the next ``signal_counts[i]`` entries of ``validated_ns`` after those of earlier messages.
    Momentum signals (from quotes) are interleaved; they are skipped by position.
    """
    validated = signal_actor.validated_ns
    from_swap = _swap_signal_positions(signal_actor.signals, signal_counts)
    return [validated[last] - entered for entered, last in zip(entered_ns, from_swap, strict=True)]


def _swap_signal_positions(signals: Sequence[SignalMessage], counts: Sequence[int]) -> list[int]:
    """Index, in the signal actor's order, of the last signal of each signal-revealing swap."""
    positions: list[int] = []
    index = 0
    for count in counts:
        seen = 0
        while seen < count:
            if type(signals[index]) is ArbitrageSignal:
                seen += 1
            index += 1
        positions.append(index - 1)
    return positions
