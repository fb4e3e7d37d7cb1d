"""One constant-product pool: its state and the exact Uniswap v2 swap arithmetic.

Units: reserves and amounts are integers in each token's smallest unit; prices are floats in
token1 per token0 (smallest units of each, so a WETH/USDC pool with 9 and 6 decimals quotes
``usdc_units / gwei``); fees are integers in basis points (30 = 0.30 %).

Reference: Adams, Zinsmeister, Robinson, *Uniswap v2 Core* (2020), and the
``getAmountOut`` function of ``UniswapV2Library.sol``; the fee there is 30 bps, written with
``997/1000``. Here it is ``(10_000 - fee_bps) / 10_000``, so any fee tier works.
"""

from __future__ import annotations

from typing import final

__all__ = ["BPS", "PoolState", "get_amount_out"]

BPS = 10_000
"""Basis points in one: a fee of ``f`` bps keeps ``(BPS - f) / BPS`` of the input."""


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    """The output of a constant-product swap, exactly as Uniswap v2 computes it.

    ``amount_in`` of the input token enters a pool holding ``reserve_in`` and ``reserve_out``;
    the result is the amount of the output token that leaves, rounded down, so that
    ``(reserve_in + amount_in) * (reserve_out - out)`` is never below
    ``reserve_in * reserve_out`` when ``fee_bps >= 0`` (the product only grows).

    Raises:
        ValueError: ``amount_in`` is negative, a reserve is not positive, or the fee is outside
            ``[0, 10_000)``.
    """
    if amount_in < 0:
        raise ValueError(f"amount_in must be >= 0, got {amount_in}")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValueError(f"reserves must be > 0, got {reserve_in} and {reserve_out}")
    if not 0 <= fee_bps < BPS:
        raise ValueError(f"fee_bps must be in [0, {BPS}), got {fee_bps}")
    amount_in_with_fee = amount_in * (BPS - fee_bps)
    return (amount_in_with_fee * reserve_out) // (reserve_in * BPS + amount_in_with_fee)


@final
class PoolState:
    """The live state of one constant-product pool, owned by :class:`MarketState`.

    Mutable on purpose (it is updated once per swap on the hot path); only the market state
    that created it writes to it.

    Invariants: ``reserve0 > 0`` and ``reserve1 > 0``; ``price == reserve1 / reserve0``;
    ``fee_keep == BPS - fee_bps`` and ``gamma == fee_keep / BPS``; ``siblings`` is the list of
    every pool of the same two tokens, in either order, this one included, in announcement
    order (shared between those pools); ``flipped`` is true when this pool lists the two tokens
    in the other order than the first pool of its siblings (the pair's *canonical* order);
    ``snapshot_ns`` is the timestamp of the last snapshot that announced or reset the pool.
    """

    __slots__ = (
        "address",
        "fee_bps",
        "fee_keep",
        "flipped",
        "gamma",
        "price",
        "reserve0",
        "reserve1",
        "siblings",
        "snapshot_ns",
        "timestamp_ns",
        "token0",
        "token1",
        "token1_usd",
    )

    def __init__(
        self,
        address: bytes,
        *,
        token0: str,
        token1: str,
        fee_bps: int,
        reserve0: int,
        reserve1: int,
        token1_usd: float,
        timestamp_ns: int,
    ) -> None:
        if reserve0 <= 0 or reserve1 <= 0:
            raise ValueError(f"reserves must be > 0, got {reserve0} and {reserve1}")
        if not 0 <= fee_bps < BPS:
            raise ValueError(f"fee_bps must be in [0, {BPS}), got {fee_bps}")
        self.address = address
        self.token0 = token0
        self.token1 = token1
        self.fee_bps = fee_bps
        self.fee_keep = BPS - fee_bps
        self.gamma = self.fee_keep / BPS
        self.reserve0 = reserve0
        self.reserve1 = reserve1
        # Invariant: price == reserve1 / reserve0 (refreshed by every write to the reserves).
        self.price = reserve1 / reserve0
        self.token1_usd = token1_usd
        self.timestamp_ns = timestamp_ns
        self.snapshot_ns = timestamp_ns
        # Invariant: shared list of the pair's pools, this one included; set by MarketState.
        self.siblings: list[PoolState] = [self]
        # Invariant: (token0, token1) is the reverse of the canonical order; set by MarketState.
        self.flipped = False

    def set_reserves(self, reserve0: int, reserve1: int) -> None:
        """Replace both reserves (both must be > 0) and refresh :attr:`price`."""
        if reserve0 <= 0 or reserve1 <= 0:
            raise ValueError(f"reserves must be > 0, got {reserve0} and {reserve1}")
        self.reserve0 = reserve0
        self.reserve1 = reserve1
        self.price = reserve1 / reserve0

    def reset(
        self, *, fee_bps: int, reserve0: int, reserve1: int, token1_usd: float, timestamp_ns: int
    ) -> None:
        """Reset everything but the address and the pair (what a new snapshot carries)."""
        if not 0 <= fee_bps < BPS:
            raise ValueError(f"fee_bps must be in [0, {BPS}), got {fee_bps}")
        self.set_reserves(reserve0, reserve1)
        self.fee_bps = fee_bps
        self.fee_keep = BPS - fee_bps
        self.gamma = self.fee_keep / BPS
        self.token1_usd = token1_usd
        self.timestamp_ns = timestamp_ns
        self.snapshot_ns = timestamp_ns

    def __repr__(self) -> str:
        return (
            f"PoolState({self.address.hex()}, {self.token0}/{self.token1}, "
            f"fee={self.fee_bps}bps, reserves=({self.reserve0}, {self.reserve1}))"
        )
