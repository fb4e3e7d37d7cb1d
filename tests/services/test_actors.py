"""The service actors in the monolith against the sequential oracle, and on their own."""

from __future__ import annotations

import pytest
from shipped import shipped_layout

from mycelium import ActorSystem, MessageTypeError
from mycelium_types.messages import (
    ArbitrageSignal,
    MarketMessage,
    PoolSnapshot,
    PoolSwapEvent,
    QuoteUpdate,
)
from services_v2.actors import HotPathProbe, MarketDataActor, SignalGeneratorActor
from services_v2.latency.histogram import LatencyHistogram
from services_v2.latency.hot_path import SignalsValidated, SwapsEntered
from services_v2.layouts.bundle import run_bundle, run_bundle_async
from services_v2.layouts.config import PipelineConfig
from services_v2.layouts.sequential import run_reference

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


def test_the_monolith_matches_the_reference_on_a_two_pool_market() -> None:
    events = _two_pool_events(50)
    expected = run_reference(events)
    got = run_bundle(shipped_layout("monolith"), events)
    assert got.mode == "monolith"
    assert got.outcome() == expected.outcome()
    assert any(isinstance(signal, ArbitrageSignal) for signal in got.signals)
    assert got.latency.count == expected.latency.count > 0
    assert got.latency.min > 0


def test_a_run_reports_progress_up_to_the_event_count() -> None:
    events = _two_pool_events(1_500)
    seen: list[int] = []
    histograms: list[LatencyHistogram | None] = []

    def progress(done: int, latency: LatencyHistogram | None) -> None:
        seen.append(done)
        histograms.append(latency)

    run_bundle(shipped_layout("monolith", record=False), events, progress=progress)
    assert seen == sorted(seen)
    assert seen[-1] == len(events)
    assert len(seen) > 1
    assert all(isinstance(histogram, LatencyHistogram) for histogram in histograms)


async def test_the_probe_pairs_swaps_with_their_last_validation() -> None:
    async with ActorSystem() as system:
        probe = HotPathProbe()
        ref = await system.spawn(probe)
        await ref.send(SignalsValidated([110, 120], [4, 4]))  # may come first: nothing to pair
        await ref.send(SwapsEntered([100, 200], [2, 1], [4, 9]))
        await ref.send(SignalsValidated([250], [9]))
        await system.stop(ref)
    report = probe.report()
    assert LatencyHistogram.from_counts(report.latency).counts().buckets == [(20, 1), (50, 1)]
    assert (report.swaps_unpaired, report.validations_unpaired) == (0, 0)


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
        actor = SignalGeneratorActor(config.new_validator(), record=True)
        ref = await system.spawn(actor)
        signal = ArbitrageSignal(7, 1_000.0, (POOL_A, POOL_B), 10, amount_in=10**9)
        plan = await ref.ask(signal)
        assert plan is not None
        assert actor.plans == [plan]
        assert await ref.ask(signal) is None  # the same opportunity twice is a duplicate
        assert actor.validator.counters().rejected["duplicate"] == 1


async def test_a_bundle_can_run_inside_an_existing_loop() -> None:
    events = _two_pool_events(5)
    result = await run_bundle_async(shipped_layout("monolith"), events)
    assert result.outcome() == run_reference(events).outcome()
