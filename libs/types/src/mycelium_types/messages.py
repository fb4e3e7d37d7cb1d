"""The message schema shared by every Mycelium trading service (seed task MVP-001).

Every message is a frozen, tagged ``msgspec.Struct``: immutable, so one object can be handed
to any number of local actors without a copy (the seed's ``Arc<T>``), and tagged, so that one
decoder reads any member of a union such as :data:`MarketMessage`.

Invariants hold for every object built by decoding (``mycelium_types.codec.decode``): msgspec
checks the ``Meta`` constraints below while it reads bytes, so a decoded object is never
half-valid. Objects built directly in Python are *not* validated against ``Meta`` (msgspec's
design: checks cost nothing on the hot path); code that builds messages from untrusted values
should round-trip them through :func:`mycelium_types.codec.validate`. The one exception is the
upper bound of :data:`UInt64` fields, which ``Meta`` cannot express: each Struct with such
fields checks it in ``__post_init__`` (one comparison per field), which runs on every
construction, decoded or direct, and raises ``ValueError`` naming the field (msgspec reports
it as a ``ValidationError`` when decoding).

Units: token amounts are integers in the token's smallest unit (wei-like); prices are floats in
token1 per token0 (for pools) or quote currency per unit (for instruments); times are
nanoseconds since the Unix epoch.
"""

from __future__ import annotations

import sys
from typing import Annotated, TypeAlias

import msgspec
from msgspec import Meta

__all__ = [
    "Address",
    "ArbitrageSignal",
    "FiniteFloat",
    "Int64",
    "MarketMessage",
    "MomentumSignal",
    "OrderBookSnapshot",
    "PoolSnapshot",
    "PoolSwapEvent",
    "PositiveFloat",
    "PriceLevel",
    "QuoteUpdate",
    "SignalMessage",
    "UInt64",
]

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1
_U64_MAX = 2**64 - 1
_FLOAT_MAX = sys.float_info.max

Address = Annotated[bytes, Meta(min_length=20, max_length=20, description="20-byte pool address")]
"""A pool (contract) address: exactly 20 bytes."""

Int64 = Annotated[int, Meta(ge=_I64_MIN, le=_I64_MAX)]
"""A signed amount that fits a signed 64-bit integer."""

UInt64 = Annotated[int, Meta(ge=0)]
"""A count, id or timestamp that fits an unsigned 64-bit integer.

``Meta`` bounds must fit an int64, so the upper bound cannot be spelled here. msgpack cannot
carry a larger integer at all, but JSON can, so every Struct with a UInt64 field checks the
bound in ``__post_init__`` (see :func:`_u64_overflow`)."""

FiniteFloat = Annotated[float, Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
"""A float that is neither NaN nor infinite (NaN fails every comparison, so ``ge`` rejects it)."""

PositiveFloat = Annotated[float, Meta(gt=0.0, le=_FLOAT_MAX)]
"""A finite float strictly above zero (prices, sizes)."""

Instrument = Annotated[str, Meta(min_length=1, max_length=64)]

FeeBps = Annotated[int, Meta(ge=0, lt=10_000)]


def _u64_overflow(field: str, value: int) -> ValueError:
    """Build the error for a UInt64 field above 2**64 - 1 (cold path, kept out of the checks)."""
    shown = str(value) if value.bit_length() <= 256 else f"a {value.bit_length()}-bit integer"
    return ValueError(f"`{field}` must fit an unsigned 64-bit integer (<= {_U64_MAX}), got {shown}")


class PoolSwapEvent(msgspec.Struct, frozen=True, tag="swap", gc=False):
    """One swap executed on a constant-product pool.

    Attributes:
        pool: the pool's 20-byte address.
        amount0_in: token0 that entered the pool, smallest units. Negative when token0 left
            the pool (a swap in the other direction).
        amount1_out: token1 that left the pool, smallest units. Negative when token1 entered.
        timestamp_ns: when the swap happened, ns since the Unix epoch.
    """

    pool: Address
    amount0_in: Int64
    amount1_out: Int64
    timestamp_ns: UInt64

    def __post_init__(self) -> None:
        """Check the UInt64 upper bounds that ``Meta`` cannot express."""
        if self.timestamp_ns > _U64_MAX:
            raise _u64_overflow("timestamp_ns", self.timestamp_ns)


class PoolSnapshot(msgspec.Struct, frozen=True, tag="pool", gc=False):
    """The full state of one pool: announces it to the market and resets its reserves.

    Attributes:
        pool: the pool's 20-byte address.
        token0, token1: symbols of the pair, e.g. ``"WETH"`` and ``"USDC"``; pools with the same
            (token0, token1) trade the same pair and are compared for arbitrage.
        fee_bps: the pool's swap fee in basis points (30 = 0.30 %).
        reserve0, reserve1: the pool's reserves, smallest units of token0 and token1.
        token1_usd: the USD value of one whole unit of token1's smallest unit (used to price
            profits in USD); e.g. 1e-6 for USDC with 6 decimals.
        timestamp_ns: when the snapshot was taken, ns since the Unix epoch.
    """

    pool: Address
    token0: Instrument
    token1: Instrument
    fee_bps: FeeBps
    reserve0: Annotated[int, Meta(gt=0, le=_I64_MAX)]
    reserve1: Annotated[int, Meta(gt=0, le=_I64_MAX)]
    token1_usd: PositiveFloat
    timestamp_ns: UInt64

    def __post_init__(self) -> None:
        """Check the UInt64 upper bounds that ``Meta`` cannot express."""
        if self.timestamp_ns > _U64_MAX:
            raise _u64_overflow("timestamp_ns", self.timestamp_ns)


class QuoteUpdate(msgspec.Struct, frozen=True, tag="quote", gc=False):
    """Top of book for one instrument from a quoting venue.

    Attributes:
        instrument: the instrument's symbol, e.g. ``"WETH/USDC"``.
        bid_price, ask_price: best bid and ask, quote currency per unit of the instrument.
        bid_size, ask_size: size available at the bid and the ask, units of the instrument.
        timestamp_ns: when the quote was published, ns since the Unix epoch.
    """

    instrument: Instrument
    bid_price: PositiveFloat
    bid_size: Annotated[float, Meta(ge=0.0, le=_FLOAT_MAX)]
    ask_price: PositiveFloat
    ask_size: Annotated[float, Meta(ge=0.0, le=_FLOAT_MAX)]
    timestamp_ns: UInt64

    def __post_init__(self) -> None:
        """Check the UInt64 upper bounds that ``Meta`` cannot express."""
        if self.timestamp_ns > _U64_MAX:
            raise _u64_overflow("timestamp_ns", self.timestamp_ns)

    @property
    def mid_price(self) -> float:
        """The mid price, ``(bid + ask) / 2``."""
        return (self.bid_price + self.ask_price) / 2.0


class PriceLevel(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One level of an order book: a price and the size resting at it (encoded as a pair)."""

    price: PositiveFloat
    size: Annotated[float, Meta(ge=0.0, le=_FLOAT_MAX)]


class OrderBookSnapshot(msgspec.Struct, frozen=True, tag="book", gc=False):
    """A depth snapshot of one instrument's order book.

    Attributes:
        instrument: the instrument's symbol.
        bids: bid levels, best (highest price) first.
        asks: ask levels, best (lowest price) first.
        timestamp_ns: when the snapshot was taken, ns since the Unix epoch.
    """

    instrument: Instrument
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    timestamp_ns: UInt64

    def __post_init__(self) -> None:
        """Check the UInt64 upper bounds that ``Meta`` cannot express."""
        if self.timestamp_ns > _U64_MAX:
            raise _u64_overflow("timestamp_ns", self.timestamp_ns)

    @property
    def mid_price(self) -> float | None:
        """The mid of the best bid and best ask, or ``None`` when a side is empty."""
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].price + self.asks[0].price) / 2.0


class ArbitrageSignal(msgspec.Struct, frozen=True, tag="arbitrage", gc=False):
    """An arbitrage opportunity between two pools of the same token pair: a sized, two-leg trade.

    The trade pays ``amount_in`` of ``token_in`` into ``pools[0]``, receives ``amount_mid`` of
    the pair's other token, pays that into ``pools[1]`` and receives ``amount_out`` of
    ``token_in``; ``amount_out - amount_in`` is the profit in ``token_in`` units. The amounts
    hold exactly (Uniswap v2 integer maths) on the pool states right after the market message
    numbered ``event``, once the signals revealed before this one by the same message have been
    executed in order.

    Attributes:
        opportunity_id: stable id of the opportunity: the two pools (in either order) and the
            block (``timestamp_ns``); a later signal with the same id replaces an earlier one.
        profit_usd: ``(amount_out - amount_in)`` valued in USD; finite.
        pools: the pools involved, in trade order: ``token_in`` goes into ``pools[0]``, the
            other token comes out and is sold into ``pools[1]``.
        timestamp_ns: timestamp of the swap that revealed the opportunity, ns since the epoch.
        amount_in: ``token_in`` paid into ``pools[0]``, smallest units (0 if unknown).
        amount_mid: the other token, out of ``pools[0]`` and into ``pools[1]`` (0 if unknown).
        amount_out: ``token_in`` out of ``pools[1]``, smallest units (0 if unknown).
        token_in: the symbol of the token paid in and received back ("" if unknown).
        event: 0-based index, in the market-data stream, of the message that revealed it.
    """

    opportunity_id: UInt64
    profit_usd: FiniteFloat
    pools: tuple[Address, ...]
    timestamp_ns: UInt64
    amount_in: Annotated[int, Meta(ge=0, le=_I64_MAX)] = 0
    amount_mid: Annotated[int, Meta(ge=0, le=_I64_MAX)] = 0
    amount_out: Annotated[int, Meta(ge=0, le=_I64_MAX)] = 0
    token_in: Annotated[str, Meta(max_length=64)] = ""
    event: UInt64 = 0

    def __post_init__(self) -> None:
        """Check the UInt64 upper bounds that ``Meta`` cannot express."""
        if self.opportunity_id > _U64_MAX:
            raise _u64_overflow("opportunity_id", self.opportunity_id)
        if self.timestamp_ns > _U64_MAX:
            raise _u64_overflow("timestamp_ns", self.timestamp_ns)
        if self.event > _U64_MAX:
            raise _u64_overflow("event", self.event)


class MomentumSignal(msgspec.Struct, frozen=True, tag="momentum", gc=False):
    """A directional signal on one instrument.

    Attributes:
        signal_id: stable id of the signal.
        instrument: the instrument's symbol.
        strength: signed conviction in [-1, 1]; positive means price expected to rise.
        horizon_ns: how long the signal is expected to hold, ns.
        reference_price: the mid price the signal was computed at, quote per unit.
        timestamp_ns: when the signal was generated, ns since the Unix epoch.
    """

    signal_id: UInt64
    instrument: Instrument
    strength: Annotated[float, Meta(ge=-1.0, le=1.0)]
    horizon_ns: UInt64
    reference_price: PositiveFloat
    timestamp_ns: UInt64

    def __post_init__(self) -> None:
        """Check the UInt64 upper bounds that ``Meta`` cannot express."""
        if self.signal_id > _U64_MAX:
            raise _u64_overflow("signal_id", self.signal_id)
        if self.horizon_ns > _U64_MAX:
            raise _u64_overflow("horizon_ns", self.horizon_ns)
        if self.timestamp_ns > _U64_MAX:
            raise _u64_overflow("timestamp_ns", self.timestamp_ns)


MarketMessage: TypeAlias = PoolSwapEvent | QuoteUpdate | OrderBookSnapshot | PoolSnapshot
"""What the market-data actor handles: swaps, quotes, book snapshots and pool snapshots."""

SignalMessage: TypeAlias = ArbitrageSignal | MomentumSignal
"""What the signal-generator actor handles."""
