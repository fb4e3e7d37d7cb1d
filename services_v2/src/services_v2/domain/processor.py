"""The market-data service's domain: market state plus both detectors, one message at a time.

:class:`MarketDataProcessor` is what a ``MarketDataActor`` wraps: for each
:data:`~mycelium_types.messages.MarketMessage` it updates :class:`MarketState` and returns the
signals the update revealed, in a deterministic order, for the signal-generator service.

Messages are numbered from 0 in the order processed (a message refused for its type gets no
number); an arbitrage signal's ``event`` is the number of the swap that revealed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import final

from mycelium_types.messages import (
    MarketMessage,
    OrderBookSnapshot,
    PoolSnapshot,
    PoolSwapEvent,
    QuoteUpdate,
    SignalMessage,
)

from .arbitrage import ArbitrageDetector
from .market_state import MarketState, SwapStatus
from .momentum import MomentumConfig, MomentumDetector
from .validator import DEFAULT_MIN_PROFIT_USD

__all__ = ["MarketCounters", "MarketDataProcessor"]

_APPLIED = SwapStatus.APPLIED
_EMPTY: tuple[SignalMessage, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class MarketCounters:
    """A snapshot of a processor's counters; every field is a pure function of its inputs.

    Invariants: ``events == snapshots + swaps_applied + sum(swaps_rejected.values()) + quotes +
    books``; ``arbitrage_gaps == arbitrage_signals + arbitrage_rounding_losses +
    arbitrage_below_min_profit + arbitrage_unpriced``.
    """

    events: int
    snapshots: int
    swaps_applied: int
    swaps_rejected: dict[str, int] = field(default_factory=dict[str, int])
    quotes: int = 0
    books: int = 0
    books_one_sided: int = 0
    pools: int = 0
    arbitrage_comparisons: int = 0
    arbitrage_gaps: int = 0
    arbitrage_rounding_losses: int = 0
    arbitrage_below_min_profit: int = 0
    arbitrage_unpriced: int = 0
    arbitrage_signals: int = 0
    momentum_signals: int = 0
    usd_conflicts: int = 0


@final
class MarketDataProcessor:
    """Applies market messages and detects signals; see the module docstring.

    For each message, :meth:`process` returns (possibly empty, never None):

    - :class:`PoolSwapEvent` applied and moving a price: the :class:`ArbitrageSignal` objects
      of :meth:`ArbitrageDetector.detect`, in execution order, each worth at least
      ``min_profit_usd`` (the validator's minimum, so that the validator keeps all of one
      swap's trades or, stale, none: they are sized to be executed together). A rejected swap
      (see :class:`SwapStatus`) returns nothing and is counted by the market state.
    - :class:`QuoteUpdate`, or :class:`OrderBookSnapshot` with both sides: at most one
      :class:`MomentumSignal`.
    - :class:`PoolSnapshot`: nothing (it announces or resets a pool).

    The returned sequence belongs to the caller; it is not reused.
    Not thread-safe: one owner processes messages one at a time, in order.
    """

    __slots__ = ("arbitrage", "events", "momentum", "state")

    def __init__(
        self,
        momentum: MomentumConfig | None = None,
        *,
        min_profit_usd: float = DEFAULT_MIN_PROFIT_USD,
    ) -> None:
        self.state = MarketState()
        self.arbitrage = ArbitrageDetector(self.state.usd, min_profit_usd=min_profit_usd)
        self.momentum = MomentumDetector(momentum)
        # Invariant: messages processed so far; the next one is number `events`.
        self.events = 0

    def process(self, message: MarketMessage) -> Sequence[SignalMessage]:
        """Apply ``message`` and return the signals it revealed (see the class docstring).

        Raises:
            TypeError: ``message`` is not a MarketMessage member.
        """
        self.events += 1
        if type(message) is PoolSwapEvent:
            state = self.state
            if state.apply_swap(message) is not _APPLIED:
                return _EMPTY
            if message.amount0_in == 0 and message.amount1_out == 0:
                return _EMPTY
            return self.arbitrage.detect(
                state.pools[message.pool], message.timestamp_ns, self.events - 1
            )
        if type(message) is QuoteUpdate:
            mid = self.state.apply_quote(message)
            signal = self.momentum.update(message.instrument, mid, message.timestamp_ns)
            return _EMPTY if signal is None else (signal,)
        if type(message) is PoolSnapshot:
            self.state.apply_snapshot(message)
            return _EMPTY
        if type(message) is OrderBookSnapshot:
            book_mid = self.state.apply_book(message)
            if book_mid is None:
                return _EMPTY
            signal = self.momentum.update(message.instrument, book_mid, message.timestamp_ns)
            return _EMPTY if signal is None else (signal,)
        self.events -= 1
        raise TypeError(
            "expected a MarketMessage (PoolSwapEvent, QuoteUpdate, OrderBookSnapshot or "
            f"PoolSnapshot), got {type(message).__name__}"
        )

    def counters(self) -> MarketCounters:
        """A snapshot of the counters (dicts are copied)."""
        state = self.state
        arbitrage = self.arbitrage
        return MarketCounters(
            events=self.events,
            snapshots=state.snapshots,
            swaps_applied=state.swaps_applied,
            swaps_rejected=dict(state.swaps_rejected),
            quotes=state.quotes,
            books=state.books,
            books_one_sided=state.books_one_sided,
            pools=len(state.pools),
            arbitrage_comparisons=arbitrage.comparisons,
            arbitrage_gaps=arbitrage.gaps,
            arbitrage_rounding_losses=arbitrage.rounding_losses,
            arbitrage_below_min_profit=arbitrage.below_min_profit,
            arbitrage_unpriced=arbitrage.unpriced,
            arbitrage_signals=arbitrage.signals,
            momentum_signals=self.momentum.signals,
            usd_conflicts=state.usd_conflicts,
        )

    def __repr__(self) -> str:
        return f"MarketDataProcessor(events={self.events}, state={self.state!r})"
