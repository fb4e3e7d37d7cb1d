"""Market state: pools from snapshots, swaps, rejections, mids (services_v2.domain.market_state)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mycelium_types.messages import (
    OrderBookSnapshot,
    PoolSnapshot,
    PoolSwapEvent,
    PriceLevel,
    QuoteUpdate,
)
from services_v2.domain.market_state import MarketState, SwapStatus
from services_v2.domain.pool import get_amount_out

POOL_A = bytes([0xA] * 20)
POOL_B = bytes([0xB] * 20)
POOL_C = bytes([0xC] * 20)
USDC = 1e-6


def _snapshot(
    pool: bytes = POOL_A,
    reserve0: int = 1_000,
    reserve1: int = 2_000,
    *,
    pair: tuple[str, str] = ("WETH", "USDC"),
    fee_bps: int = 30,
    timestamp_ns: int = 1,
) -> PoolSnapshot:
    return PoolSnapshot(pool, pair[0], pair[1], fee_bps, reserve0, reserve1, USDC, timestamp_ns)


def test_a_snapshot_announces_a_pool_in_its_pair() -> None:
    state = MarketState()
    pool = state.apply_snapshot(_snapshot())
    assert state.pool(POOL_A) is pool
    assert (pool.reserve0, pool.reserve1, pool.fee_bps, pool.token1_usd) == (1_000, 2_000, 30, USDC)
    assert state.pairs[("WETH", "USDC")] == [pool]
    assert state.pool(POOL_B) is None


def test_pools_of_one_pair_share_their_siblings_list() -> None:
    state = MarketState()
    a = state.apply_snapshot(_snapshot(POOL_A))
    b = state.apply_snapshot(_snapshot(POOL_B))
    c = state.apply_snapshot(_snapshot(POOL_C, pair=("WBTC", "USDC")))
    assert a.siblings is b.siblings
    assert a.siblings == [a, b]
    assert c.siblings == [c]


def test_token0_in_raises_reserve0_and_token1_out_lowers_reserve1() -> None:
    state = MarketState()
    state.apply_snapshot(_snapshot())
    assert state.apply_swap(PoolSwapEvent(POOL_A, 100, 180, 5)) is SwapStatus.APPLIED
    pool = state.pools[POOL_A]
    assert (pool.reserve0, pool.reserve1) == (1_100, 1_820)
    assert pool.price == 1_820 / 1_100
    assert pool.timestamp_ns == 5
    assert state.swaps_applied == 1


def test_negative_amounts_swap_the_other_way() -> None:
    state = MarketState()
    state.apply_snapshot(_snapshot())
    # token0 leaves (amount0_in < 0) and token1 enters (amount1_out < 0).
    assert state.apply_swap(PoolSwapEvent(POOL_A, -90, -200, 5)) is SwapStatus.APPLIED
    pool = state.pools[POOL_A]
    assert (pool.reserve0, pool.reserve1) == (910, 2_200)


def test_a_swap_on_an_unknown_pool_is_counted_not_applied() -> None:
    state = MarketState()
    state.apply_snapshot(_snapshot())
    assert state.apply_swap(PoolSwapEvent(POOL_B, 1, 1, 5)) is SwapStatus.UNKNOWN_POOL
    assert state.apply_swap(PoolSwapEvent(POOL_B, 1, 1, 6)) is SwapStatus.UNKNOWN_POOL
    assert state.swaps_rejected == {
        "unknown_pool": 2,
        "before_snapshot": 0,
        "reserve_exhausted": 0,
        "invariant_broken": 0,
        "unfillable": 0,
    }
    assert state.swaps_applied == 0
    assert POOL_B not in state.pools


def test_a_swap_that_would_empty_a_reserve_is_counted_and_changes_nothing() -> None:
    state = MarketState()
    state.apply_snapshot(_snapshot())
    assert state.apply_swap(PoolSwapEvent(POOL_A, 10, 2_000, 5)) is SwapStatus.RESERVE_EXHAUSTED
    assert state.apply_swap(PoolSwapEvent(POOL_A, -1_000, -5, 6)) is SwapStatus.RESERVE_EXHAUSTED
    pool = state.pools[POOL_A]
    assert (pool.reserve0, pool.reserve1, pool.timestamp_ns) == (1_000, 2_000, 1)
    assert state.swaps_rejected["reserve_exhausted"] == 2
    assert sum(state.swaps_rejected.values()) == 2
    # One unit left is still a valid pool: a huge token0 input buys all but one USDC unit.
    out = get_amount_out(10**9, 1_000, 2_000, 30)
    assert out == 1_999
    assert state.apply_swap(PoolSwapEvent(POOL_A, 10**9, out, 7)) is SwapStatus.APPLIED
    assert (pool.reserve0, pool.reserve1) == (1_000 + 10**9, 1)


# A pool of 1,000,000 token0 and 2,000,000 token1 with a 30 bps fee, announced at time 10.
# Honest outputs: 100,000 token0 in pays out 181,322 token1 (181,818 with no fee); 200,000
# token1 in pays out 90,661 token0 (90,909 with no fee).
REFUSED = [
    pytest.param(PoolSwapEvent(POOL_A, 100_000, 181_322, 9), "before_snapshot", id="older"),
    pytest.param(PoolSwapEvent(POOL_A, 1, 1_999_000, 11), "invariant_broken", id="1-in-all-out"),
    pytest.param(PoolSwapEvent(POOL_A, -10, 10, 11), "invariant_broken", id="both-out"),
    pytest.param(PoolSwapEvent(POOL_A, 0, 5, 11), "invariant_broken", id="out-for-nothing"),
    pytest.param(PoolSwapEvent(POOL_A, 100, 0, 11), "unfillable", id="donation"),
    pytest.param(PoolSwapEvent(POOL_A, 100, -100, 11), "unfillable", id="both-in"),
    pytest.param(PoolSwapEvent(POOL_A, 100_000, 181_500, 11), "unfillable", id="fee-unpaid-0"),
    pytest.param(PoolSwapEvent(POOL_A, -90_800, -200_000, 11), "unfillable", id="fee-unpaid-1"),
]


@pytest.mark.parametrize(("swap", "reason"), REFUSED)
def test_a_swap_the_pool_could_not_have_made_is_refused_under_its_reason(
    swap: PoolSwapEvent, reason: str
) -> None:
    state = MarketState()
    pool = state.apply_snapshot(_snapshot(reserve0=10**6, reserve1=2 * 10**6, timestamp_ns=10))
    assert state.apply_swap(swap).value == reason
    assert (pool.reserve0, pool.reserve1, pool.timestamp_ns) == (10**6, 2 * 10**6, 10)
    assert state.swaps_rejected[reason] == 1
    assert sum(state.swaps_rejected.values()) == 1
    assert state.swaps_applied == 0


@pytest.mark.parametrize(
    "swap",
    [
        PoolSwapEvent(POOL_A, 100_000, 181_322, 10),  # the snapshot's own time is not older
        PoolSwapEvent(POOL_A, -90_661, -200_000, 11),
        PoolSwapEvent(POOL_A, 100_000, 1, 11),  # paying far less than the pool would is fine
    ],
)
def test_the_honest_swaps_next_to_the_refused_ones_apply(swap: PoolSwapEvent) -> None:
    state = MarketState()
    state.apply_snapshot(_snapshot(reserve0=10**6, reserve1=2 * 10**6, timestamp_ns=10))
    assert state.apply_swap(swap) is SwapStatus.APPLIED


def test_the_first_usd_announcement_of_a_token_stands_and_conflicts_are_counted() -> None:
    state = MarketState()
    state.apply_snapshot(_snapshot(POOL_A))
    conflicting = PoolSnapshot(POOL_B, "WETH", "USDC", 30, 1_000, 2_000, 2 * USDC, 1)
    state.apply_snapshot(conflicting)
    state.apply_snapshot(_snapshot(POOL_C))  # the same rate again is no conflict
    assert state.usd == {"USDC": USDC}
    assert state.usd_conflicts == 1
    assert state.pools[POOL_B].token1_usd == 2 * USDC  # the pool itself is announced


def test_quotes_and_books_revalue_the_base_token_from_the_quote_token() -> None:
    state = MarketState()
    # WETH/USDC at 3 USDC units per gwei (3,000 USDC per WETH); LINK/WETH announces WETH.
    state.apply_snapshot(_snapshot(POOL_A, 10**12, 3 * 10**12))
    state.apply_snapshot(PoolSnapshot(POOL_B, "LINK", "WETH", 30, 10**15, 5 * 10**12, 3e-6, 1))
    assert state.usd == {"USDC": USDC, "WETH": 3e-6}  # before any quote: as announced
    state.apply_quote(QuoteUpdate("WETH/USDC", 2_801.0, 1.0, 2_803.0, 1.0, 2))
    assert state.usd["WETH"] == USDC * 2_802.0 * 1e-3  # whole WETH -> gwei: 10^-3
    book = OrderBookSnapshot(
        "LINK/WETH", (PriceLevel(0.0049, 1.0),), (PriceLevel(0.0051, 1.0),), timestamp_ns=3
    )
    state.apply_book(book)
    assert state.usd["LINK"] == state.usd["WETH"] * 0.005
    # No pool of the pair, or no rate for the quote token: nothing to revalue.
    state.apply_quote(QuoteUpdate("WBTC/USDC", 60_000.0, 1.0, 60_001.0, 1.0, 4))
    state.apply_quote(QuoteUpdate("nonsense", 1.0, 1.0, 2.0, 1.0, 5))
    assert set(state.usd) == {"USDC", "WETH", "LINK"}


def test_a_pool_listing_the_tokens_the_other_way_joins_its_siblings_flipped() -> None:
    state = MarketState()
    a = state.apply_snapshot(_snapshot(POOL_A))
    b = state.apply_snapshot(_snapshot(POOL_B, pair=("USDC", "WETH")))
    assert a.siblings is b.siblings
    assert (a.flipped, b.flipped) == (False, True)
    assert list(state.pairs) == [("WETH", "USDC")]


def test_a_new_snapshot_resets_a_known_pool() -> None:
    state = MarketState()
    pool = state.apply_snapshot(_snapshot())
    state.apply_swap(PoolSwapEvent(POOL_A, 100, 180, 5))
    again = state.apply_snapshot(_snapshot(reserve0=7, reserve1=9, fee_bps=5, timestamp_ns=8))
    assert again is pool
    assert (pool.reserve0, pool.reserve1, pool.fee_bps, pool.fee_keep) == (7, 9, 5, 9_995)
    assert state.snapshots == 2


def test_a_snapshot_with_another_pair_moves_the_pool() -> None:
    state = MarketState()
    a = state.apply_snapshot(_snapshot(POOL_A))
    state.apply_snapshot(_snapshot(POOL_B))
    moved = state.apply_snapshot(_snapshot(POOL_A, pair=("WBTC", "USDC")))
    assert moved is not a
    assert [p.address for p in state.pairs[("WETH", "USDC")]] == [POOL_B]
    assert state.pairs[("WBTC", "USDC")] == [moved]
    assert moved.siblings == [moved]


def test_quotes_and_books_set_the_mid_and_a_one_sided_book_is_counted() -> None:
    state = MarketState()
    assert state.apply_quote(QuoteUpdate("WETH/USDC", 99.0, 1.0, 101.0, 1.0, 3)) == 100.0
    book = OrderBookSnapshot(
        "WETH/USDC", (PriceLevel(100.0, 1.0),), (PriceLevel(104.0, 2.0),), timestamp_ns=4
    )
    assert state.apply_book(book) == 102.0
    assert state.mids == {"WETH/USDC": 102.0}
    one_sided = OrderBookSnapshot("WBTC/USDC", (PriceLevel(1.0, 1.0),), (), timestamp_ns=2)
    assert state.apply_book(one_sided) is None
    assert (state.quotes, state.books, state.books_one_sided) == (1, 2, 1)
    assert "WBTC/USDC" not in state.mids
    assert state.last_timestamp_ns == 4


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(min_value=1, max_value=10**15)),
        max_size=60,
    )
)
def test_swaps_priced_by_get_amount_out_keep_reserves_positive_and_k_growing(
    trades: list[tuple[bool, int]],
) -> None:
    state = MarketState()
    pool = state.apply_snapshot(_snapshot(reserve0=10**12, reserve1=3 * 10**12))
    for number, (buy_token0, amount) in enumerate(trades, start=1):
        before = pool.reserve0 * pool.reserve1
        if buy_token0:
            out = get_amount_out(amount, pool.reserve1, pool.reserve0, pool.fee_bps)
            swap = PoolSwapEvent(POOL_A, -out, -amount, number)
        else:
            out = get_amount_out(amount, pool.reserve0, pool.reserve1, pool.fee_bps)
            swap = PoolSwapEvent(POOL_A, amount, out, number)
        # Too small an input buys nothing: a swap for nothing is not one the pool would fill.
        expected = SwapStatus.APPLIED if out > 0 else SwapStatus.UNFILLABLE
        assert state.apply_swap(swap) is expected
        assert pool.reserve0 > 0
        assert pool.reserve1 > 0
        assert pool.reserve0 * pool.reserve1 >= before
    assert state.swaps_applied + state.swaps_rejected["unfillable"] == len(trades)
