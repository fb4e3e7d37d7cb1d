"""An independent replay of ``mycelium-bundle --plans``: the plans execute to what they report.

Nothing here uses the detector's closed form or the services' swap code. The replay keeps its
own pool states from the event stream, with Uniswap v2's ``getAmountOut`` written again from
the formula (``out = x (1 - fee) R_out / (R_in + x (1 - fee))``, rounded down), and its own
USD rates from the rule the README states. On several seeds of a market of small pools (a few
thousand units per reserve, so that every input can be tried) it checks, for every event:

- the plans of that event, executed in file order on the pool states right after the event,
  pay exactly ``amount_mid`` and ``amount_out`` and make ``profit_units > 0``, worth
  ``profit_usd`` at the latest rate of ``token_in``;
- each plan's profit is exactly the best any input makes on that pool pair at that moment
  (brute force over every input the continuous two-leg curve leaves profitable): on pools
  this small the detector's search tries every candidate (module docstring of
  ``services_v2.domain.arbitrage``);
- after the plans, no trade between the moved pool and a sibling, either way, paid in the
  pair's ``token_in`` (its first pool's token1), makes even one unit (worth $20 or $40 here,
  far above the $5 minimum profit): the plans leave nothing worth having. The documented
  exception: a pair traded earlier in the same event and re-opened by a later plan that moved
  the pool again (each pair is traded at most once per event); such events are counted and
  must stay rare. Late swaps, whose plans the validator may drop as stale, owe nothing;
- ``supersedes`` names an earlier plan on the same two pools in the same block, from an
  earlier event, and ``realised_profit_usd`` is the sum over the plans not superseded.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mycelium_types.messages import (
    MarketMessage,
    OrderBookSnapshot,
    PoolSnapshot,
    QuoteUpdate,
)
from services_v2.bundle.cli import main
from services_v2.bundle.event_file import write_events
from services_v2.sim import PairSpec, PoolSpec, SimConfig, simulate

FEE_DENOMINATOR = 10_000
MIN_PROFIT_USD = 5.0  # the bundle's default ValidatorConfig
MAX_AGE_NS = 4_000_000_000  # likewise: a signal this much older than the newest is stale

# Two pairs of tokens with no decimals, so a unit is a whole token: B is worth $20, A $40.
SMALL_MARKET = SimConfig(
    pairs=(
        PairSpec(
            "A",
            "B",
            0,
            0,
            price=2.0,
            token1_usd=20.0,
            volatility_bps=25.0,
            weight=0.6,
            pools=(
                PoolSpec(5, 400_000.0),
                PoolSpec(30, 300_000.0),
                PoolSpec(100, 200_000.0),
                PoolSpec(30, 250_000.0, flipped=True),
            ),
        ),
        PairSpec(
            "C",
            "A",
            0,
            0,
            price=0.5,
            token1_usd=40.0,
            volatility_bps=25.0,
            weight=0.4,
            pools=(PoolSpec(30, 300_000.0), PoolSpec(100, 200_000.0, flipped=True)),
        ),
    ),
    noise_median_fraction=0.006,
    min_swap_units=1,
)
DECIMALS = {"A": 0, "B": 0, "C": 0}
TOKEN_IN = {frozenset("AB"): "B", frozenset("CA"): "A"}  # each pair's first pool's token1


def swap_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    """Uniswap v2 ``getAmountOut``: ``x (1 - fee) R_out / (R_in + x (1 - fee))``, floored."""
    kept = amount_in * (FEE_DENOMINATOR - fee_bps)
    return kept * reserve_out // (reserve_in * FEE_DENOMINATOR + kept)


@dataclass
class Pool:
    tokens: tuple[str, str]
    reserves: list[int]
    fee_bps: int
    snapshot_ns: int

    def reserve(self, token: str) -> int:
        return self.reserves[self.tokens.index(token)]

    def add(self, token: str, amount: int) -> None:
        self.reserves[self.tokens.index(token)] += amount


@dataclass
class Market:
    """The replay's own view of the market, from the README's rules."""

    pools: dict[bytes, Pool] = field(default_factory=dict[bytes, Pool])
    usd: dict[str, float] = field(default_factory=dict[str, float])
    announced: set[str] = field(default_factory=set[str])

    def apply(self, event: MarketMessage) -> Pool | None:
        """Apply ``event``; returns the pool a swap moved, if it was applied and moved it."""
        if isinstance(event, PoolSnapshot):
            self.pools[event.pool] = Pool(
                (event.token0, event.token1),
                [event.reserve0, event.reserve1],
                event.fee_bps,
                event.timestamp_ns,
            )
            if event.token1 not in self.announced:
                self.announced.add(event.token1)
                self.usd.setdefault(event.token1, event.token1_usd)
            return None
        if isinstance(event, QuoteUpdate):
            self._quote(event.instrument, (event.bid_price + event.ask_price) / 2)
            return None
        if isinstance(event, OrderBookSnapshot):
            if event.bids and event.asks:
                self._quote(event.instrument, (event.bids[0].price + event.asks[0].price) / 2)
            return None
        pool = self.pools.get(event.pool)
        if pool is None or event.timestamp_ns < pool.snapshot_ns:
            return None
        # Uniswap v2's swap: something must come out, both reserves stay positive, and the
        # product of the balances net of the fee on what came in must not fall.
        old0, old1 = pool.reserves
        new0, new1 = old0 + event.amount0_in, old1 - event.amount1_out
        paid0, paid1 = max(event.amount0_in, 0), max(-event.amount1_out, 0)
        if max(-event.amount0_in, event.amount1_out) <= 0 or new0 <= 0 or new1 <= 0:
            return None
        fee = pool.fee_bps
        adjusted = (new0 * FEE_DENOMINATOR - paid0 * fee) * (new1 * FEE_DENOMINATOR - paid1 * fee)
        if adjusted < old0 * old1 * FEE_DENOMINATOR**2:
            return None
        pool.reserves = [new0, new1]
        return pool if (event.amount0_in or event.amount1_out) else None

    def _quote(self, instrument: str, mid: float) -> None:
        base, quote = instrument.split("/")
        if quote in self.usd:
            self.usd[base] = self.usd[quote] * mid / 10 ** (DECIMALS[base] - DECIMALS[quote])


def best_profit(buy: Pool, sell: Pool, token_in: str) -> int:
    """The most any input of ``token_in`` makes through ``buy`` then ``sell``: brute force.

    Every input that can make a profit is tried. The two legs without rounding give
    ``E x / (F + G x)`` with ``E = gA gB a_mid b_in``, ``F = a_in b_mid``, ``G = gA (b_mid +
    gB a_mid)`` (g = 1 - fee), which is above any rounded result, and it is above ``x`` only
    for ``x < (E - F) / G``: beyond that no input is profitable.
    """
    mid_token = buy.tokens[1 - buy.tokens.index(token_in)]
    a_in, a_mid = buy.reserve(token_in), buy.reserve(mid_token)
    b_mid, b_in = sell.reserve(mid_token), sell.reserve(token_in)
    keep_a, keep_b = FEE_DENOMINATOR - buy.fee_bps, FEE_DENOMINATOR - sell.fee_bps
    e = keep_a * keep_b * a_mid * b_in
    f = a_in * b_mid * FEE_DENOMINATOR**2
    g = keep_a * (b_mid * FEE_DENOMINATOR + keep_b * a_mid)
    best = 0
    for amount_in in range(1, max(0, (e - f - 1) // g) + 1):
        mid = swap_out(amount_in, a_in, a_mid, buy.fee_bps)
        best = max(best, swap_out(mid, b_mid, b_in, sell.fee_bps) - amount_in)
    return best


def _address(text: str) -> bytes:
    assert text.startswith("0x")
    assert len(text) == 42
    return bytes.fromhex(text[2:])


def replay(events: list[MarketMessage], lines: list[dict[str, Any]]) -> dict[str, int]:
    """Check ``lines`` (the plans file) against ``events``; returns what was checked."""
    by_event: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for number, line in enumerate(lines):
        by_event[line["event"]].append((number, line))
    assert list(by_event) == sorted(by_event), "plans are in event order"
    market = Market()
    checked = {"plans": 0, "pairs_after": 0, "reopened": 0, "stale": 0}
    newest = 0
    for index, event in enumerate(events):
        moved = market.apply(event)
        newest = max(newest, event.timestamp_ns)
        plans = by_event.pop(index, [])
        if moved is None:
            assert not plans, f"plans from event {index}, which moved no pool"
            continue
        # The plans are executed on a copy: the market itself moves only by its own swaps.
        group = {
            address: Pool(pool.tokens, list(pool.reserves), pool.fee_bps, pool.snapshot_ns)
            for address, pool in market.pools.items()
            if set(pool.tokens) == set(moved.tokens)
        }
        moved = next(group[a] for a, p in market.pools.items() if p is moved)
        traded: list[Pool] = []  # the moved pool's counterparties, in plan order
        for number, line in plans:
            buy, sell = group[_address(line["buy_pool"])], group[_address(line["sell_pool"])]
            assert moved in (buy, sell)
            token_in = line["token_in"]
            mid_token = buy.tokens[1 - buy.tokens.index(token_in)]
            assert set(sell.tokens) == {token_in, mid_token}
            best = best_profit(buy, sell, token_in)
            amount_in = line["amount_in"]
            mid = swap_out(amount_in, buy.reserve(token_in), buy.reserve(mid_token), buy.fee_bps)
            buy.add(token_in, amount_in)
            buy.add(mid_token, -mid)
            out = swap_out(mid, sell.reserve(mid_token), sell.reserve(token_in), sell.fee_bps)
            sell.add(mid_token, mid)
            sell.add(token_in, -out)
            assert (mid, out) == (line["amount_mid"], line["amount_out"]), f"plan {number}"
            assert line["profit_units"] == out - amount_in > 0, f"plan {number}"
            assert line["profit_usd"] == pytest.approx(
                line["profit_units"] * market.usd[token_in], rel=1e-12
            ), f"plan {number}"
            assert line["profit_usd"] >= MIN_PROFIT_USD
            assert line["profit_units"] == best, f"plan {number}: {best} was possible"
            checked["plans"] += 1
            traded.append(sell if buy is moved else buy)
        if newest - event.timestamp_ns > MAX_AGE_NS:
            # A swap delivered late: what it reveals may be stale for the validator (whose
            # clock is at most the newest timestamp), so no plan is owed to it.
            checked["stale"] += 1
            continue
        for other in group.values():
            if other is moved:
                continue
            token_in = TOKEN_IN[frozenset(moved.tokens)]
            left = max(
                best_profit(buy, sell, token_in) for buy, sell in ((moved, other), (other, moved))
            )
            if left and other in traded[:-1]:
                checked["reopened"] += 1
                continue
            assert left == 0, f"event {index}: a trade making {left} units was left"
            checked["pairs_after"] += 1
    assert not by_event, f"plans name events that are not in the stream: {sorted(by_event)}"
    return checked


def _run_bundle(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, events: list[MarketMessage]
) -> tuple[dict[str, Any], bytes]:
    stream, plans = tmp_path / "events.msgpack", tmp_path / "plans.jsonl"
    write_events(stream, events)
    assert main(["--input", str(stream), "--plans", str(plans), "--json", "--quiet"]) == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    return summary, plans.read_bytes()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_plans_file_replays_to_the_unit_on_small_pools(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, seed: int
) -> None:
    events = simulate(3_000, seed=seed, config=SMALL_MARKET)
    summary, data = _run_bundle(capsys, tmp_path, events)
    lines: list[dict[str, Any]] = [json.loads(line) for line in data.splitlines()]
    assert len(lines) == summary["execution_plans"] > 100
    checked = replay(events, lines)
    assert checked["plans"] == len(lines)
    assert checked["pairs_after"] > 5_000
    # Several plans from one swap, the case the greedy sizing is for, occur often; a pair
    # re-opened within one of those events is rare.
    per_event = defaultdict[int, int](int)
    for line in lines:
        per_event[line["event"]] += 1
    several = sum(count > 1 for count in per_event.values())
    assert several >= 20
    assert checked["reopened"] * 10 <= several

    # Supersession: an earlier plan, same two pools, same block, an earlier event.
    timestamps = [event.timestamp_ns for event in events]
    superseded: set[int] = set()
    for number, line in enumerate(lines):
        if "supersedes" not in line:
            continue
        replaced: int = line["supersedes"]
        older = lines[replaced]
        assert replaced < number
        assert {older["buy_pool"], older["sell_pool"]} == {line["buy_pool"], line["sell_pool"]}
        assert timestamps[older["event"]] == timestamps[line["event"]]
        assert older["event"] < line["event"]
        superseded.add(replaced)
    assert len(superseded) == summary["plans_superseded"]
    live = [line["profit_usd"] for n, line in enumerate(lines) if n not in superseded]
    assert summary["realised_profit_usd"] == sum(live, 0.0)
    assert summary["expected_profit_usd"] == summary["realised_profit_usd"]
