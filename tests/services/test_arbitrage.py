"""Closed-form two-pool arbitrage and the detector (services_v2.domain.arbitrage)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mycelium_types.messages import ArbitrageSignal, PoolSnapshot, PoolSwapEvent
from services_v2.domain.arbitrage import (
    ArbitrageDetector,
    continuous_max_profit,
    opportunity_id,
    optimal_amount_in,
    round_trip_profit,
)
from services_v2.domain.market_state import MarketState

POOL_A = bytes([0xA] * 20)
POOL_B = bytes([0xB] * 20)
POOL_C = bytes([0xC] * 20)
USDC = 1e-6  # USD per smallest unit of USDC (6 decimals)
WETH = 10**9  # smallest units (gwei) per WETH in these tests

# The hand-computed scenario: two WETH/USDC pools with a 30 bps fee each.
#   A: 1,000 WETH and 2,000,000 USDC (2,000 USDC/WETH) -> buy WETH here
#   B: 1,000 WETH and 2,100,000 USDC (2,100 USDC/WETH) -> sell it here
# In smallest units: a0 = b0 = 1e12, a1 = 2e12, b1 = 2.1e12; gA = gB = 0.997.
#   E = gA*gB*a0*b1 = 0.994009 * 1e12 * 2.1e12 = 2.0874189e24
#   F = a1*b0 = 2e24
#   G = gA*(b0 + gB*a0) = 0.997 * 1.997e12 = 1.991009e12
#   sqrt(E*F) = sqrt(4.1748378e48) = 2.0432419827323e24
#   dx* = (sqrt(E*F) - F) / G = 4.32419827323e22 / 1.991009e12 = 21,718,627,455.9 units
#       = 21,718.63 USDC in
#   P* = (sqrt(E) - sqrt(F))^2 / G = (1.4447902616e12 - 1.4142135624e12)^2 / 1.991009e12
#      = (3.05766992e10)^2 / 1.991009e12 = 469,578,256.7 units = 469.58 USD
# With integer getAmountOut on both legs at dx = 21,718,627,455:
#   leg 1: 9970*dx*a0 // (a1*10000 + 9970*dx) = 10,710,773,076 gwei (10.71 WETH)
#   leg 2: 9970*y*b1 // (b0*10000 + 9970*y) = 22,188,205,711 units (22,188.21 USDC)
#   profit = 22,188,205,711 - 21,718,627,455 = 469,578,256 units = $469.58
SCENARIO = {
    "a0": 1_000 * WETH,
    "a1": 2_000_000 * 10**6,
    "b0": 1_000 * WETH,
    "b1": 2_100_000 * 10**6,
}
FEES = {"fee_a_bps": 30, "fee_b_bps": 30}


def _market(*pools: tuple[bytes, int, int, int]) -> MarketState:
    state = MarketState()
    for address, reserve0, reserve1, fee_bps in pools:
        state.apply_snapshot(
            PoolSnapshot(address, "WETH", "USDC", fee_bps, reserve0, reserve1, USDC, 1)
        )
    return state


def test_optimal_size_and_profit_match_the_hand_computation() -> None:
    amount_in = optimal_amount_in(**SCENARIO, **FEES)
    assert amount_in == 21_718_627_455
    assert round_trip_profit(amount_in, **SCENARIO, **FEES) == 469_578_256
    assert continuous_max_profit(**SCENARIO, **FEES) == pytest.approx(469_578_256.709, rel=1e-9)


@pytest.mark.parametrize("factor", [0.99, 1.01, 0.5, 2.0])
def test_trading_another_size_earns_less(factor: float) -> None:
    best = optimal_amount_in(**SCENARIO, **FEES)
    other = int(best * factor)
    assert round_trip_profit(other, **SCENARIO, **FEES) < round_trip_profit(
        best, **SCENARIO, **FEES
    )


def test_the_detector_signals_the_scenario_to_the_cent_in_trade_order() -> None:
    state = _market((POOL_A, 1_000 * WETH, 2_000_000 * 10**6, 30), (POOL_B, 10**12, 10**12, 30))
    # Pool B moves to the scenario's reserves through one swap of 1.1e12 USDC units in.
    state.apply_swap(PoolSwapEvent(POOL_B, 0, -1_100_000 * 10**6, 77))
    signals = ArbitrageDetector().detect(state.pools[POOL_B], 77)
    assert signals == [
        ArbitrageSignal(
            opportunity_id=opportunity_id(POOL_A, POOL_B, 77),
            profit_usd=469_578_256 * USDC,
            pools=(POOL_A, POOL_B),
            timestamp_ns=77,
            amount_in=21_718_627_455,
        )
    ]
    assert signals[0].profit_usd == pytest.approx(469.58, abs=0.005)


def test_the_cheaper_pool_is_always_bought_whichever_pool_moved() -> None:
    state = _market((POOL_A, 10**12, 2 * 10**12, 30), (POOL_B, 10**12, 21 * 10**11, 30))
    detector = ArbitrageDetector()
    from_a = detector.detect(state.pools[POOL_A], 5)
    from_b = detector.detect(state.pools[POOL_B], 5)
    assert [s.pools for s in from_a] == [(POOL_A, POOL_B)]
    assert from_a == from_b
    assert (detector.comparisons, detector.gaps, detector.signals) == (2, 2, 2)


def test_a_gap_inside_the_fees_is_no_opportunity() -> None:
    # 2000 vs 2010: a 50 bps gap is less than 30 + 30 bps of fees.
    state = _market((POOL_A, 10**12, 2 * 10**12, 30), (POOL_B, 10**12, 2_010 * 10**9, 30))
    detector = ArbitrageDetector()
    assert list(detector.detect(state.pools[POOL_A], 5)) == []
    assert (detector.comparisons, detector.gaps) == (1, 0)
    assert (
        optimal_amount_in(
            a0=10**12, a1=2 * 10**12, fee_a_bps=30, b0=10**12, b1=2_010 * 10**9, fee_b_bps=30
        )
        == 0
    )


def test_the_same_gap_clears_low_fees() -> None:
    state = _market((POOL_A, 10**12, 2 * 10**12, 5), (POOL_B, 10**12, 2_010 * 10**9, 5))
    [signal] = ArbitrageDetector().detect(state.pools[POOL_A], 5)
    assert signal.pools == (POOL_A, POOL_B)
    assert signal.profit_usd > 0


def test_a_lone_pool_or_an_untraded_sibling_pair_compares_nothing() -> None:
    state = _market((POOL_A, 10**12, 2 * 10**12, 30))
    detector = ArbitrageDetector()
    assert list(detector.detect(state.pools[POOL_A], 5)) == []
    assert detector.comparisons == 0


def test_every_sibling_is_compared_in_announcement_order() -> None:
    state = _market(
        (POOL_A, 10**12, 2 * 10**12, 30),
        (POOL_B, 10**12, 21 * 10**11, 30),
        (POOL_C, 10**12, 19 * 10**11, 30),
    )
    signals = ArbitrageDetector().detect(state.pools[POOL_A], 9)
    assert [s.pools for s in signals] == [(POOL_A, POOL_B), (POOL_C, POOL_A)]
    assert [s.opportunity_id for s in signals] == [
        opportunity_id(POOL_A, POOL_B, 9),
        opportunity_id(POOL_C, POOL_A, 9),
    ]


def test_a_gap_too_small_for_integer_amounts_is_counted_as_a_rounding_loss() -> None:
    # Tiny reserves: the price gap is huge but no integer trade makes a profit.
    state = _market((POOL_A, 3, 2, 30), (POOL_B, 2, 3, 30))
    detector = ArbitrageDetector()
    assert list(detector.detect(state.pools[POOL_A], 1)) == []
    assert (detector.gaps, detector.signals, detector.rounding_losses) == (1, 0, 1)


def test_opportunity_ids_are_stable_across_processes_and_runs() -> None:
    # A salted hash() would change from one interpreter to the next; BLAKE2b does not.
    assert opportunity_id(POOL_A, POOL_B, 123) == 1_284_185_283_377_138_783
    assert opportunity_id(POOL_B, POOL_A, 123) != opportunity_id(POOL_A, POOL_B, 123)
    assert opportunity_id(POOL_A, POOL_B, 124) != opportunity_id(POOL_A, POOL_B, 123)
    assert 0 <= opportunity_id(POOL_C, POOL_A, 2**64 - 1) < 2**64
    # For one pool pair the id is a bijection of the timestamp: no two blocks collide.
    assert len({opportunity_id(POOL_A, POOL_B, t) for t in range(0, 10**13, 10**9)}) == 10**4


reserve = st.integers(min_value=10**9, max_value=10**15)
fee = st.sampled_from([5, 30, 100])
two_pools = st.fixed_dictionaries(
    {"a0": reserve, "a1": reserve, "fee_a_bps": fee, "b0": reserve, "b1": reserve, "fee_b_bps": fee}
)


@given(two_pools)
def test_the_integer_trade_realises_the_continuous_optimum_up_to_rounding(
    pools: dict[str, int],
) -> None:
    amount_in = optimal_amount_in(**pools)
    best = continuous_max_profit(**pools)
    if amount_in == 0:
        assert best < 1.0
        return
    realised = round_trip_profit(amount_in, **pools)
    # Flooring loses at most one token0 unit (worth b1/b0) and one token1 unit per leg.
    assert best - (pools["b1"] / pools["b0"] + 2) <= realised <= best * (1 + 1e-9) + 1


@given(two_pools, st.sampled_from([0.9, 0.97, 1.03, 1.1]))
def test_no_nearby_size_beats_the_optimum_by_more_than_rounding(
    pools: dict[str, int], factor: float
) -> None:
    amount_in = optimal_amount_in(**pools)
    assume(amount_in > 0)
    best = round_trip_profit(amount_in, **pools)
    slack = pools["b1"] / pools["b0"] + 2
    assert round_trip_profit(int(amount_in * factor), **pools) <= best + slack
