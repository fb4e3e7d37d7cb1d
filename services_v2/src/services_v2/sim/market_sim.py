"""A deterministic, seeded market simulator: pools that lag a drifting fair price.

The model, per pair of tokens:

- A *fair price* (token1 per token0) follows a geometric random walk, one step per block.
- Several constant-product pools trade the pair, with different fee tiers (5, 30, 100 bps)
  and depths. Pools only move when someone trades on them, so they lag the fair price.
- *Noise traders* swap random sizes (log-normal, a fraction of the pool's depth) in random
  directions, pushing a pool off the fair price; the pools of a pair drift apart.
- *Arbitrageurs* (a share of the swaps) trade a pool whose price is outside the fair price's
  fee band back to the band's edge, so gaps close again, as they do on chain.
- Off-chain venues publish :class:`QuoteUpdate` (and now and then an
  :class:`OrderBookSnapshot`) around the fair price, in whole units (e.g. USD per WETH).

The stream starts with one :class:`PoolSnapshot` per pool, then mixes swaps, quotes and books.
Swaps carry their block's timestamp (several per block, as on chain); a small share is
delivered late (stamped a few blocks back), and a few name pools that were never announced,
as a real capture would. Every swap is computed with Uniswap v2's exact ``getAmountOut`` and
buys at least one unit, so reserves stay positive, the product of reserves never decreases and
every swap on an announced pool is one the pool would fill.

Determinism: everything comes from one ``random.Random(seed)``; no global state, no clock.
The same ``(seed, config, count)`` always gives the same events.

Units: token amounts are integers in each token's smallest unit; the token decimals below are
chosen so that every reserve fits the schema's signed 64-bit integers (WETH in gwei, 9
decimals; USDC 6; WBTC 8; LINK 9).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Generator
from dataclasses import dataclass
from hashlib import blake2b
from itertools import accumulate, islice
from typing import final

from mycelium_types.messages import (
    MarketMessage,
    OrderBookSnapshot,
    PoolSnapshot,
    PoolSwapEvent,
    PriceLevel,
    QuoteUpdate,
)
from services_v2.domain.pool import BPS, get_amount_out

__all__ = [
    "DEFAULT_EVENTS",
    "DEFAULT_PAIRS",
    "MarketSimulator",
    "PairSpec",
    "PoolSpec",
    "SimConfig",
    "pool_address",
    "simulate",
]

DEFAULT_EVENTS = 200_000
"""The bundle's default stream length: a few seconds of work for the sequential layout."""


@final
@dataclass(frozen=True, slots=True)
class PoolSpec:
    """One pool of a pair: its fee tier (bps, in [0, 10_000)) and its depth (USD, > 0).

    ``flipped`` pools list the pair's tokens the other way round (``token1/token0``) in their
    snapshots and swaps, as some venues do; the market is the same.
    """

    fee_bps: int
    liquidity_usd: float
    flipped: bool = False


@final
@dataclass(frozen=True, slots=True)
class PairSpec:
    """A token pair and its pools.

    Attributes:
        token0, token1: symbols; the instrument is ``"token0/token1"``.
        decimals0, decimals1: smallest units per whole token, as powers of ten.
        price: initial fair price, whole token1 per whole token0 (> 0).
        token1_usd: USD per whole token1 (> 0).
        volatility_bps: standard deviation of the fair price's log-return per block, bps.
        weight: relative share of the swaps that trade this pair (> 0).
        pools: the pair's pools (two or more for arbitrage to appear).
    """

    token0: str
    token1: str
    decimals0: int
    decimals1: int
    price: float
    token1_usd: float
    volatility_bps: float
    weight: float
    pools: tuple[PoolSpec, ...]


DEFAULT_PAIRS: tuple[PairSpec, ...] = (
    PairSpec(
        "WETH",
        "USDC",
        9,
        6,
        price=3_000.0,
        token1_usd=1.0,
        volatility_bps=6.0,
        weight=0.5,
        pools=(
            PoolSpec(5, 40_000_000.0),
            PoolSpec(30, 20_000_000.0),
            PoolSpec(30, 6_000_000.0),
            PoolSpec(100, 4_000_000.0),
        ),
    ),
    PairSpec(
        "WBTC",
        "USDC",
        8,
        6,
        price=60_000.0,
        token1_usd=1.0,
        volatility_bps=5.0,
        weight=0.3,
        pools=(PoolSpec(5, 30_000_000.0), PoolSpec(30, 12_000_000.0), PoolSpec(100, 3_000_000.0)),
    ),
    PairSpec(
        "LINK",
        "WETH",
        9,
        9,
        price=0.005,
        token1_usd=3_000.0,
        volatility_bps=8.0,
        weight=0.2,
        pools=(PoolSpec(30, 5_000_000.0), PoolSpec(100, 2_000_000.0)),
    ),
)


@final
@dataclass(frozen=True, slots=True)
class SimConfig:
    """The simulator's knobs; the defaults give a stream with real, fixable arbitrage.

    Attributes:
        pairs: the token pairs and their pools.
        start_ns: timestamp of the first block, ns since the Unix epoch.
        block_time_ns: time between blocks, ns (> 0).
        events_per_block: mean number of events per block (>= 1).
        quote_share, book_share: shares of the events that are quotes / book snapshots.
        arbitrageur_share: share of swaps made by an arbitrageur, when the pool is outside
            the fair price's fee band (otherwise the swap is a noise trade).
        noise_median_fraction: median noise trade, as a fraction of the pool's token1 reserve.
        noise_sigma: log-normal sigma of noise trade sizes.
        late_share: share of swaps delivered late, stamped ``late_blocks`` blocks back.
        late_blocks: (min, max) blocks a late swap's timestamp lags its block.
        unknown_pool_share: share of swaps on pools no snapshot announced.
        quote_noise_bps: standard deviation of a quote's mid around the fair price, bps.
        min_swap_units: the smallest swap input, smallest units (>= 1; small pools want
            small swaps).
    """

    pairs: tuple[PairSpec, ...] = DEFAULT_PAIRS
    start_ns: int = 1_700_000_000_000_000_000
    block_time_ns: int = 2_000_000_000
    events_per_block: float = 6.0
    quote_share: float = 0.12
    book_share: float = 0.02
    arbitrageur_share: float = 0.5
    noise_median_fraction: float = 0.0004
    noise_sigma: float = 1.0
    late_share: float = 0.004
    late_blocks: tuple[int, int] = (1, 5)
    unknown_pool_share: float = 0.001
    quote_noise_bps: float = 1.0
    min_swap_units: int = 1_000

    def __post_init__(self) -> None:
        if not self.pairs:
            raise ValueError("pairs must not be empty")
        if self.block_time_ns <= 0:
            raise ValueError(f"block_time_ns must be > 0, got {self.block_time_ns}")
        if not self.events_per_block >= 1.0:
            raise ValueError(f"events_per_block must be >= 1, got {self.events_per_block}")
        shares = (self.quote_share, self.book_share, self.arbitrageur_share, self.late_share)
        if (
            not all(0.0 <= share <= 1.0 for share in shares)
            or self.quote_share + self.book_share > 1
        ):
            raise ValueError("shares must be in [0, 1] and quote_share + book_share <= 1")
        low, high = self.late_blocks
        if not 0 <= low <= high:
            raise ValueError(f"late_blocks must satisfy 0 <= min <= max, got {(low, high)}")
        if self.min_swap_units < 1:
            raise ValueError(f"min_swap_units must be >= 1, got {self.min_swap_units}")


def pool_address(token0: str, token1: str, fee_bps: int, index: int) -> bytes:
    """The simulator's 20-byte address of the ``index``-th pool of a pair (seed-independent)."""
    name = f"sim-pool/{token0}/{token1}/{fee_bps}/{index}".encode()
    return blake2b(name, digest_size=20).digest()


@final
class _Pool:
    __slots__ = ("address", "fee_bps", "flipped", "gamma", "reserve0", "reserve1")

    def __init__(
        self, address: bytes, fee_bps: int, reserve0: int, reserve1: int, *, flipped: bool
    ) -> None:
        self.address = address
        self.fee_bps = fee_bps
        self.gamma = (BPS - fee_bps) / BPS
        # Invariant: both reserves > 0, in the pair's order (token0, token1) even when the pool
        # is announced flipped; they change only by get_amount_out-consistent swaps.
        self.reserve0 = reserve0
        self.reserve1 = reserve1
        self.flipped = flipped


@final
class _Pair:
    __slots__ = ("cum_weights", "fair", "instrument", "pools", "scale", "spec", "vol")

    def __init__(self, spec: PairSpec, pools: list[_Pool], fair: float) -> None:
        self.spec = spec
        self.pools = pools
        self.cum_weights = list(accumulate(pool.liquidity_usd for pool in spec.pools))
        # Invariant: fair > 0, in token1 smallest units per token0 smallest unit.
        self.fair = fair
        self.scale = 10.0 ** (spec.decimals0 - spec.decimals1)
        self.instrument = f"{spec.token0}/{spec.token1}"
        self.vol = spec.volatility_bps / BPS


@final
class MarketSimulator:
    """Produces the event stream described in the module docstring, one event at a time.

    ``MarketSimulator(seed, config).events(n)`` yields exactly ``n`` events (fewer only when
    ``n`` is below the number of pools: the first ``n`` snapshots). Each call to
    :meth:`events` continues the same market; create a new simulator to start over.
    """

    __slots__ = ("_block_ts", "_config", "_pair_weights", "_pairs", "_rng", "_unknown")

    def __init__(self, seed: int = 0, config: SimConfig | None = None) -> None:
        self._rng = random.Random(seed)
        self._config = config if config is not None else SimConfig()
        self._block_ts = self._config.start_ns
        self._unknown = 0
        self._pairs: list[_Pair] = []
        for spec in self._config.pairs:
            # In smallest units: token1 units per token0 unit.
            fair = spec.price / 10.0 ** (spec.decimals0 - spec.decimals1)
            pools: list[_Pool] = []
            for index, pool_spec in enumerate(spec.pools):
                usd_per_unit1 = spec.token1_usd / 10.0**spec.decimals1
                reserve1 = int(pool_spec.liquidity_usd / 2.0 / usd_per_unit1)
                # Pools start close to, not exactly at, the fair price.
                start_price = fair * math.exp(self._rng.gauss(0.0, 10.0 / BPS))
                reserve0 = int(reserve1 / start_price)
                address = pool_address(spec.token0, spec.token1, pool_spec.fee_bps, index)
                pools.append(
                    _Pool(address, pool_spec.fee_bps, reserve0, reserve1, flipped=pool_spec.flipped)
                )
            self._pairs.append(_Pair(spec, pools, fair))
        self._pair_weights = list(accumulate(spec.weight for spec in self._config.pairs))

    def snapshots(self) -> list[PoolSnapshot]:
        """One snapshot per pool, with its current reserves, at the current block's time."""
        out: list[PoolSnapshot] = []
        for pair in self._pairs:
            spec = pair.spec
            token1_usd = spec.token1_usd / 10.0**spec.decimals1
            token0_usd = spec.price * spec.token1_usd / 10.0**spec.decimals0
            for pool in pair.pools:
                if pool.flipped:
                    tokens, reserves = (spec.token1, spec.token0), (pool.reserve1, pool.reserve0)
                    usd = token0_usd
                else:
                    tokens, reserves = (spec.token0, spec.token1), (pool.reserve0, pool.reserve1)
                    usd = token1_usd
                out.append(
                    PoolSnapshot(
                        pool=pool.address,
                        token0=tokens[0],
                        token1=tokens[1],
                        fee_bps=pool.fee_bps,
                        reserve0=reserves[0],
                        reserve1=reserves[1],
                        token1_usd=usd,
                        timestamp_ns=self._block_ts,
                    )
                )
        return out

    def events(self, count: int) -> Generator[MarketMessage, None, None]:
        """Yield ``count`` events: every pool's snapshot first, then the live stream."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        snapshots = self.snapshots()
        yield from islice(snapshots, count)
        for _ in range(count - len(snapshots)):
            yield self._next_event()

    def _next_event(self) -> MarketMessage:
        rng = self._rng
        config = self._config
        if rng.random() * config.events_per_block < 1.0:
            self._new_block()
        draw = rng.random()
        if draw < config.quote_share:
            return self._quote(self._pick_pair())
        if draw < config.quote_share + config.book_share:
            return self._book(self._pick_pair())
        return self._swap(self._pick_pair())

    def _new_block(self) -> None:
        self._block_ts += self._config.block_time_ns
        gauss = self._rng.gauss
        for pair in self._pairs:
            pair.fair *= math.exp(pair.vol * gauss(0.0, 1.0))

    def _pick_pair(self) -> _Pair:
        weights = self._pair_weights
        return self._pairs[bisect_right(weights, self._rng.random() * weights[-1])]

    def _quote(self, pair: _Pair) -> QuoteUpdate:
        rng = self._rng
        mid = pair.fair * pair.scale * math.exp(rng.gauss(0.0, self._config.quote_noise_bps / BPS))
        half_spread = mid * rng.uniform(0.5, 2.0) / BPS
        return QuoteUpdate(
            instrument=pair.instrument,
            bid_price=mid - half_spread,
            bid_size=round(rng.lognormvariate(0.0, 1.0), 4),
            ask_price=mid + half_spread,
            ask_size=round(rng.lognormvariate(0.0, 1.0), 4),
            timestamp_ns=self._block_ts + rng.randrange(self._config.block_time_ns),
        )

    def _book(self, pair: _Pair) -> OrderBookSnapshot:
        rng = self._rng
        mid = pair.fair * pair.scale * math.exp(rng.gauss(0.0, self._config.quote_noise_bps / BPS))
        tick = mid / BPS
        bids = tuple(
            PriceLevel(mid - tick * (level + 1), round(rng.lognormvariate(0.0, 1.0), 4))
            for level in range(5)
        )
        asks = tuple(
            PriceLevel(mid + tick * (level + 1), round(rng.lognormvariate(0.0, 1.0), 4))
            for level in range(5)
        )
        return OrderBookSnapshot(
            instrument=pair.instrument,
            bids=bids,
            asks=asks,
            timestamp_ns=self._block_ts + rng.randrange(self._config.block_time_ns),
        )

    def _swap(self, pair: _Pair) -> PoolSwapEvent:
        rng = self._rng
        config = self._config
        timestamp_ns = self._block_ts
        if rng.random() < config.late_share:
            low, high = config.late_blocks
            lag = rng.randint(low, high) * config.block_time_ns
            timestamp_ns = max(config.start_ns, timestamp_ns - lag)
        if rng.random() < config.unknown_pool_share:
            self._unknown += 1
            address = blake2b(b"sim-unknown/%d" % self._unknown, digest_size=20).digest()
            size = rng.randrange(1_000, 1_000_000)
            return PoolSwapEvent(address, size, size // 3, timestamp_ns)
        buy_token0 = False
        amount = 0
        pool = None
        if rng.random() < config.arbitrageur_share:
            # An arbitrageur trades the pool furthest outside the fair price's fee band back
            # to the band's edge (if any pool is outside it).
            fair = pair.fair
            worst = 0.0
            for candidate in pair.pools:
                price = candidate.reserve1 / candidate.reserve0
                low_edge = fair * candidate.gamma
                high_edge = fair / candidate.gamma
                if price < low_edge and low_edge / price > 1.0 + worst:
                    worst = low_edge / price - 1.0
                    pool = candidate
                    target1 = math.sqrt(candidate.reserve0 * candidate.reserve1 * low_edge)
                    buy_token0 = True
                    amount = int((target1 - candidate.reserve1) / candidate.gamma)
                elif price > high_edge and price / high_edge > 1.0 + worst:
                    worst = price / high_edge - 1.0
                    pool = candidate
                    target0 = math.sqrt(candidate.reserve0 * candidate.reserve1 / high_edge)
                    buy_token0 = False
                    amount = int((target0 - candidate.reserve0) / candidate.gamma)
        if pool is None:
            # A noise trader: random pool (weighted by depth), size and direction.
            weights = pair.cum_weights
            pool = pair.pools[bisect_right(weights, rng.random() * weights[-1])]
            fraction = config.noise_median_fraction * rng.lognormvariate(0.0, config.noise_sigma)
            size1 = pool.reserve1 * min(fraction, 0.05)
            buy_token0 = rng.random() < 0.5
            amount = int(size1) if buy_token0 else int(size1 * pool.reserve0 / pool.reserve1)
        amount = max(amount, config.min_swap_units)
        reserve0 = pool.reserve0
        reserve1 = pool.reserve1
        reserve_in, reserve_out = (reserve1, reserve0) if buy_token0 else (reserve0, reserve1)
        out = get_amount_out(amount, reserve_in, reserve_out, pool.fee_bps)
        if out == 0:  # a pool pays nothing for too small an input: pay enough for one unit
            keep = BPS - pool.fee_bps
            amount = -(-reserve_in * BPS // (keep * (reserve_out - 1)))
            out = get_amount_out(amount, reserve_in, reserve_out, pool.fee_bps)
        if buy_token0:
            amount0_in, amount1_out = -out, -amount
        else:
            amount0_in, amount1_out = amount, out
        pool.reserve0 = reserve0 + amount0_in
        pool.reserve1 = reserve1 - amount1_out
        if pool.flipped:  # in the pool's own order: token1 in is its token0 in
            return PoolSwapEvent(pool.address, -amount1_out, -amount0_in, timestamp_ns)
        return PoolSwapEvent(pool.address, amount0_in, amount1_out, timestamp_ns)


def simulate(
    count: int = DEFAULT_EVENTS, seed: int = 0, config: SimConfig | None = None
) -> list[MarketMessage]:
    """The first ``count`` events of ``MarketSimulator(seed, config)``, as a list."""
    return list(MarketSimulator(seed, config).events(count))
