"""Hypothesis strategies for every message type, leaning on the edges of each constraint.

Every strategy draws only valid values: 20-byte addresses, ints at and inside the int64 and
uint64 bounds, finite floats (including the largest, the smallest subnormal and -0.0 where
the field allows it). `EXAMPLES` holds one hand-built valid instance per type.
"""

from __future__ import annotations

import sys

import msgspec
from hypothesis import strategies as st

from mycelium_types import (
    ArbitrageSignal,
    MarketMessage,
    MomentumSignal,
    OrderBookSnapshot,
    PoolSnapshot,
    PoolSwapEvent,
    PriceLevel,
    QuoteUpdate,
    SignalMessage,
)

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
FLOAT_MAX = sys.float_info.max


def bounded_ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Ints in [lo, hi], with both bounds drawn often rather than by luck."""
    return st.sampled_from((lo, hi)) | st.integers(lo, hi)


ADDRESSES = st.binary(min_size=20, max_size=20)
INT64S = bounded_ints(I64_MIN, I64_MAX)
UINT64S = bounded_ints(0, U64_MAX)
NON_NEGATIVE_INT64S = bounded_ints(0, I64_MAX)
FINITE_FLOATS = st.sampled_from((-FLOAT_MAX, FLOAT_MAX, -0.0)) | st.floats(
    allow_nan=False, allow_infinity=False
)
POSITIVE_FLOATS = st.sampled_from((5e-324, FLOAT_MAX)) | st.floats(
    min_value=0.0, exclude_min=True, allow_infinity=False
)
NON_NEGATIVE_FLOATS = st.sampled_from((0.0, FLOAT_MAX)) | st.floats(
    min_value=0.0, allow_infinity=False
)
INSTRUMENTS = st.text(min_size=1, max_size=64)

PRICE_LEVELS = st.builds(PriceLevel, price=POSITIVE_FLOATS, size=NON_NEGATIVE_FLOATS)
SWAPS = st.builds(
    PoolSwapEvent,
    pool=ADDRESSES,
    amount0_in=INT64S,
    amount1_out=INT64S,
    timestamp_ns=UINT64S,
)
POOL_SNAPSHOTS = st.builds(
    PoolSnapshot,
    pool=ADDRESSES,
    token0=INSTRUMENTS,
    token1=INSTRUMENTS,
    fee_bps=bounded_ints(0, 9_999),
    reserve0=bounded_ints(1, I64_MAX),
    reserve1=bounded_ints(1, I64_MAX),
    token1_usd=POSITIVE_FLOATS,
    timestamp_ns=UINT64S,
)
QUOTES = st.builds(
    QuoteUpdate,
    instrument=INSTRUMENTS,
    bid_price=POSITIVE_FLOATS,
    bid_size=NON_NEGATIVE_FLOATS,
    ask_price=POSITIVE_FLOATS,
    ask_size=NON_NEGATIVE_FLOATS,
    timestamp_ns=UINT64S,
)
BOOKS = st.builds(
    OrderBookSnapshot,
    instrument=INSTRUMENTS,
    bids=st.lists(PRICE_LEVELS, max_size=5).map(tuple),
    asks=st.lists(PRICE_LEVELS, max_size=5).map(tuple),
    timestamp_ns=UINT64S,
)
ARBITRAGES = st.builds(
    ArbitrageSignal,
    opportunity_id=UINT64S,
    profit_usd=FINITE_FLOATS,
    pools=st.lists(ADDRESSES, max_size=4).map(tuple),
    timestamp_ns=UINT64S,
    amount_in=NON_NEGATIVE_INT64S,
    amount_mid=NON_NEGATIVE_INT64S,
    amount_out=NON_NEGATIVE_INT64S,
    token_in=st.text(max_size=64),
    event=UINT64S,
)
MOMENTUMS = st.builds(
    MomentumSignal,
    signal_id=UINT64S,
    instrument=INSTRUMENTS,
    strength=st.sampled_from((-1.0, 1.0)) | st.floats(min_value=-1.0, max_value=1.0),
    horizon_ns=UINT64S,
    reference_price=POSITIVE_FLOATS,
    timestamp_ns=UINT64S,
)

MARKET_MESSAGES: st.SearchStrategy[MarketMessage] = st.one_of(SWAPS, QUOTES, BOOKS, POOL_SNAPSHOTS)
SIGNAL_MESSAGES: st.SearchStrategy[SignalMessage] = st.one_of(ARBITRAGES, MOMENTUMS)

STRATEGIES: dict[type[msgspec.Struct], st.SearchStrategy[msgspec.Struct]] = {
    PoolSwapEvent: SWAPS,
    PoolSnapshot: POOL_SNAPSHOTS,
    QuoteUpdate: QUOTES,
    PriceLevel: PRICE_LEVELS,
    OrderBookSnapshot: BOOKS,
    ArbitrageSignal: ARBITRAGES,
    MomentumSignal: MOMENTUMS,
}
"""One strategy per Struct in the schema (the test of the list checks it is complete)."""

POOL_A = bytes(range(20))
POOL_B = bytes(range(20, 40))

EXAMPLES: dict[type[msgspec.Struct], msgspec.Struct] = {
    PoolSwapEvent: PoolSwapEvent(
        pool=POOL_A, amount0_in=10**18, amount1_out=-5, timestamp_ns=1_700_000_000 * 10**9
    ),
    PoolSnapshot: PoolSnapshot(
        pool=POOL_A,
        token0="WETH",
        token1="USDC",
        fee_bps=30,
        reserve0=10**18,
        reserve1=3 * 10**12,
        token1_usd=1e-6,
        timestamp_ns=1,
    ),
    QuoteUpdate: QuoteUpdate(
        instrument="WETH/USDC",
        bid_price=2999.5,
        bid_size=1.5,
        ask_price=3000.5,
        ask_size=2.0,
        timestamp_ns=2,
    ),
    PriceLevel: PriceLevel(price=3000.0, size=0.0),
    OrderBookSnapshot: OrderBookSnapshot(
        instrument="WETH/USDC",
        bids=(PriceLevel(2999.0, 1.0), PriceLevel(2998.0, 4.0)),
        asks=(PriceLevel(3001.0, 2.0),),
        timestamp_ns=3,
    ),
    ArbitrageSignal: ArbitrageSignal(
        opportunity_id=7,
        profit_usd=12.5,
        pools=(POOL_A, POOL_B),
        timestamp_ns=4,
        amount_in=10**9,
        amount_mid=333_000,
        amount_out=10**9 + 12_500_000,
        token_in="USDC",
        event=41,
    ),
    MomentumSignal: MomentumSignal(
        signal_id=8,
        instrument="WETH/USDC",
        strength=-0.25,
        horizon_ns=60 * 10**9,
        reference_price=3000.0,
        timestamp_ns=5,
    ),
}
"""One valid, hand-built instance of every Struct in the schema."""


def fields_of(msg: msgspec.Struct) -> dict[str, object]:
    """The message as the builtins a wire format carries (tag included, bytes kept as bytes).

    Edit the result and encode it with msgspec to make a bad input that differs from a valid
    message in exactly one place.
    """
    fields: dict[str, object] = msgspec.to_builtins(msg, builtin_types=(bytes,))
    return fields
