"""The actor pipeline against the sequential oracle, and the two service actors on their own."""

from __future__ import annotations

import pytest

from mycelium import ActorSystem, MessageTypeError
from mycelium_types.messages import (
    ArbitrageSignal,
    MarketMessage,
    PoolSnapshot,
    PoolSwapEvent,
    QuoteUpdate,
)
from services_v2.actors import MarketDataActor, SignalGeneratorActor, run_actor_pipeline
from services_v2.actors.pipeline import run_actor_pipeline_async
from services_v2.pipeline.config import PipelineConfig
from services_v2.pipeline.reference import run_reference

POOL_A = bytes([0xA] * 20)
POOL_B = bytes([0xB] * 20)
USDC = 1e-6  # USD per smallest unit of a 6-decimals stablecoin


def _two_pool_events(swaps: int) -> list[MarketMessage]:
    """Two WETH/USDC pools at 2000 and 2100 USDC, then swaps that keep moving pool A."""
    events: list[MarketMessage] = [
        PoolSnapshot(POOL_A, "WETH", "USDC", 30, 1_000 * 10**9, 2_000_000 * 10**6, USDC, 1),
        PoolSnapshot(POOL_B, "WETH", "USDC", 30, 1_000 * 10**9, 2_100_000 * 10**6, USDC, 2),
    ]
    for i in range(swaps):
        amount_in = (1 + i % 5) * 10**8
        # WETH in for 1,000 USDC per WETH out: less than the pool would pay, so fillable.
        events.append(PoolSwapEvent(POOL_A, amount_in, amount_in, 10 + i))
        events.append(QuoteUpdate("WETH/USDC", 2000.0 + i, 1.0, 2001.0 + i, 1.0, 10 + i))
    return events


def test_actor_pipeline_matches_the_reference_on_a_two_pool_market() -> None:
    events = _two_pool_events(50)
    expected = run_reference(events)
    got = run_actor_pipeline(events)
    assert got.mode == "actors"
    assert got.outcome() == expected.outcome()
    assert any(isinstance(signal, ArbitrageSignal) for signal in got.signals)
    assert len(got.latencies_ns) == len(expected.latencies_ns)
    assert all(latency > 0 for latency in got.latencies_ns)


def test_actor_pipeline_reports_progress_up_to_the_event_count() -> None:
    events = _two_pool_events(20)
    seen: list[int] = []
    run_actor_pipeline(events, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == len(events)


async def test_market_actor_refuses_a_signal_message_at_the_sender() -> None:
    config = PipelineConfig()
    async with ActorSystem() as system:
        signal_ref = await system.spawn(SignalGeneratorActor(config.new_validator()))
        market_ref = await system.spawn(MarketDataActor(config.new_processor(), signal_ref))
        wrong = ArbitrageSignal(1, 1.0, (POOL_A, POOL_B), 1)
        with pytest.raises(MessageTypeError, match="not ArbitrageSignal"):
            market_ref.try_send(wrong)  # type: ignore[arg-type]  # the point of the test
        assert market_ref.is_alive


async def test_signal_actor_answers_an_ask_with_the_execution_plan() -> None:
    config = PipelineConfig()
    async with ActorSystem() as system:
        actor = SignalGeneratorActor(config.new_validator())
        ref = await system.spawn(actor)
        signal = ArbitrageSignal(7, 1_000.0, (POOL_A, POOL_B), 10, amount_in=10**9)
        plan = await ref.ask(signal)
        assert plan is not None
        assert actor.plans == [plan]
        assert await ref.ask(signal) is None  # the same opportunity twice is a duplicate
        assert actor.validator.counters().rejected["duplicate"] == 1


async def test_pipeline_can_run_inside_an_existing_loop() -> None:
    events = _two_pool_events(5)
    result = await run_actor_pipeline_async(events)
    assert result.outcome() == run_reference(events).outcome()
