"""Uniswap v2 swap arithmetic and the pool state (services_v2.domain.pool)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services_v2.domain.pool import BPS, PoolState, get_amount_out

ADDRESS = bytes(range(20))
reserves = st.integers(min_value=1_000, max_value=2**62)
fees = st.sampled_from([0, 1, 5, 30, 100, 9_999])


def test_get_amount_out_matches_uniswap_v2_with_a_30_bps_fee() -> None:
    # UniswapV2Library.getAmountOut: 997 * in * R_out / (1000 * R_in + 997 * in), floored.
    amount_in, reserve_in, reserve_out = 10**18, 100 * 10**18, 200_000 * 10**6
    expected = (997 * amount_in * reserve_out) // (1000 * reserve_in + 997 * amount_in)
    assert get_amount_out(amount_in, reserve_in, reserve_out, 30) == expected


def test_get_amount_out_of_nothing_is_nothing() -> None:
    assert get_amount_out(0, 10, 10, 30) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 10, 10, 30), r"^amount_in must be >= 0, got -1$"),
        ((1, 0, 10, 30), r"^reserves must be > 0, got 0 and 10$"),
        ((1, 10, -5, 30), r"^reserves must be > 0, got 10 and -5$"),
        ((1, 10, 10, BPS), r"^fee_bps must be in \[0, 10000\), got 10000$"),
    ],
)
def test_get_amount_out_rejects_impossible_inputs(
    args: tuple[int, int, int, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        get_amount_out(*args)


@given(reserves, reserves, st.integers(min_value=0, max_value=2**62), fees)
def test_a_fee_paying_swap_never_decreases_the_product_of_reserves(
    reserve_in: int, reserve_out: int, amount_in: int, fee_bps: int
) -> None:
    out = get_amount_out(amount_in, reserve_in, reserve_out, fee_bps)
    assert 0 <= out < reserve_out
    assert (reserve_in + amount_in) * (reserve_out - out) >= reserve_in * reserve_out


@given(reserves, reserves, st.integers(min_value=1, max_value=2**40), fees)
def test_a_larger_fee_never_gives_more_out(
    reserve_in: int, reserve_out: int, amount_in: int, fee_bps: int
) -> None:
    higher = min(fee_bps + 25, BPS - 1)
    assert get_amount_out(amount_in, reserve_in, reserve_out, higher) <= get_amount_out(
        amount_in, reserve_in, reserve_out, fee_bps
    )


def test_pool_state_keeps_price_and_fee_factors_consistent() -> None:
    pool = PoolState(
        ADDRESS,
        token0="WETH",
        token1="USDC",
        fee_bps=30,
        reserve0=4,
        reserve1=10,
        token1_usd=1e-6,
        timestamp_ns=1,
    )
    assert (pool.price, pool.fee_keep, pool.gamma) == (2.5, 9_970, 0.997)
    assert pool.siblings == [pool]
    pool.set_reserves(5, 10)
    assert pool.price == 2.0
    pool.reset(fee_bps=5, reserve0=1, reserve1=3, token1_usd=2e-6, timestamp_ns=9)
    assert (pool.fee_keep, pool.price, pool.token1_usd, pool.timestamp_ns) == (9_995, 3.0, 2e-6, 9)
    assert "WETH/USDC" in repr(pool)


def test_pool_state_rejects_empty_reserves() -> None:
    with pytest.raises(ValueError, match=r"^reserves must be > 0, got 0 and 1$"):
        PoolState(
            ADDRESS,
            token0="A",
            token1="B",
            fee_bps=30,
            reserve0=0,
            reserve1=1,
            token1_usd=1.0,
            timestamp_ns=0,
        )
