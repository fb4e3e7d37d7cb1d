"""The market-data processor: routing and counters (services_v2.domain.processor)."""

from __future__ import annotations

import pytest

from mycelium_types.messages import (
    ArbitrageSignal,
    MarketMessage,
    MomentumSignal,
    OrderBookSnapshot,
    PoolSnapshot,
    PoolSwapEvent,
    PriceLevel,
    QuoteUpdate,
)
from services_v2.domain.momentum import MomentumConfig
from services_v2.domain.pool import get_amount_out
from services_v2.domain.processor import MarketDataProcessor

POOL_A = bytes([0xA] * 20)
POOL_B = bytes([0xB] * 20)
USDC = 1e-6
FAST = MomentumConfig(fast_span=2, slow_span=4, entry_bps=10.0, full_strength_bps=100.0)


def _pools() -> list[MarketMessage]:
    return [
        PoolSnapshot(POOL_A, "WETH", "USDC", 30, 10**12, 2 * 10**12, USDC, 1),
        PoolSnapshot(POOL_B, "WETH", "USDC", 30, 10**12, 2 * 10**12, USDC, 1),
    ]


def test_snapshots_reveal_nothing_and_a_price_moving_swap_reveals_arbitrage() -> None:
    processor = MarketDataProcessor()
    assert [list(processor.process(message)) for message in _pools()] == [[], []]
    # 100,000 USDC into pool B lifts its WETH price about 10 %: buy on A, sell on B.
    usdc_in = 100_000 * 10**6
    weth_out = get_amount_out(usdc_in, 2 * 10**12, 10**12, 30)
    [signal] = processor.process(PoolSwapEvent(POOL_B, -weth_out, -usdc_in, 5))
    assert isinstance(signal, ArbitrageSignal)
    assert signal.pools == (POOL_A, POOL_B)
    assert signal.timestamp_ns == 5
    assert signal.event == 2  # the third message processed
    assert signal.token_in == "USDC"
    assert signal.profit_usd >= 5.0  # the validator's default minimum


def test_rejected_and_empty_swaps_reveal_nothing() -> None:
    processor = MarketDataProcessor()
    for message in _pools():
        processor.process(message)
    assert list(processor.process(PoolSwapEvent(bytes(20), 5, 5, 5))) == []
    assert list(processor.process(PoolSwapEvent(POOL_A, 0, 2 * 10**12, 5))) == []
    assert list(processor.process(PoolSwapEvent(POOL_A, 0, 0, 5))) == []
    counters = processor.counters()
    assert counters.swaps_rejected["unknown_pool"] == 1
    assert counters.swaps_rejected["reserve_exhausted"] == 1
    assert sum(counters.swaps_rejected.values()) == 2
    assert counters.swaps_applied == 1
    assert counters.arbitrage_comparisons == 0


def test_quotes_and_books_feed_momentum() -> None:
    processor = MarketDataProcessor(FAST)
    quotes: list[MarketMessage] = [
        QuoteUpdate("WETH/USDC", mid - 0.5, 1.0, mid + 0.5, 1.0, t)
        for t, mid in enumerate([100.0, 100.0, 100.0])
    ]
    for quote in quotes:
        assert list(processor.process(quote)) == []
    book = OrderBookSnapshot("WETH/USDC", (PriceLevel(100.5, 1.0),), (PriceLevel(101.5, 1.0),), 3)
    [signal] = processor.process(book)
    assert isinstance(signal, MomentumSignal)
    assert signal.reference_price == 101.0
    one_sided = OrderBookSnapshot("WETH/USDC", (), (PriceLevel(1.0, 1.0),), 4)
    assert list(processor.process(one_sided)) == []
    counters = processor.counters()
    assert (counters.quotes, counters.books, counters.books_one_sided) == (3, 2, 1)
    assert counters.momentum_signals == 1


def test_counters_add_up_to_the_events() -> None:
    processor = MarketDataProcessor()
    messages: list[MarketMessage] = [
        *_pools(),
        PoolSwapEvent(POOL_A, 10**9, 1_000_000, 3),
        PoolSwapEvent(bytes(20), 1, 1, 4),
        QuoteUpdate("WETH/USDC", 1.0, 1.0, 2.0, 1.0, 5),
    ]
    for message in messages:
        processor.process(message)
    c = processor.counters()
    rejected = sum(c.swaps_rejected.values())
    assert c.events == c.snapshots + c.swaps_applied + rejected + c.quotes + c.books == 5
    assert c.arbitrage_gaps == (
        c.arbitrage_signals
        + c.arbitrage_rounding_losses
        + c.arbitrage_below_min_profit
        + c.arbitrage_unpriced
    )
    assert c.pools == 2


def test_a_message_of_another_type_is_refused_and_not_counted() -> None:
    processor = MarketDataProcessor()
    wrong = ArbitrageSignal(1, 1.0, (POOL_A, POOL_B), 1)
    with pytest.raises(TypeError, match=r"expected a MarketMessage .* got ArbitrageSignal$"):
        processor.process(wrong)  # type: ignore[arg-type]  # the point of the test
    assert processor.events == 0


def test_opportunities_below_the_minimum_profit_are_counted_not_signalled() -> None:
    events: list[MarketMessage] = [
        *_pools(),
        # 5 WETH sold into A at its own price: B is then worth ~$3.90 more than the fees.
        PoolSwapEvent(POOL_A, 5 * 10**9, get_amount_out(5 * 10**9, 10**12, 2 * 10**12, 30), 3),
    ]
    strict, loose = MarketDataProcessor(), MarketDataProcessor(min_profit_usd=0.0)
    assert [list(strict.process(event)) for event in events] == [[], [], []]
    [signal] = [signal for event in events for signal in loose.process(event)]
    assert isinstance(signal, ArbitrageSignal)
    assert 0.0 < signal.profit_usd < 5.0
    assert strict.counters().arbitrage_below_min_profit == 1
    assert loose.counters().arbitrage_signals == 1
