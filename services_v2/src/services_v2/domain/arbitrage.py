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
on both legs (:func:`round_trip_profit`); a signal is emitted only when that integer profit is
strictly positive.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from hashlib import blake2b
from typing import final

from mycelium_types.messages import ArbitrageSignal

from .pool import BPS, PoolState, get_amount_out

__all__ = [
    "ArbitrageDetector",
    "continuous_max_profit",
    "opportunity_id",
    "optimal_amount_in",
    "pair_key",
    "round_trip_profit",
]

_FLOAT_MAX = sys.float_info.max

_BPS2 = BPS * BPS
_I64_MAX = 2**63 - 1
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


_MASK64 = (1 << 64) - 1
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def pair_key(buy_pool: bytes, sell_pool: bytes) -> int:
    """A stable 64-bit key for the ordered pool pair: BLAKE2b-64 of both addresses."""
    return int.from_bytes(blake2b(buy_pool + sell_pool, digest_size=8).digest(), "big")


def opportunity_id(buy_pool: bytes, sell_pool: bytes, timestamp_ns: int) -> int:
    """A stable 64-bit id for "buy on ``buy_pool``, sell on ``sell_pool``, at ``timestamp_ns``".

    ``splitmix64(pair_key(buy_pool, sell_pool) XOR timestamp_ns)``: BLAKE2b of the ordered
    pool pair (computed once per pair by the detector), mixed with the timestamp by the
    splitmix64 finalizer, a bijection of 64-bit integers (Steele, Lea, Flood, *Fast splittable
    pseudorandom number generators*, 2014). The same inputs give the same id in every process
    and run (unlike ``hash()``, which is salted per process). Swaps in one block share a
    timestamp, so one block's repeats of the same trade share an id.
    """
    return _splitmix64(pair_key(buy_pool, sell_pool) ^ timestamp_ns)


def _splitmix64(value: int) -> int:
    value = ((value ^ (value >> 30)) * _MIX1) & _MASK64
    value = ((value ^ (value >> 27)) * _MIX2) & _MASK64
    return value ^ (value >> 31)


@final
class ArbitrageDetector:
    """Finds profitable two-pool trades after a pool's price moved.

    :meth:`detect` compares the moved pool with every other pool of its pair, in the order the
    pools were announced, and returns one :class:`ArbitrageSignal` per pair of pools whose gap
    exceeds both fees *and* whose optimal integer trade realises a profit > 0.

    Counters (pure functions of the inputs): :attr:`comparisons` (pool pairs compared),
    :attr:`gaps` (pairs whose gap exceeded both fees), :attr:`signals` (signals returned) and
    :attr:`rounding_losses` (gaps whose integer trade was not profitable) and :attr:`unpriced`
    (profitable gaps whose USD value is not a finite float, e.g. a pool announcing an absurd
    ``token1_usd``: no signal, since ``ArbitrageSignal.profit_usd`` must be finite);
    ``gaps == signals + rounding_losses + unpriced``.
    """

    __slots__ = ("_pair_keys", "comparisons", "gaps", "rounding_losses", "signals", "unpriced")

    def __init__(self) -> None:
        # Invariant: _pair_keys[(buy, sell)] == pair_key(buy, sell).
        self._pair_keys: dict[tuple[bytes, bytes], int] = {}
        self.comparisons = 0
        self.gaps = 0
        self.signals = 0
        self.rounding_losses = 0
        self.unpriced = 0

    def detect(self, pool: PoolState, timestamp_ns: int) -> Sequence[ArbitrageSignal]:
        """Signals revealed by ``pool``'s new price; ``timestamp_ns`` is the swap's time.

        Each signal's ``pools`` is ``(buy_pool, sell_pool)``: token1 goes into the first pool,
        token0 comes out and is sold into the second. ``amount_in`` is the optimal token1
        input, ``profit_usd`` the realised integer profit times the buy pool's ``token1_usd``.
        """
        siblings = pool.siblings
        if len(siblings) < 2:
            return _EMPTY
        found: list[ArbitrageSignal] | None = None
        price = pool.price
        gamma = pool.gamma
        for other in siblings:
            if other is pool:
                continue
            self.comparisons += 1
            both = gamma * other.gamma
            other_price = other.price
            if other_price < price * both:
                signal = self._signal(other, pool, timestamp_ns)
            elif price < other_price * both:
                signal = self._signal(pool, other, timestamp_ns)
            else:
                continue
            if signal is not None:
                if found is None:
                    found = [signal]
                else:
                    found.append(signal)
        return _EMPTY if found is None else found

    def _signal(self, buy: PoolState, sell: PoolState, timestamp_ns: int) -> ArbitrageSignal | None:
        self.gaps += 1
        a0 = buy.reserve0
        a1 = buy.reserve1
        b0 = sell.reserve0
        b1 = sell.reserve1
        keep_a = buy.fee_keep
        keep_b = sell.fee_keep
        f_scaled = a1 * b0 * _BPS2
        root = math.isqrt(keep_a * keep_b * a0 * a1 * b0 * b1 * _BPS2)
        amount_in = 0
        if root > f_scaled:
            amount_in = min((root - f_scaled) // (keep_a * (BPS * b0 + keep_b * a0)), _I64_MAX)
        if amount_in <= 0:
            self.rounding_losses += 1
            return None
        # Uniswap v2 getAmountOut on both legs, inlined (reserves are known to be positive).
        with_fee = amount_in * keep_a
        bought = with_fee * a0 // (a1 * BPS + with_fee)
        with_fee = bought * keep_b
        profit = with_fee * b1 // (b0 * BPS + with_fee) - amount_in
        if profit <= 0:
            self.rounding_losses += 1
            return None
        profit_usd = profit * buy.token1_usd
        if not profit_usd < _FLOAT_MAX:  # inf (or nan): the schema only carries finite profits
            self.unpriced += 1
            return None
        self.signals += 1
        pools = (buy.address, sell.address)
        key = self._pair_keys.get(pools)
        if key is None:
            key = self._pair_keys[pools] = pair_key(*pools)
        # opportunity_id(), inlined: splitmix64(pair key XOR timestamp).
        mixed = key ^ timestamp_ns
        mixed = ((mixed ^ (mixed >> 30)) * _MIX1) & _MASK64
        mixed = ((mixed ^ (mixed >> 27)) * _MIX2) & _MASK64
        return ArbitrageSignal(mixed ^ (mixed >> 31), profit_usd, pools, timestamp_ns, amount_in)

    def __repr__(self) -> str:
        return (
            f"ArbitrageDetector(comparisons={self.comparisons}, gaps={self.gaps}, "
            f"signals={self.signals}, rounding_losses={self.rounding_losses}, "
            f"unpriced={self.unpriced})"
        )
