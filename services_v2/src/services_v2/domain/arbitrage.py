r"""Two-pool arbitrage between constant-product pools of the same pair, in closed form.

Setting. Pool A holds ``a0`` token0 and ``a1`` token1 and keeps ``gA = 1 - feeA`` of every
input; pool B likewise (``b0``, ``b1``, ``gB``). Token0 is cheaper on A when
``a1 / a0 < b1 / b0``. The trade pays ``dx`` token1 into A, receives token0, and sells it on B
for token1.

Derivation. By the constant-product rule with a fee (Adams, Zinsmeister, Robinson, *Uniswap
v2 Core*, 2020), an input ``x`` into reserves ``(R_in, R_out)`` returns
``g x R_out / (R_in + g x)``, so:

    y(dx) = gA dx a0 / (a1 + gA dx)                    token0 bought on A
    z(dx) = gB y b1 / (b0 + gB y)                      token1 received on B
          = E dx / (F + G dx)   with   E = gA gB a0 b1,   F = a1 b0,   G = gA (b0 + gB a0)

Two pools in series act like one constant-product pool. The profit ``P(dx) = z(dx) - dx`` is
concave, ``P'(dx) = E F / (F + G dx)^2 - 1``, so the optimum solves ``F + G dx = sqrt(E F)``:

    dx* = (sqrt(E F) - F) / G
        = (sqrt(gA gB a0 a1 b0 b1) - a1 b0) / (gA b0 + gA gB a0)
    P*  = (sqrt(E) - sqrt(F))^2 / G

and a trade exists (``dx* > 0``) exactly when ``E > F``, that is ``gA gB b1/b0 > a1/a0``: the
price gap exceeds both pools' fees. The one-pool-against-a-reference-price case of the same
first-order condition is ``computeProfitMaximizingTrade`` in Uniswap v2's periphery
(``contracts/libraries/UniswapV2LiquidityMathLibrary.sol``); the arbitrage analysis of
constant-product markets is in Angeris, Kao, Chiang, Noyes, Chitra, *An analysis of Uniswap
markets* (2019, arXiv:1911.03380).

Integers. With fees in bps, ``gA = nA / 10^4`` (``nA = 10^4 - feeA_bps``); multiplying by
``10^8`` keeps everything in integers::

    dx* = (isqrt(nA nB a0 a1 b0 b1 10^8) - a1 b0 10^8) // (nA (10^4 b0 + nB a0))

and the *realised* profit is computed with Uniswap v2's exact, rounded-down ``getAmountOut``
on both legs (:func:`round_trip_profit`).

Integer optimum (:func:`best_trade`). ``dx*`` rounded down is not the best integer input: the
middle token may be coarse (one satoshi of WBTC is worth 600 units of USDC), so paying a few
hundred units less can buy the same amount of it. The search starts at ``dx*`` and climbs while
a neighbour is strictly better: one unit of input more or less, or the cheapest input that buys
one unit of the middle token more or less (``ceil(y a1 10^4 / (nA (a0 - y)))`` buys ``y``;
which of the two it climbs over depends on which token is the coarser). It stops at an input
that no neighbour beats, or earlier at one that makes ``floor(P*)``: no integer trade makes
more than the continuous optimum, so that one is the exact integer optimum. Otherwise, since
any better input must earn at least one unit more, and the continuous ``P(dx) >= that`` holds
on an interval (``P`` is concave, and it bounds every rounded profit), if that interval holds
few candidates (:data:`_FEW`: inputs, or amounts of the coarse middle token) all are tried: the
result is then the exact integer optimum (always, on small pools). On deep pools the interval
is millions of units wide and the climb's result stands: the floors cost at most a unit of each
token, so it is within a few units of input of the optimum (on the built-in market, 6 searches
in 10 end proven exact).

Detection uses floats only to decide what to compute: the price gap against the fees, the
continuous ``P*`` (a bound: a pair whose ``P*`` is under one unit, or worth less than the
minimum profit, is not searched) and the climb's direction; every amount is integer.

Several pools (:class:`ArbitrageDetector`). When one swap moves a pool against several
siblings, the trades are chosen greedily on updated reserves: the most profitable pair first,
sized as above; then every other pair again on the reserves that trade leaves, and so on, each
pair at most once per swap, until no pair is worth ``min_profit_usd``. Executed in that order on
the reserves they were computed from, the trades realise exactly the profits they report.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from hashlib import blake2b
from typing import final

from mycelium_types.messages import ArbitrageSignal

from .pool import BPS, PoolState, get_amount_out

__all__ = [
    "ArbitrageDetector",
    "best_trade",
    "continuous_max_profit",
    "opportunity_id",
    "optimal_amount_in",
    "pair_key",
    "round_trip_profit",
]

_FLOAT_MAX = sys.float_info.max
_ONE_UNIT = 1.0 - 1e-9
_MARGIN = 1.0 + 1e-9

_BPS2 = BPS * BPS
_EMPTY: tuple[ArbitrageSignal, ...] = ()


def optimal_amount_in(*, a0: int, a1: int, fee_a_bps: int, b0: int, b1: int, fee_b_bps: int) -> int:
    """The token1 input into pool A that maximises the A→B round trip; 0 if none is profitable.

    Pool A (reserves ``a0``, ``a1``) is where token0 is bought, pool B (``b0``, ``b1``) where
    it is sold. The result is the integer form of ``dx*`` in the module docstring, rounded
    down. Reserves must be positive and fees in ``[0, 10_000)`` bps.
    """
    keep_a = BPS - fee_a_bps
    keep_b = BPS - fee_b_bps
    f_scaled = a1 * b0 * _BPS2
    root = math.isqrt(keep_a * keep_b * a0 * a1 * b0 * b1 * _BPS2)
    if root <= f_scaled:
        return 0
    return (root - f_scaled) // (keep_a * (BPS * b0 + keep_b * a0))


def round_trip_profit(
    amount_in: int, *, a0: int, a1: int, fee_a_bps: int, b0: int, b1: int, fee_b_bps: int
) -> int:
    """Token1 gained (negative: lost) by paying ``amount_in`` token1 into A and selling on B.

    Both legs use the exact, rounded-down :func:`~services_v2.domain.pool.get_amount_out`, so
    this is what the trade would really return against these reserves.
    """
    bought = get_amount_out(amount_in, a1, a0, fee_a_bps)
    return get_amount_out(bought, b0, b1, fee_b_bps) - amount_in


def continuous_max_profit(
    *, a0: int, a1: int, fee_a_bps: int, b0: int, b1: int, fee_b_bps: int
) -> float:
    """The real-valued optimum ``P* = (sqrt(E) - sqrt(F))^2 / G`` in token1 units (0 if none)."""
    ga = (BPS - fee_a_bps) / BPS
    gb = (BPS - fee_b_bps) / BPS
    e = ga * gb * a0 * b1
    f = float(a1 * b0)
    if e <= f:
        return 0.0
    return (math.sqrt(e) - math.sqrt(f)) ** 2 / (ga * (b0 + gb * a0))


def best_trade(
    *, a0: int, a1: int, fee_a_bps: int, b0: int, b1: int, fee_b_bps: int
) -> tuple[int, int, int] | None:
    """The best integer A→B round trip: ``(amount_in, amount_mid, amount_out)``, or ``None``.

    ``amount_in`` token1 into A (reserves ``a0``, ``a1``) buys ``amount_mid`` token0, which
    sold into B (``b0``, ``b1``) returns ``amount_out`` token1, all by Uniswap v2's
    ``getAmountOut``. ``amount_in`` is the integer search of the module docstring (no
    neighbour does better); ``None`` when no trade of it makes at least one unit of profit.
    Reserves must be positive and fees in ``[0, 10_000)`` bps.
    """
    trade = _best_trade(a0, a1, BPS - fee_a_bps, b0, b1, BPS - fee_b_bps)
    if trade is None or trade[2] <= trade[0]:
        return None
    return trade


def _best_trade(  # noqa: PLR0917 (hot path: positional arguments, no tuples to build)
    a0: int,
    a1: int,
    keep_a: int,
    b0: int,
    b1: int,
    keep_b: int,
    root_e: float = 0.0,
    root_f: float = 0.0,
    g: float = 0.0,
) -> tuple[int, int, int] | None:
    """:func:`best_trade` with fees as ``keep = 10^4 - fee``; ``None`` when there is no gap
    (otherwise the trade found, profitable or not).

    ``root_e``, ``root_f`` and ``g`` are ``sqrt(E)``, ``sqrt(F)`` and ``G`` of the module
    docstring, as floats, when the caller has them (``g == 0``: compute them here).
    """
    if g == 0.0:
        gamma_a = keep_a / BPS
        root_e = math.sqrt(gamma_a * (keep_b / BPS) * a0 * b1)
        root_f = math.sqrt(a1 * b0)
        g = gamma_a * (b0 + keep_b / BPS * a0)
    start = root_f * (root_e - root_f) / g  # dx*, within 1e-3 of the exact one below 2^40
    if 0.0 < start < _FLOAT_START:
        x = int(start) or 1
    else:
        f_scaled = a1 * b0 * _BPS2
        root = math.isqrt(keep_a * keep_b * a0 * a1 * b0 * b1 * _BPS2)
        if root <= f_scaled:
            return None
        x = (root - f_scaled) // (keep_a * (BPS * b0 + keep_b * a0)) or 1
    # Middle-token units bought by one more unit of input, around x (float: it only picks
    # which neighbours to climb over).
    gamma_a = keep_a / BPS
    marginal = gamma_a * a0 * a1 / (a1 + gamma_a * x) ** 2
    # No integer profit exceeds the continuous optimum P*: a trade making floor(P*) is the
    # best (the margins make the float P* an upper bound).
    ceiling = (root_e - root_f) ** 2 / g * _MARGIN + _MARGIN - 1.0
    enough = int(ceiling) if ceiling < _FLOAT_START else _NO_CEILING
    if marginal > _FINE_MID:
        x, y, z = _climb_input(x, a0, a1, keep_a, b0, b1, keep_b, enough)
    elif marginal < _COARSE_MID:
        x, y, z = _climb_mid(x, a0, a1, keep_a, b0, b1, keep_b, enough)
    else:
        x, y, z = _climb_both(x, a0, a1, keep_a, b0, b1, keep_b)
    # Could an input earn one unit more? Not above P*; otherwise such inputs lie where the
    # continuous profit is >= best + 1, between the roots of G dx^2 - (E - F - G c) dx + c F
    # = 0 (c = best + 1): try them all if they are few.
    target = max(z - x + 1, 1)
    if target > ceiling:
        return x, y, z
    f = root_f * root_f
    h = root_e * root_e - f - g * target
    discriminant = h * h - 4.0 * g * target * f
    if discriminant < 0.0:
        return x, y, z
    half_width = math.sqrt(discriminant) / (2.0 * g)
    if min(1.0, marginal) * half_width * 2.0 > _FEW:
        return x, y, z
    centre = h / (2.0 * g)
    low = max(1, int(centre - half_width) - 1)
    high = int(centre + half_width) + 2
    return _try_all(x, y, z, low, high, marginal >= 1.0, a0, a1, keep_a, b0, b1, keep_b)


_FLOAT_START = 2.0**40
_NO_CEILING = 2**126
_FINE_MID = 1.01
_COARSE_MID = 0.99
_FEW = 64
"""Candidates few enough to try them all once the climb has stopped."""


def _legs(x: int, a0: int, a1: int, keep_a: int, b0: int, b1: int, keep_b: int) -> tuple[int, int]:  # noqa: PLR0917
    with_fee = x * keep_a
    y = with_fee * a0 // (a1 * BPS + with_fee)
    with_fee = y * keep_b
    return y, with_fee * b1 // (b0 * BPS + with_fee)


def _climb_input(  # noqa: PLR0917 (hot path: positional arguments)
    x: int, a0: int, a1: int, keep_a: int, b0: int, b1: int, keep_b: int, enough: int
) -> tuple[int, int, int]:
    """Each unit of input buys at least one unit of the middle token: climb on the input
    (no further than a profit of ``enough``, which nothing beats)."""
    y, z = _legs(x, a0, a1, keep_a, b0, b1, keep_b)
    best = z - x
    for step in (1, -1):
        moved = False
        while x + step > 0 and best < enough:
            candidate = x + step
            out_a, out_b = _legs(candidate, a0, a1, keep_a, b0, b1, keep_b)
            if out_b - candidate <= best:
                break
            x, y, z, best = candidate, out_a, out_b, out_b - candidate
            moved = True
        if moved:
            break
    return x, y, z


def _climb_mid(  # noqa: PLR0917 (hot path: positional arguments)
    x: int, a0: int, a1: int, keep_a: int, b0: int, b1: int, keep_b: int, enough: int
) -> tuple[int, int, int]:
    """The middle token is the coarser: climb on it, paying for each amount the cheapest
    input, ``ceil(mid a1 10^4 / (keep_a (a0 - mid)))`` (no further than a profit of
    ``enough``, which nothing beats)."""
    in_a = a1 * BPS
    in_b = b0 * BPS
    with_fee = x * keep_a
    mid = with_fee * a0 // (in_a + with_fee)
    if not 0 < mid < a0:
        y, z = _legs(x, a0, a1, keep_a, b0, b1, keep_b)
        return x, y, z
    x = -((-mid * in_a) // (keep_a * (a0 - mid)))
    with_fee = mid * keep_b
    z = with_fee * b1 // (in_b + with_fee)
    best = z - x
    for step in (1, -1):
        moved = False
        while 0 < mid + step < a0 and best < enough:
            candidate_mid = mid + step
            candidate = -((-candidate_mid * in_a) // (keep_a * (a0 - candidate_mid)))
            with_fee = candidate_mid * keep_b
            out_b = with_fee * b1 // (in_b + with_fee)
            if out_b - candidate <= best:
                break
            mid, x, z, best = candidate_mid, candidate, out_b, out_b - candidate
            moved = True
        if moved:
            break
    # One unit of input buys at most one unit of the middle token here, so the cheapest
    # input for ``mid`` buys exactly ``mid``.
    return x, mid, z


def _climb_both(  # noqa: PLR0917 (hot path: positional arguments)
    x: int, a0: int, a1: int, keep_a: int, b0: int, b1: int, keep_b: int
) -> tuple[int, int, int]:
    """Climb over both kinds of neighbour (when neither token is clearly the coarser)."""
    in_a = a1 * BPS
    y, z = _legs(x, a0, a1, keep_a, b0, b1, keep_b)
    best = z - x
    while True:
        moved = False
        candidates = [x - 1, x + 1]
        candidates.extend(
            -((-mid * in_a) // (keep_a * (a0 - mid))) for mid in (y - 1, y, y + 1) if 0 < mid < a0
        )
        for candidate in candidates:
            if candidate <= 0 or candidate == x:
                continue
            out_a, out_b = _legs(candidate, a0, a1, keep_a, b0, b1, keep_b)
            if out_b - candidate > best:
                x, y, z, best = candidate, out_a, out_b, out_b - candidate
                moved = True
        if not moved:
            return x, y, z


def _try_all(  # noqa: PLR0917 (the search's state, passed as it is)
    x: int,
    y: int,
    z: int,
    low: int,
    high: int,
    by_input: bool,
    a0: int,
    a1: int,
    keep_a: int,
    b0: int,
    b1: int,
    keep_b: int,
) -> tuple[int, int, int]:
    """The best of ``(x, y, z)`` and every input in ``[low, high]`` (``by_input``), or the
    cheapest input of every amount of the middle token those inputs buy; ties keep the
    smaller input."""
    best = z - x
    if by_input:
        for candidate in range(low, high + 1):
            out_a, out_b = _legs(candidate, a0, a1, keep_a, b0, b1, keep_b)
            if out_b - candidate > best or (out_b - candidate == best and candidate < x):
                x, y, z, best = candidate, out_a, out_b, out_b - candidate
        return x, y, z
    in_a = a1 * BPS
    first, _ = _legs(low, a0, a1, keep_a, b0, b1, keep_b)
    last, _ = _legs(high, a0, a1, keep_a, b0, b1, keep_b)
    for mid in range(max(first, 1), min(last, a0 - 1) + 1):
        candidate = -((-mid * in_a) // (keep_a * (a0 - mid)))
        out_a, out_b = _legs(candidate, a0, a1, keep_a, b0, b1, keep_b)
        if out_b - candidate > best or (out_b - candidate == best and candidate < x):
            x, y, z, best = candidate, out_a, out_b, out_b - candidate
    return x, y, z


_MASK64 = (1 << 64) - 1
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def pair_key(pool_a: bytes, pool_b: bytes) -> int:
    """A stable 64-bit key for two pools, in either order: BLAKE2b-64 of both addresses, the
    smaller first."""
    low, high = (pool_a, pool_b) if pool_a <= pool_b else (pool_b, pool_a)
    return int.from_bytes(blake2b(low + high, digest_size=8).digest(), "big")


def opportunity_id(buy_pool: bytes, sell_pool: bytes, timestamp_ns: int) -> int:
    """A stable 64-bit id for "an opportunity between these two pools at ``timestamp_ns``".

    ``splitmix64(pair_key(buy_pool, sell_pool) XOR timestamp_ns)``: BLAKE2b of the pool pair
    (in either order, computed once per pair by the detector), mixed with the timestamp by the
    splitmix64 finalizer, a bijection of 64-bit integers (Steele, Lea, Flood, *Fast splittable
    pseudorandom number generators*, 2014). The same inputs give the same id in every process
    and run (unlike ``hash()``, which is salted per process). Swaps in one block share a
    timestamp, so every opportunity between two pools in one block, whichever way it trades,
    has one id: the validator lets the latest replace the earlier ones.
    """
    return _splitmix64(pair_key(buy_pool, sell_pool) ^ timestamp_ns)


def _splitmix64(value: int) -> int:
    value = ((value ^ (value >> 30)) * _MIX1) & _MASK64
    value = ((value ^ (value >> 27)) * _MIX2) & _MASK64
    return value ^ (value >> 31)


@final
class ArbitrageDetector:
    """Finds profitable two-pool trades after a pool's price moved, sized to be executed together.

    :meth:`detect` compares the moved pool with every sibling (pools of the same two tokens,
    whichever is token0; amounts are taken in the pair's canonical order, so ``token_in`` is
    its canonical token1) and returns the trades chosen greedily on updated reserves (module
    docstring): each worth at least ``min_profit_usd`` at the USD rate of ``token_in`` read
    from ``usd`` (a live mapping, e.g. :attr:`MarketState.usd`) when it is found.

    Counters (pure functions of the inputs), one verdict per (moved pool, sibling) pair and
    swap, the pair's last: :attr:`comparisons` (pairs compared), :attr:`gaps` (pairs whose gap
    exceeded both fees), :attr:`signals` (trades returned), :attr:`rounding_losses` (gaps no
    integer trade makes profitable), :attr:`below_min_profit` (profitable, but worth less than
    ``min_profit_usd``) and :attr:`unpriced` (profitable, but ``token_in`` has no USD rate or
    the USD value is not a finite float, e.g. a pool announcing an absurd ``token1_usd``: no
    signal, since ``ArbitrageSignal.profit_usd`` must be finite);
    ``gaps == signals + rounding_losses + below_min_profit + unpriced``.
    """

    __slots__ = (
        "_min_profit_usd",
        "_pair_keys",
        "_usd",
        "below_min_profit",
        "comparisons",
        "gaps",
        "rounding_losses",
        "signals",
        "unpriced",
    )

    def __init__(self, usd: Mapping[str, float], *, min_profit_usd: float = 0.0) -> None:
        if not 0.0 <= min_profit_usd < math.inf:
            raise ValueError(f"min_profit_usd must be finite and >= 0, got {min_profit_usd}")
        self._usd = usd
        self._min_profit_usd = min_profit_usd
        # Invariant: _pair_keys[(buy, sell)] == pair_key(buy, sell).
        self._pair_keys: dict[tuple[bytes, bytes], int] = {}
        self.comparisons = 0
        self.gaps = 0
        self.signals = 0
        self.rounding_losses = 0
        self.below_min_profit = 0
        self.unpriced = 0

    def detect(
        self, pool: PoolState, timestamp_ns: int, event: int = 0
    ) -> Sequence[ArbitrageSignal]:
        """Trades revealed by ``pool``'s new reserves, in the order they are to be executed.

        ``timestamp_ns`` is the swap's time and ``event`` its index in the stream; both go on
        every signal. Each signal's ``pools`` is ``(buy_pool, sell_pool)``: ``token_in`` goes
        into the first pool, the other token comes out and is sold into the second; its amounts
        hold on the current reserves once the signals before it have been executed.
        """
        siblings = pool.siblings
        count = len(siblings)
        if count < 2:
            return _EMPTY
        self.comparisons += count - 1
        gamma = pool.gamma
        # Fast path: most swaps open no gap (prices in the canonical order, token1 per token0).
        price = 1.0 / pool.price if pool.flipped else pool.price
        for other in siblings:
            if other is pool:
                continue
            other_price = 1.0 / other.price if other.flipped else other.price
            both = gamma * other.gamma
            if other_price < price * both or price < other_price * both:
                break
        else:
            return _EMPTY
        if pool.flipped:
            m0, m1 = pool.reserve1, pool.reserve0
        else:
            m0, m1 = pool.reserve0, pool.reserve1
        keep_m = pool.fee_keep
        found: list[ArbitrageSignal] | None = None
        traded: set[bytes] | None = None  # siblings already traded with (once per swap)
        rate: float | None = None
        priced = True
        while True:
            price = m1 / m0
            best_profit = 0
            best: tuple[PoolState, bool, tuple[int, int, int]] | None = None
            gaps = rounding = below = unpriced = 0
            for other in siblings:
                if other is pool or (traded is not None and other.address in traded):
                    continue
                if other.flipped:
                    o0, o1 = other.reserve1, other.reserve0
                else:
                    o0, o1 = other.reserve0, other.reserve1
                both = gamma * other.gamma
                other_price = o1 / o0
                if other_price < price * both:
                    buy_moved = False
                elif price < other_price * both:
                    buy_moved = True
                else:
                    continue
                if rate is None and priced:
                    rate = self._usd.get(pool.token0 if pool.flipped else pool.token1)
                    priced = rate is not None
                gaps += 1
                if buy_moved:
                    a0, a1, keep_a, gamma_a, b0, b1, keep_b, gamma_b = (
                        m0,
                        m1,
                        keep_m,
                        gamma,
                        o0,
                        o1,
                        other.fee_keep,
                        other.gamma,
                    )
                else:
                    a0, a1, keep_a, gamma_a, b0, b1, keep_b, gamma_b = (
                        o0,
                        o1,
                        other.fee_keep,
                        other.gamma,
                        m0,
                        m1,
                        keep_m,
                        gamma,
                    )
                # The continuous optimum bounds every integer trade (module docstring); the
                # margin covers its float rounding.
                root_e = math.sqrt(gamma_a * gamma_b * a0 * b1)
                root_f = math.sqrt(a1 * b0)
                g = gamma_a * (b0 + gamma_b * a0)
                bound = (root_e - root_f) ** 2 / g
                if bound < _ONE_UNIT:
                    rounding += 1
                    continue
                if rate is None or not bound * rate < _FLOAT_MAX:
                    unpriced += 1
                    continue
                if bound * rate * _MARGIN < self._min_profit_usd:
                    below += 1
                    continue
                trade = _best_trade(a0, a1, keep_a, b0, b1, keep_b, root_e, root_f, g)
                if trade is None or trade[2] <= trade[0]:
                    rounding += 1
                    continue
                profit = trade[2] - trade[0]
                if profit * rate < self._min_profit_usd:
                    below += 1
                elif profit > best_profit:
                    if best is not None:
                        below += 1
                    best_profit = profit
                    best = (other, buy_moved, trade)
                else:
                    below += 1
            if best is None or rate is None:
                # The last round: every pair still open gets this round's verdict.
                if gaps:
                    self.gaps += gaps
                    self.rounding_losses += rounding
                    self.unpriced += unpriced
                    self.below_min_profit += below
                break
            other, buy_moved, (amount_in, amount_mid, amount_out) = best
            if buy_moved:
                buy, sell = pool, other
                m0 -= amount_mid
                m1 += amount_in
            else:
                buy, sell = other, pool
                m0 += amount_mid
                m1 -= amount_out
            self.gaps += 1
            self.signals += 1
            pools = (buy.address, sell.address)
            key = self._pair_keys.get(pools)
            if key is None:
                key = self._pair_keys[pools] = pair_key(*pools)
            # opportunity_id(), inlined: splitmix64(pair key XOR timestamp).
            mixed = key ^ timestamp_ns
            mixed = ((mixed ^ (mixed >> 30)) * _MIX1) & _MASK64
            mixed = ((mixed ^ (mixed >> 27)) * _MIX2) & _MASK64
            signal = ArbitrageSignal(
                mixed ^ (mixed >> 31),
                best_profit * rate,
                pools,
                timestamp_ns,
                amount_in,
                amount_mid,
                amount_out,
                pool.token0 if pool.flipped else pool.token1,
                event,
            )
            if found is None:
                found = [signal]
            else:
                found.append(signal)
            if traded is None:
                traded = {other.address}
            else:
                traded.add(other.address)
            if len(found) == count - 1:
                break
        return _EMPTY if found is None else found

    def __repr__(self) -> str:
        return (
            f"ArbitrageDetector(comparisons={self.comparisons}, gaps={self.gaps}, "
            f"signals={self.signals}, rounding_losses={self.rounding_losses}, "
            f"below_min_profit={self.below_min_profit}, unpriced={self.unpriced})"
        )
