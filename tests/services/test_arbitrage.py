"""Closed-form two-pool arbitrage and the detector (services_v2.domain.arbitrage)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mycelium_types.messages import ArbitrageSignal, PoolSnapshot, QuoteUpdate
from services_v2.domain.arbitrage import (
    ArbitrageDetector,
    best_trade,
    continuous_max_profit,
    opportunity_id,
    optimal_amount_in,
    round_trip_profit,
)
from services_v2.domain.market_state import MarketState
from services_v2.domain.pool import get_amount_out

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


def _detector(state: MarketState, min_profit_usd: float = 0.0) -> ArbitrageDetector:
    return ArbitrageDetector(state.usd, min_profit_usd=min_profit_usd)


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
    # Pool B moves to the scenario's reserves (1,000 WETH, 2.1M USDC) through snapshots.
    state.apply_snapshot(
        PoolSnapshot(POOL_B, "WETH", "USDC", 30, 1_000 * WETH, 2_100_000 * 10**6, USDC, 2)
    )
    signals = _detector(state).detect(state.pools[POOL_B], 77, 12)
    assert signals == [
        ArbitrageSignal(
            opportunity_id=opportunity_id(POOL_A, POOL_B, 77),
            profit_usd=469_578_256 * USDC,
            pools=(POOL_A, POOL_B),
            timestamp_ns=77,
            amount_in=21_718_627_455,
            amount_mid=10_710_773_076,
            amount_out=22_188_205_711,
            token_in="USDC",
            event=12,
        )
    ]
    assert signals[0].profit_usd == pytest.approx(469.58, abs=0.005)


def test_the_cheaper_pool_is_always_bought_whichever_pool_moved() -> None:
    state = _market((POOL_A, 10**12, 2 * 10**12, 30), (POOL_B, 10**12, 21 * 10**11, 30))
    detector = _detector(state)
    from_a = detector.detect(state.pools[POOL_A], 5)
    from_b = detector.detect(state.pools[POOL_B], 5)
    assert [s.pools for s in from_a] == [(POOL_A, POOL_B)]
    assert from_a == from_b
    assert (detector.comparisons, detector.gaps, detector.signals) == (2, 2, 2)


def test_a_gap_inside_the_fees_is_no_opportunity() -> None:
    # 2000 vs 2010: a 50 bps gap is less than 30 + 30 bps of fees.
    state = _market((POOL_A, 10**12, 2 * 10**12, 30), (POOL_B, 10**12, 2_010 * 10**9, 30))
    detector = _detector(state)
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
    [signal] = _detector(state).detect(state.pools[POOL_A], 5)
    assert signal.pools == (POOL_A, POOL_B)
    assert signal.profit_usd > 0


def test_a_lone_pool_or_an_untraded_sibling_pair_compares_nothing() -> None:
    state = _market((POOL_A, 10**12, 2 * 10**12, 30))
    detector = _detector(state)
    assert list(detector.detect(state.pools[POOL_A], 5)) == []
    assert detector.comparisons == 0


def test_the_best_sibling_is_traded_first_and_the_next_on_the_reserves_it_leaves() -> None:
    state = _market(
        (POOL_A, 10**12, 2 * 10**12, 30),
        (POOL_B, 10**12, 21 * 10**11, 30),
        (POOL_C, 10**12, 19 * 10**11, 30),
    )
    signals = _detector(state).detect(state.pools[POOL_A], 9)
    # 1,900 -> 2,000 is the wider gap in relative terms: C -> A first, then A -> B.
    assert [s.pools for s in signals] == [(POOL_C, POOL_A), (POOL_A, POOL_B)]
    assert [s.opportunity_id for s in signals] == [
        opportunity_id(POOL_C, POOL_A, 9),
        opportunity_id(POOL_A, POOL_B, 9),
    ]
    # The second trade is sized on A as the first one leaves it, not on A alone.
    first, second = signals
    a0 = 10**12 + first.amount_mid
    a1 = 2 * 10**12 - first.amount_out
    assert (second.amount_in, second.amount_mid, second.amount_out) == best_trade(
        a0=a0, a1=a1, fee_a_bps=30, b0=10**12, b1=21 * 10**11, fee_b_bps=30
    )
    alone = best_trade(
        a0=10**12, a1=2 * 10**12, fee_a_bps=30, b0=10**12, b1=21 * 10**11, fee_b_bps=30
    )
    assert alone is not None
    assert second.amount_in != alone[0]


def test_a_gap_too_small_for_integer_amounts_is_counted_as_a_rounding_loss() -> None:
    # Tiny reserves: the price gap is huge but no integer trade makes a profit.
    state = _market((POOL_A, 3, 2, 30), (POOL_B, 2, 3, 30))
    detector = _detector(state)
    assert list(detector.detect(state.pools[POOL_A], 1)) == []
    assert (detector.gaps, detector.signals, detector.rounding_losses) == (1, 0, 1)


def test_opportunity_ids_are_stable_across_processes_and_runs() -> None:
    # A salted hash() would change from one interpreter to the next; BLAKE2b does not.
    assert opportunity_id(POOL_A, POOL_B, 123) == 1_284_185_283_377_138_783
    # One id for the two pools in one block, whichever way the trade goes.
    assert opportunity_id(POOL_B, POOL_A, 123) == opportunity_id(POOL_A, POOL_B, 123)
    assert opportunity_id(POOL_A, POOL_C, 123) != opportunity_id(POOL_A, POOL_B, 123)
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


def _profit(amount_in: int, pools: dict[str, int]) -> tuple[int, int]:
    """(mid, profit) of paying ``amount_in`` token1 into A and selling on B."""
    mid = get_amount_out(amount_in, pools["a1"], pools["a0"], pools["fee_a_bps"])
    return mid, get_amount_out(mid, pools["b0"], pools["b1"], pools["fee_b_bps"]) - amount_in


def _cheapest_input_for(mid: int, pools: dict[str, int]) -> int:
    """The smallest token1 input into A that buys at least ``mid`` token0 (by search)."""
    low, high = 1, pools["a1"] * 10**6
    while low < high:
        middle = (low + high) // 2
        got = get_amount_out(middle, pools["a1"], pools["a0"], pools["fee_a_bps"])
        low, high = (middle + 1, high) if got < mid else (low, middle)
    return low


@given(two_pools)
def test_the_chosen_input_is_an_integer_optimum_against_its_neighbours(
    pools: dict[str, int],
) -> None:
    trade = best_trade(**pools)
    if trade is None:
        return
    amount_in, amount_mid, amount_out = trade
    mid, profit = _profit(amount_in, pools)
    assert (mid, profit) == (amount_mid, amount_out - amount_in)
    assert profit > 0
    # One unit of input more or less does not do better ...
    assert _profit(amount_in + 1, pools)[1] <= profit
    assert _profit(amount_in - 1, pools)[1] <= profit
    # ... nor does the cheapest input for one unit of the middle token more or less; and no
    # smaller input buys the same amount of it.
    assert _cheapest_input_for(amount_mid, pools) == amount_in
    for other_mid in (amount_mid - 1, amount_mid + 1):
        assert _profit(_cheapest_input_for(other_mid, pools), pools)[1] <= profit


def test_a_coarse_middle_token_is_bought_at_its_cheapest_input() -> None:
    # WBTC (8 decimals) against USDC (6): one satoshi is worth ~600 units of USDC, so the
    # smooth optimum rounded down overpays for the satoshis it buys.
    pools = {
        "a0": 500 * 10**8,
        "a1": 30_000_000 * 10**6,
        "fee_a_bps": 5,
        "b0": 500 * 10**8,
        "b1": 30_464_696_129_312,
        "fee_b_bps": 30,
    }
    rounded_down = optimal_amount_in(**pools)
    trade = best_trade(**pools)
    assert trade is not None
    assert trade[0] == rounded_down - 602
    assert trade[2] - trade[0] == round_trip_profit(rounded_down, **pools) + 602


def test_pools_listing_the_pair_in_the_other_order_are_compared() -> None:
    # A lists WETH/USDC, B lists USDC/WETH (reserves swapped) at a 33 % higher WETH price.
    state = MarketState()
    state.apply_snapshot(PoolSnapshot(POOL_A, "WETH", "USDC", 30, 10**12, 3 * 10**12, USDC, 1))
    state.apply_snapshot(PoolSnapshot(POOL_B, "USDC", "WETH", 30, 4 * 10**12, 10**12, 4e-6, 1))
    assert state.pools[POOL_B].flipped
    assert state.pools[POOL_A].siblings is state.pools[POOL_B].siblings
    [signal] = _detector(state).detect(state.pools[POOL_B], 3)
    assert signal.pools == (POOL_A, POOL_B)
    assert signal.token_in == "USDC"
    # Executed on each pool in its own token order: USDC in on A, WETH out; WETH in on B
    # (its token1), USDC (its token0) out.
    mid = get_amount_out(signal.amount_in, 3 * 10**12, 10**12, 30)
    out = get_amount_out(mid, 10**12, 4 * 10**12, 30)
    assert (signal.amount_mid, signal.amount_out) == (mid, out)
    assert signal.profit_usd == (out - signal.amount_in) * USDC
    assert signal.profit_usd > 30_000


def test_trades_below_the_minimum_profit_are_counted_not_signalled() -> None:
    state = _market((POOL_A, 10**12, 2 * 10**12, 30), (POOL_B, 10**12, 21 * 10**11, 30))
    [signal] = _detector(state, min_profit_usd=469.0).detect(state.pools[POOL_A], 5)
    assert signal.profit_usd >= 469.0
    detector = _detector(state, min_profit_usd=470.0)
    assert list(detector.detect(state.pools[POOL_A], 5)) == []
    assert (detector.gaps, detector.below_min_profit, detector.signals) == (1, 1, 0)


def test_a_trade_paid_in_a_token_without_a_usd_rate_is_unpriced() -> None:
    state = _market((POOL_A, 10**12, 2 * 10**12, 30), (POOL_B, 10**12, 21 * 10**11, 30))
    detector = ArbitrageDetector({})
    assert list(detector.detect(state.pools[POOL_A], 5)) == []
    assert (detector.gaps, detector.unpriced, detector.signals) == (1, 1, 0)


def test_profits_are_valued_at_the_latest_quote() -> None:
    # LINK/WETH pools: profits are in WETH, announced at $3,000 but quoted at $2,802.
    state = MarketState()
    state.apply_snapshot(PoolSnapshot(POOL_C, "WETH", "USDC", 30, 10**12, 3 * 10**12, USDC, 1))
    for pool, reserve1 in ((POOL_A, 5 * 10**12), (POOL_B, 53 * 10**11)):
        state.apply_snapshot(PoolSnapshot(pool, "LINK", "WETH", 30, 10**15, reserve1, 3e-6, 1))
    detector = _detector(state)
    [before] = detector.detect(state.pools[POOL_A], 2)
    assert before.profit_usd == (before.amount_out - before.amount_in) * 3e-6
    state.apply_quote(QuoteUpdate("WETH/USDC", 2_801.0, 1.0, 2_803.0, 1.0, 3))
    [after] = detector.detect(state.pools[POOL_A], 4)
    assert after.profit_usd == (after.amount_out - after.amount_in) * (1e-6 * 2_802.0 * 1e-3)
