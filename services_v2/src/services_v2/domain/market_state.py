"""What the market looks like: every known pool's reserves, every instrument's mid price, and
what one smallest unit of each token is worth in USD.

The market state is the single writer of :class:`~services_v2.domain.pool.PoolState` objects.
It knows nothing about signals: detection reads the pools (and the USD rates) it updates.

Ordering: the state is the result of applying messages in the order given; applying the same
messages in the same order always gives the same state (no clocks, no randomness).

Swaps that could not have happened are refused (state unchanged, counted by reason, see
:class:`SwapStatus`); a swap is applied only if it is a constant-product swap the pool could
have filled: Uniswap v2's rule, ``(r0' * 10^4 - in0 * fee) * (r1' * 10^4 - in1 * fee) >=
r0 * r1 * 10^8`` with ``fee`` in bps, and something in for something out.

USD rates (:attr:`MarketState.usd`, USD per smallest unit, one rate per token symbol):

- *Announcements.* A :class:`PoolSnapshot` announces its ``token1``'s rate (``token1_usd``).
  The first announcement of a token sets its rate; a later one that differs (another pool of
  the pair, or a reset) is a conflict: counted in :attr:`MarketState.usd_conflicts` and
  ignored, so that two pools of one pair are never valued differently.
- *Quotes.* A :class:`QuoteUpdate` or a two-sided :class:`OrderBookSnapshot` on instrument
  ``"X/Y"`` (mid in whole Y per whole X) sets X's rate to ``Y's rate * mid * 10^-k``, where
  ``10^k`` converts whole units to smallest units: ``k = round(log10(mid / p))``, ``p`` being
  the price of X in Y smallest units of the first pool of the two tokens (``k`` is fixed at
  the first quote after that pool is known; a quote does nothing while Y has no rate). Quotes
  win over announcements; the latest quote wins over earlier ones.
- Before the first usable quote a token is worth its announced rate; a token with neither
  (never a ``token1``, never quoted) has no rate, and trades paid in it are not priced.
"""

from __future__ import annotations

import enum
import math
from typing import final

from mycelium_types.messages import OrderBookSnapshot, PoolSnapshot, PoolSwapEvent, QuoteUpdate

from .pool import BPS, PoolState

__all__ = ["MarketState", "SwapStatus"]


class SwapStatus(enum.Enum):
    """What :meth:`MarketState.apply_swap` did with a swap; the value is the counter's key.

    The checks run in declaration order; the first that fails names the rejection. A rejected
    swap changes nothing (reserves, timestamps, prices) and reveals nothing.
    """

    APPLIED = "applied"
    """The swap updated the pool's reserves (a swap of nothing for nothing changes nothing)."""
    UNKNOWN_POOL = "unknown_pool"
    """No :class:`PoolSnapshot` announced the pool first."""
    BEFORE_SNAPSHOT = "before_snapshot"
    """The swap is older than the pool's last snapshot, which already includes it."""
    RESERVE_EXHAUSTED = "reserve_exhausted"
    """The swap would leave a reserve at or below zero."""
    INVARIANT_BROKEN = "invariant_broken"
    """The product of the reserves would fall (``r0' * r1' < r0 * r1``): no fee rounding can
    explain it, e.g. much of a reserve out for one unit in, or both tokens out."""
    UNFILLABLE = "unfillable"
    """The product does not fall but the pool would not have filled the swap: nothing comes
    out (a donation, or both tokens in), or more comes out than the pool's fee allows
    (Uniswap v2's fee-adjusted product check fails)."""


_APPLIED = SwapStatus.APPLIED
_UNKNOWN_POOL = SwapStatus.UNKNOWN_POOL
_BEFORE_SNAPSHOT = SwapStatus.BEFORE_SNAPSHOT
_RESERVE_EXHAUSTED = SwapStatus.RESERVE_EXHAUSTED
_INVARIANT_BROKEN = SwapStatus.INVARIANT_BROKEN
_UNFILLABLE = SwapStatus.UNFILLABLE
_LARGEST_EXPONENT = 300


@final
class MarketState:
    """Per-pool constant-product state, per-instrument mid prices and per-token USD rates.

    - A :class:`PoolSnapshot` announces a pool (or resets a known one to the snapshot). Pools
      of the same two tokens are siblings whichever token is token0; the first one announced
      fixes the pair's canonical order, and a pool listing them the other way is ``flipped``.
    - A :class:`PoolSwapEvent` adds ``amount0_in`` to reserve0 and removes ``amount1_out`` from
      reserve1 (negative amounts: the other direction), if it passes every check of
      :class:`SwapStatus`; otherwise it changes nothing and is counted in
      :attr:`swaps_rejected` under its reason. It is never dropped silently.
    - A :class:`QuoteUpdate` or :class:`OrderBookSnapshot` sets the instrument's mid price (and
      a USD rate, see the module docstring); a book with an empty side has no mid and is
      counted in :attr:`books_one_sided`.

    Not thread-safe; one owner (one actor, or one sequential loop) applies messages.
    """

    __slots__ = (
        "_announced",
        "_routes",
        "_unrouted",
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
        "usd",
        "usd_conflicts",
    )

    def __init__(self) -> None:
        self.pools: dict[bytes, PoolState] = {}
        # Invariant: pairs[(t0, t1)] is the shared `siblings` list of each pool of the two
        # tokens, keyed in their canonical order (never also under (t1, t0)).
        self.pairs: dict[tuple[str, str], list[PoolState]] = {}
        self.mids: dict[str, float] = {}
        # Invariant: usd[token] is finite and > 0: USD per smallest unit of token.
        self.usd: dict[str, float] = {}
        # Invariant: _announced[token] is the first announced rate of token.
        self._announced: dict[str, float] = {}
        # Invariant: _routes[instrument] == (base, quote, 10^-k) once k is known.
        self._routes: dict[str, tuple[str, str, float]] = {}
        # Invariant: instruments that could not be routed since the last new pool.
        self._unrouted: set[str] = set()
        self.usd_conflicts = 0
        self.swaps_applied = 0
        # Invariant: keys are exactly the rejecting SwapStatus values, in declaration order.
        self.swaps_rejected: dict[str, int] = {
            status.value: 0 for status in SwapStatus if status is not _APPLIED
        }
        self.snapshots = 0
        self.quotes = 0
        self.books = 0
        self.books_one_sided = 0
        # Invariant: the largest timestamp_ns of any message applied so far (0 before any).
        self.last_timestamp_ns = 0

    def apply_snapshot(self, snapshot: PoolSnapshot) -> PoolState:
        """Announce a pool, or reset a known one (reserves, fee, pair) to ``snapshot``.

        The snapshot's ``token1_usd`` announces token1's USD rate (see the module docstring:
        the first announcement stands, a differing one is counted as a conflict).
        """
        self.snapshots += 1
        self.last_timestamp_ns = max(self.last_timestamp_ns, snapshot.timestamp_ns)
        self._announce(snapshot.token1, snapshot.token1_usd)
        token0 = snapshot.token0
        token1 = snapshot.token1
        pool = self.pools.get(snapshot.pool)
        if pool is not None and (pool.token0, pool.token1) != (token0, token1):
            pool.siblings.remove(pool)
            pool = None
        if pool is None:
            pool = PoolState(
                snapshot.pool,
                token0=token0,
                token1=token1,
                fee_bps=snapshot.fee_bps,
                reserve0=snapshot.reserve0,
                reserve1=snapshot.reserve1,
                token1_usd=snapshot.token1_usd,
                timestamp_ns=snapshot.timestamp_ns,
            )
            siblings = self.pairs.get((token0, token1))
            if siblings is None:
                siblings = self.pairs.get((token1, token0))
                if siblings is None:
                    siblings = self.pairs[(token0, token1)] = []
                else:
                    pool.flipped = token0 != token1
            siblings.append(pool)
            pool.siblings = siblings
            self.pools[snapshot.pool] = pool
            self._unrouted.clear()
            return pool
        pool.reset(
            fee_bps=snapshot.fee_bps,
            reserve0=snapshot.reserve0,
            reserve1=snapshot.reserve1,
            token1_usd=snapshot.token1_usd,
            timestamp_ns=snapshot.timestamp_ns,
        )
        return pool

    def _announce(self, token: str, rate: float) -> None:
        known = self._announced.get(token)
        if known is None:
            self._announced[token] = rate
            self.usd.setdefault(token, rate)
        elif known != rate:
            self.usd_conflicts += 1

    def apply_swap(self, swap: PoolSwapEvent) -> SwapStatus:
        """Apply one swap to its pool; returns what happened (see :class:`SwapStatus`)."""
        if swap.timestamp_ns > self.last_timestamp_ns:  # noqa: PLR1730 (hot path: no call)
            self.last_timestamp_ns = swap.timestamp_ns
        pool = self.pools.get(swap.pool)
        if pool is None:
            self.swaps_rejected["unknown_pool"] += 1
            return _UNKNOWN_POOL
        if swap.timestamp_ns < pool.snapshot_ns:
            self.swaps_rejected["before_snapshot"] += 1
            return _BEFORE_SNAPSHOT
        amount0_in = swap.amount0_in
        amount1_out = swap.amount1_out
        old0 = pool.reserve0
        old1 = pool.reserve1
        reserve0 = old0 + amount0_in
        reserve1 = old1 - amount1_out
        if reserve0 <= 0 or reserve1 <= 0:
            self.swaps_rejected["reserve_exhausted"] += 1
            return _RESERVE_EXHAUSTED
        # Uniswap v2's check, (r0' 10^4 - in0 fee)(r1' 10^4 - in1 fee) >= r0 r1 10^8, is for
        # one input ``in`` and one output ``out``: out (r_in 10^4 + in keep) <= in keep r_out.
        if amount0_in > 0 and amount1_out > 0:  # token0 in, token1 out
            paid = amount0_in * pool.fee_keep
            if amount1_out * (old0 * BPS + paid) > paid * old1:
                return self._refuse(reserve0 * reserve1 < old0 * old1)
        elif amount0_in < 0 and amount1_out < 0:  # token1 in, token0 out
            paid = -amount1_out * pool.fee_keep
            if -amount0_in * (old1 * BPS + paid) > paid * old0:
                return self._refuse(reserve0 * reserve1 < old0 * old1)
        elif amount0_in or amount1_out:  # nothing out, or nothing in
            return self._refuse(reserve0 * reserve1 < old0 * old1)
        pool.reserve0 = reserve0
        pool.reserve1 = reserve1
        pool.price = reserve1 / reserve0
        pool.timestamp_ns = swap.timestamp_ns
        self.swaps_applied += 1
        return _APPLIED

    def _refuse(self, product_falls: bool) -> SwapStatus:
        status = _INVARIANT_BROKEN if product_falls else _UNFILLABLE
        self.swaps_rejected[status.value] += 1
        return status

    def apply_quote(self, quote: QuoteUpdate) -> float:
        """Set the instrument's mid to the quote's ``(bid + ask) / 2`` (and revalue its base
        token, see the module docstring); returns that mid."""
        self.quotes += 1
        self.last_timestamp_ns = max(self.last_timestamp_ns, quote.timestamp_ns)
        mid = (quote.bid_price + quote.ask_price) * 0.5
        instrument = quote.instrument
        self.mids[instrument] = mid
        self._revalue(instrument, mid)
        return mid

    def apply_book(self, book: OrderBookSnapshot) -> float | None:
        """Set the instrument's mid from the best levels (and revalue its base token);
        ``None`` (counted) if a side is empty."""
        self.books += 1
        self.last_timestamp_ns = max(self.last_timestamp_ns, book.timestamp_ns)
        if not book.bids or not book.asks:
            self.books_one_sided += 1
            return None
        mid = (book.bids[0].price + book.asks[0].price) * 0.5
        self.mids[book.instrument] = mid
        self._revalue(book.instrument, mid)
        return mid

    def _revalue(self, instrument: str, mid: float) -> None:
        if not 0.0 < mid < math.inf:
            return
        route = self._routes.get(instrument)
        if route is None:
            if instrument in self._unrouted:
                return
            route = self._route(instrument, mid)
            if route is None:
                self._unrouted.add(instrument)
                return
        base, quote, scale = route
        rate = self.usd.get(quote)
        if rate is None:
            return
        value = rate * mid * scale
        if 0.0 < value < math.inf:
            self.usd[base] = value

    def _route(self, instrument: str, mid: float) -> tuple[str, str, float] | None:
        """``(X, Y, 10^-k)`` for ``"X/Y"`` (see the module docstring), or ``None`` for now."""
        base, slash, quote = instrument.partition("/")
        if not slash or not base or not quote or "/" in quote:
            return None
        siblings = self.pairs.get((base, quote)) or self.pairs.get((quote, base))
        if not siblings:
            return None
        pool = siblings[0]
        price = pool.price if pool.token0 == base else pool.reserve0 / pool.reserve1
        ratio = mid / price
        if not 0.0 < ratio < math.inf:
            return None
        exponent = round(math.log10(ratio))
        if abs(exponent) > _LARGEST_EXPONENT:
            return None
        route = (base, quote, 10.0**-exponent)
        self._routes[instrument] = route
        return route

    def pool(self, address: bytes) -> PoolState | None:
        """The pool at ``address``, or ``None`` if no snapshot announced it."""
        return self.pools.get(address)

    def __repr__(self) -> str:
        return (
            f"MarketState(pools={len(self.pools)}, pairs={len(self.pairs)}, "
            f"instruments={len(self.mids)}, swaps_applied={self.swaps_applied}, "
            f"swaps_rejected={self.swaps_rejected})"
        )
