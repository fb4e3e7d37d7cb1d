"""The seeded market simulator (services_v2.sim.market_sim)."""

from __future__ import annotations

import pytest

from mycelium_types.messages import (
    OrderBookSnapshot,
    PoolSnapshot,
    PoolSwapEvent,
    QuoteUpdate,
)
from services_v2.domain.market_state import MarketState, SwapStatus
from services_v2.layouts.sequential import run_reference
from services_v2.sim import (
    DEFAULT_EVENTS,
    DEFAULT_PAIRS,
    MarketSimulator,
    PairSpec,
    PoolSpec,
    SimConfig,
    simulate,
)

POOLS = sum(len(pair.pools) for pair in DEFAULT_PAIRS)


def test_the_same_seed_gives_the_same_events() -> None:
    assert simulate(5_000, seed=7) == simulate(5_000, seed=7)


def test_another_seed_gives_other_events() -> None:
    one, two = simulate(5_000, seed=1), simulate(5_000, seed=2)
    assert one[POOLS:] != two[POOLS:]
    assert sum(a != b for a, b in zip(one, two, strict=True)) > 4_000


def test_a_longer_run_extends_a_shorter_one() -> None:
    assert simulate(3_000, seed=3)[:1_000] == simulate(1_000, seed=3)


def test_the_stream_starts_with_one_snapshot_per_pool_and_counts_exactly() -> None:
    events = simulate(2_000, seed=0)
    assert len(events) == 2_000
    snapshots = events[:POOLS]
    assert all(isinstance(event, PoolSnapshot) for event in snapshots)
    assert (
        len({snapshot.pool for snapshot in snapshots if isinstance(snapshot, PoolSnapshot)})
        == POOLS
    )
    assert {snapshot.fee_bps for snapshot in snapshots if isinstance(snapshot, PoolSnapshot)} == {
        5,
        30,
        100,
    }
    assert not any(isinstance(event, PoolSnapshot) for event in events[POOLS:])
    assert simulate(3, seed=0) == events[:3]
    assert simulate(0) == []


def test_the_stream_mixes_swaps_quotes_books_late_and_unknown_pools() -> None:
    events = simulate(20_000, seed=0)
    kinds = {
        kind: sum(type(event) is kind for event in events)
        for kind in (PoolSwapEvent, QuoteUpdate, OrderBookSnapshot)
    }
    assert kinds[PoolSwapEvent] > 15_000
    assert kinds[QuoteUpdate] > 1_500
    assert kinds[OrderBookSnapshot] > 200
    swaps = [event for event in events if isinstance(event, PoolSwapEvent)]
    newest = 0
    late = 0
    for swap in swaps:
        late += swap.timestamp_ns < newest
        newest = max(newest, swap.timestamp_ns)
    assert late > 0
    state = MarketState()
    for event in events[:POOLS]:
        assert isinstance(event, PoolSnapshot)
        state.apply_snapshot(event)
    results = [state.apply_swap(swap) for swap in swaps]
    assert results.count(SwapStatus.UNKNOWN_POOL) > 0
    assert SwapStatus.RESERVE_EXHAUSTED not in results


def test_every_swap_is_a_fee_paying_constant_product_trade() -> None:
    events = simulate(10_000, seed=5)
    state = MarketState()
    for event in events[:POOLS]:
        assert isinstance(event, PoolSnapshot)
        state.apply_snapshot(event)
    for event in events[POOLS:]:
        if not isinstance(event, PoolSwapEvent) or event.pool not in state.pools:
            continue
        pool = state.pools[event.pool]
        before = pool.reserve0 * pool.reserve1
        assert (event.amount0_in > 0) == (event.amount1_out > 0)
        assert state.apply_swap(event) is SwapStatus.APPLIED
        assert pool.reserve0 * pool.reserve1 >= before


def test_the_default_stream_holds_validated_arbitrage() -> None:
    result = run_reference(simulate(DEFAULT_EVENTS, seed=0))
    validation = result.validation
    assert validation.arbitrage_accepted > 100
    assert len(result.plans) == validation.arbitrage_accepted
    # Every rejection reason that a live market can trigger does occur (opportunities below
    # the minimum profit are not signalled: the market side counts them).
    for reason in ("stale", "weak_momentum"):
        assert validation.rejected[reason] > 0, reason
    assert result.market.arbitrage_below_min_profit > 0
    assert validation.superseded > 0
    assert validation.momentum_accepted > 0


def test_a_flipped_pool_is_announced_and_traded_in_the_other_token_order() -> None:
    pair = PairSpec(
        "AAA",
        "BBB",
        0,
        0,
        price=2.0,
        token1_usd=10.0,
        volatility_bps=20.0,
        weight=1.0,
        pools=(PoolSpec(30, 200_000.0), PoolSpec(30, 200_000.0, flipped=True)),
    )
    config = SimConfig(pairs=(pair,), min_swap_units=1, noise_median_fraction=0.003)
    events = simulate(3_000, seed=2, config=config)
    straight, flipped = events[:2]
    assert isinstance(straight, PoolSnapshot)
    assert isinstance(flipped, PoolSnapshot)
    assert (straight.token0, straight.token1) == ("AAA", "BBB")
    assert (flipped.token0, flipped.token1) == ("BBB", "AAA")
    assert flipped.reserve0 > flipped.reserve1  # 2 BBB per AAA
    assert flipped.token1_usd == 20.0  # one AAA
    state = MarketState()
    state.apply_snapshot(straight)
    state.apply_snapshot(flipped)
    # Every swap, in each pool's own token order, is one the pool would fill (even with
    # one-unit swaps allowed: a swap always buys at least one unit).
    swaps = [event for event in events if isinstance(event, PoolSwapEvent)]
    results = [state.apply_swap(swap) for swap in swaps if swap.pool in state.pools]
    assert set(results) == {SwapStatus.APPLIED}
    assert sum(swap.pool == flipped.pool for swap in swaps) > 300


def test_events_continue_the_same_market() -> None:
    simulator = MarketSimulator(seed=4)
    first = list(simulator.events(500))
    second = list(simulator.events(500))
    # The second call re-announces every pool with its current reserves, then carries on.
    assert all(isinstance(event, PoolSnapshot) for event in second[:POOLS])
    assert second[:POOLS] != first[:POOLS]
    assert first + second[POOLS:] == simulate(1_000 - POOLS, seed=4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pairs": ()}, r"^pairs must not be empty$"),
        ({"block_time_ns": 0}, r"^block_time_ns must be > 0, got 0$"),
        ({"events_per_block": 0.5}, r"^events_per_block must be >= 1, got 0.5$"),
        ({"quote_share": 0.7, "book_share": 0.4}, r"quote_share \+ book_share <= 1$"),
        ({"late_blocks": (3, 1)}, r"^late_blocks must satisfy 0 <= min <= max, got \(3, 1\)$"),
        ({"min_swap_units": 0}, r"^min_swap_units must be >= 1, got 0$"),
    ],
)
def test_config_rejects_nonsense(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig(**kwargs)  # type: ignore[arg-type]


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^count must be >= 0, got -1$"):
        list(MarketSimulator().events(-1))
