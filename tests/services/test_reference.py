"""The sequential reference pipeline, the oracle (services_v2.layouts.sequential)."""

from __future__ import annotations

import pytest

from mycelium_types.messages import (
    ArbitrageSignal,
    MarketMessage,
    MomentumSignal,
    PoolSnapshot,
    PoolSwapEvent,
)
from services_v2.domain.pool import get_amount_out
from services_v2.domain.processor import MarketDataProcessor
from services_v2.domain.validator import SignalValidator, ValidatorConfig
from services_v2.layouts.config import PipelineConfig
from services_v2.layouts.sequential import run_reference
from services_v2.sim import simulate

POOL_A = bytes([0xA] * 20)
POOL_B = bytes([0xB] * 20)


def test_the_same_events_give_the_same_outcome() -> None:
    events = simulate(8_000, seed=11)
    first, second = run_reference(events), run_reference(events)
    assert first.outcome() == second.outcome()
    assert first.mode == "sequential"
    assert first.events == 8_000


def test_the_outcome_is_the_domain_objects_called_in_order() -> None:
    events = simulate(4_000, seed=12)
    processor, validator = MarketDataProcessor(), SignalValidator()
    signals = [signal for event in events for signal in processor.process(event)]
    plans = [plan for signal in signals if (plan := validator.validate(signal)) is not None]
    result = run_reference(events)
    assert result.signals == signals
    assert result.plans == plans
    assert result.market == processor.counters()
    assert result.validation == validator.counters()


def test_counters_signals_and_plans_agree() -> None:
    result = run_reference(simulate(10_000, seed=13))
    validation = result.validation
    arbitrage = [s for s in result.signals if isinstance(s, ArbitrageSignal)]
    momentum = [s for s in result.signals if isinstance(s, MomentumSignal)]
    assert len(arbitrage) == validation.arbitrage_received == result.market.arbitrage_signals
    assert len(momentum) == validation.momentum_received == result.market.momentum_signals
    assert len(result.plans) == validation.arbitrage_accepted > 0
    detected = len(result.signals)
    accepted = validation.arbitrage_accepted + validation.momentum_accepted
    assert detected == accepted + sum(validation.rejected.values())
    superseded = {p.supersedes for p in result.plans if p.supersedes is not None}
    assert len(superseded) == validation.superseded > 0
    assert validation.expected_profit_usd == sum(
        (p.expected_profit_usd for n, p in enumerate(result.plans) if n not in superseded), 0.0
    )


def test_one_latency_sample_per_swap_that_revealed_arbitrage() -> None:
    events = simulate(5_000, seed=14)
    processor = MarketDataProcessor()
    revealing = sum(
        1 for event in events if processor.process(event) and isinstance(event, PoolSwapEvent)
    )
    result = run_reference(events)
    assert result.latency.count == revealing > 0
    assert result.latency.min > 0
    assert result.elapsed_s > 0


def test_progress_climbs_to_the_event_count() -> None:
    events = simulate(1_234, seed=15)
    seen: list[int] = []
    run_reference(events, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == 1_234
    assert len(seen) <= 200


def test_the_config_reaches_the_validator_and_the_detector() -> None:
    events = simulate(5_000, seed=16)
    strict = PipelineConfig(validator=ValidatorConfig(min_profit_usd=1e12))
    result = run_reference(events, strict)
    assert result.plans == []
    # The detector signals only what the validator would keep (see MarketDataProcessor).
    assert not any(isinstance(signal, ArbitrageSignal) for signal in result.signals)
    assert result.market.arbitrage_below_min_profit > 0
    assert result.validation.rejected["below_min_profit"] == 0


def test_an_empty_stream_is_an_empty_result() -> None:
    result = run_reference([])
    assert (result.events, result.signals, result.plans, result.latency.count) == (0, [], [], 0)


def test_a_two_pool_market_gives_one_plan_per_revealing_swap() -> None:
    events: list[MarketMessage] = [
        PoolSnapshot(POOL_A, "WETH", "USDC", 30, 10**12, 2 * 10**12, 1e-6, 1),
        PoolSnapshot(POOL_B, "WETH", "USDC", 30, 10**12, 21 * 10**11, 1e-6, 1),
        PoolSwapEvent(POOL_A, 10**9, 1_000_000, 2_000_000_000),
        PoolSwapEvent(POOL_A, 10**9, 1_000_000, 4_000_000_000),
    ]
    result = run_reference(events)
    assert [plan.buy_pool for plan in result.plans] == [POOL_A, POOL_A]
    assert [plan.timestamp_ns for plan in result.plans] == [2_000_000_000, 4_000_000_000]


# Two WETH/USDC pools at one price; each swap below would, if applied, open a gap of ~10 %.
RESERVES = (10**12, 2 * 10**12)
BIG_IN = 50 * 10**9  # 50 WETH into pool A
HONEST_OUT = get_amount_out(BIG_IN, *RESERVES, 30)
REFUSED_SWAPS = [
    pytest.param(
        PoolSwapEvent(bytes([9] * 20), BIG_IN, HONEST_OUT, 5), "unknown_pool", id="unknown"
    ),
    pytest.param(PoolSwapEvent(POOL_A, BIG_IN, HONEST_OUT, 0), "before_snapshot", id="older"),
    pytest.param(PoolSwapEvent(POOL_A, BIG_IN, 2 * 10**12, 5), "reserve_exhausted", id="emptied"),
    pytest.param(PoolSwapEvent(POOL_A, 1, HONEST_OUT, 5), "invariant_broken", id="1-unit-in"),
    pytest.param(PoolSwapEvent(POOL_A, BIG_IN, 0, 5), "unfillable", id="donation"),
    pytest.param(PoolSwapEvent(POOL_A, BIG_IN, HONEST_OUT + 10**8, 5), "unfillable", id="no-fee"),
]


@pytest.mark.parametrize(("swap", "reason"), REFUSED_SWAPS)
def test_no_plan_comes_from_a_refused_swap(swap: PoolSwapEvent, reason: str) -> None:
    snapshots: list[MarketMessage] = [
        PoolSnapshot(POOL_A, "WETH", "USDC", 30, *RESERVES, 1e-6, 1),
        PoolSnapshot(POOL_B, "WETH", "USDC", 30, *RESERVES, 1e-6, 1),
    ]
    result = run_reference([*snapshots, swap])
    assert (result.signals, result.plans) == ([], [])
    assert result.market.swaps_rejected[reason] == 1
    assert sum(result.market.swaps_rejected.values()) == 1
    assert result.market.swaps_applied == 0
    # The honest swap in its place does reveal a plan: the refusal is what stopped it.
    honest = PoolSwapEvent(POOL_A, BIG_IN, HONEST_OUT, 5)
    assert len(run_reference([*snapshots, honest]).plans) == 1
