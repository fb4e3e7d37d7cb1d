"""What the market looks like: every known pool's reserves and every instrument's mid price.

The market state is the single writer of :class:`~services_v2.domain.pool.PoolState` objects.
It knows nothing about signals: detection reads the pools it updates.

Ordering: the state is the result of applying messages in the order given; applying the same
messages in the same order always gives the same state (no clocks, no randomness).
"""

from __future__ import annotations

import enum
from typing import final

from mycelium_types.messages import OrderBookSnapshot, PoolSnapshot, PoolSwapEvent, QuoteUpdate

from .pool import PoolState

__all__ = ["MarketState", "SwapStatus"]


class SwapStatus(enum.Enum):
    """What :meth:`MarketState.apply_swap` did with a swap; the value is the counter's key."""

    APPLIED = "applied"
    """The swap updated the pool's reserves."""
    UNKNOWN_POOL = "unknown_pool"
    """No :class:`PoolSnapshot` announced the pool first; the swap was counted and dropped."""
    RESERVE_EXHAUSTED = "reserve_exhausted"
    """The swap would leave a reserve at or below zero; counted and dropped, state unchanged."""


_APPLIED = SwapStatus.APPLIED
_UNKNOWN_POOL = SwapStatus.UNKNOWN_POOL
_RESERVE_EXHAUSTED = SwapStatus.RESERVE_EXHAUSTED


@final
class MarketState:
    """Per-pool constant-product state and per-instrument mid prices.

    - A :class:`PoolSnapshot` announces a pool (or resets a known one to the snapshot).
    - A :class:`PoolSwapEvent` adds ``amount0_in`` to reserve0 and removes ``amount1_out`` from
      reserve1 (negative amounts: the other direction). A swap on an unknown pool, or one that
      would leave a reserve ``<= 0``, changes nothing and is counted in :attr:`swaps_rejected`
      under its :class:`SwapStatus` value; it is never dropped silently.
    - A :class:`QuoteUpdate` or :class:`OrderBookSnapshot` sets the instrument's mid price; a
      book with an empty side has no mid and is counted in :attr:`books_one_sided`.

    Not thread-safe; one owner (one actor, or one sequential loop) applies messages.
    """

    __slots__ = (
        "books",
        "books_one_sided",
        "last_timestamp_ns",
        "mids",
        "pairs",
        "pools",
        "quotes",
        "snapshots",
        "swaps_applied",
        "swaps_rejected",
    )

    def __init__(self) -> None:
        self.pools: dict[bytes, PoolState] = {}
        # Invariant: pairs[(t0, t1)] is the shared `siblings` list of each of its pools.
        self.pairs: dict[tuple[str, str], list[PoolState]] = {}
        self.mids: dict[str, float] = {}
        self.swaps_applied = 0
        # Invariant: keys are exactly the rejecting SwapStatus values.
        self.swaps_rejected: dict[str, int] = {
            _UNKNOWN_POOL.value: 0,
            _RESERVE_EXHAUSTED.value: 0,
        }
        self.snapshots = 0
        self.quotes = 0
        self.books = 0
        self.books_one_sided = 0
        # Invariant: the largest timestamp_ns of any message applied so far (0 before any).
        self.last_timestamp_ns = 0

    def apply_snapshot(self, snapshot: PoolSnapshot) -> PoolState:
        """Announce a pool, or reset a known one (reserves, fee, pair, USD rate) to ``snapshot``."""
        self.snapshots += 1
        self.last_timestamp_ns = max(self.last_timestamp_ns, snapshot.timestamp_ns)
        pair = (snapshot.token0, snapshot.token1)
        pool = self.pools.get(snapshot.pool)
        if pool is not None and (pool.token0, pool.token1) != pair:
            pool.siblings.remove(pool)
            pool = None
        if pool is None:
            pool = PoolState(
                snapshot.pool,
                token0=snapshot.token0,
                token1=snapshot.token1,
                fee_bps=snapshot.fee_bps,
                reserve0=snapshot.reserve0,
                reserve1=snapshot.reserve1,
                token1_usd=snapshot.token1_usd,
                timestamp_ns=snapshot.timestamp_ns,
            )
            siblings = self.pairs.setdefault(pair, [])
            siblings.append(pool)
            pool.siblings = siblings
            self.pools[snapshot.pool] = pool
            return pool
        pool.reset(
            fee_bps=snapshot.fee_bps,
            reserve0=snapshot.reserve0,
            reserve1=snapshot.reserve1,
            token1_usd=snapshot.token1_usd,
            timestamp_ns=snapshot.timestamp_ns,
        )
        return pool

    def apply_swap(self, swap: PoolSwapEvent) -> SwapStatus:
        """Apply one swap to its pool; returns what happened (see :class:`SwapStatus`)."""
        if swap.timestamp_ns > self.last_timestamp_ns:  # noqa: PLR1730 (hot path: no call)
            self.last_timestamp_ns = swap.timestamp_ns
        pool = self.pools.get(swap.pool)
        if pool is None:
            self.swaps_rejected["unknown_pool"] += 1
            return _UNKNOWN_POOL
        reserve0 = pool.reserve0 + swap.amount0_in
        reserve1 = pool.reserve1 - swap.amount1_out
        if reserve0 <= 0 or reserve1 <= 0:
            self.swaps_rejected["reserve_exhausted"] += 1
            return _RESERVE_EXHAUSTED
        pool.reserve0 = reserve0
        pool.reserve1 = reserve1
        pool.price = reserve1 / reserve0
        pool.timestamp_ns = swap.timestamp_ns
        self.swaps_applied += 1
        return _APPLIED

    def apply_quote(self, quote: QuoteUpdate) -> float:
        """Set the instrument's mid to the quote's ``(bid + ask) / 2``; returns that mid."""
        self.quotes += 1
        self.last_timestamp_ns = max(self.last_timestamp_ns, quote.timestamp_ns)
        mid = (quote.bid_price + quote.ask_price) * 0.5
        self.mids[quote.instrument] = mid
        return mid

    def apply_book(self, book: OrderBookSnapshot) -> float | None:
        """Set the instrument's mid from the best levels; ``None`` (counted) if a side is empty."""
        self.books += 1
        self.last_timestamp_ns = max(self.last_timestamp_ns, book.timestamp_ns)
        if not book.bids or not book.asks:
            self.books_one_sided += 1
            return None
        mid = (book.bids[0].price + book.asks[0].price) * 0.5
        self.mids[book.instrument] = mid
        return mid

    def pool(self, address: bytes) -> PoolState | None:
        """The pool at ``address``, or ``None`` if no snapshot announced it."""
        return self.pools.get(address)

    def __repr__(self) -> str:
        return (
            f"MarketState(pools={len(self.pools)}, pairs={len(self.pairs)}, "
            f"instruments={len(self.mids)}, swaps_applied={self.swaps_applied}, "
            f"swaps_rejected={self.swaps_rejected})"
        )
