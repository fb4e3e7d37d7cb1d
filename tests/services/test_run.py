"""Trading bundles from the shipped configs (services_v2.layouts.bundle): the same signals as the
sequential reference in every layout, and a dead child process reported, not hidden."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from shipped import SHIPPED, shipped_layout

from mycelium import ActorRef
from mycelium.bundle import parse_spec, resolve
from mycelium_types.messages import MarketMessage, PoolSnapshot, PoolSwapEvent, SignalMessage
from services_v2.actors import MarketDataActor
from services_v2.bundle.configs import shipped_text
from services_v2.bundle.factories import market_data
from services_v2.latency.histogram import LatencyHistogram
from services_v2.latency.hot_path import HotPathTiming
from services_v2.layouts.bundle import TradingLayoutError, run_bundle, trading_roles
from services_v2.layouts.feed import FEED_CHUNK
from services_v2.layouts.result import PipelineFailed
from services_v2.layouts.sequential import run_reference
from services_v2.plans_file import encode_plans
from services_v2.sim.market_sim import MarketSimulator, simulate

TIMINGS = {"throughput_events_per_s", "hot_path_latency_ns", "elapsed_s", "mode", "delivery"}


def _children() -> dict[int, str]:
    """This process's child processes: pid -> state letter (``Z`` for a zombie)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid():
            found[int(entry.name)] = fields[0]
    return found


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_gives_the_reference_signals_to_the_cent(name: str) -> None:
    events = simulate(4_000, seed=7)
    reference = run_reference(events)
    got = run_bundle(shipped_layout(name), MarketSimulator(7).events(4_000))
    assert got.mode == name
    assert got.outcome() == reference.outcome()
    assert got.validation.expected_profit_usd == reference.validation.expected_profit_usd
    assert len(got.plans) == reference.validation.arbitrage_accepted > 0
    assert got.latency.count == reference.latency.count
    if name == "relay":
        assert got.delivery["frames_sent"] == got.delivery["delivered"] > len(got.signals)
        assert all(
            count == 0
            for key, count in got.delivery.items()
            if key not in {"frames_sent", "delivered"}
        )
    else:
        assert got.delivery == {}
    assert not _children()


def _bundle_command(*args: str) -> str:
    """``python -m services_v2.bundle ARGS`` in a process of its own; its stdout (exit 0)."""
    done = subprocess.run(
        [sys.executable, "-m", "services_v2.bundle", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_cli_prints_the_same_summary_for_every_shipped_config() -> None:
    def run(config: str) -> dict[str, object]:
        return json.loads(
            _bundle_command(
                *("--events", "3000", "--seed", "3", "--config", config, "--json", "--quiet")
            )
        )

    monolith, relay = run("bundles/monolith.toml"), run("bundles/relay.toml")
    assert (monolith["mode"], relay["mode"]) == ("monolith", "relay")
    assert {k: v for k, v in monolith.items() if k not in TIMINGS} == {
        k: v for k, v in relay.items() if k not in TIMINGS
    }
    assert relay["delivery"]["undelivered_in_transport"] == 0  # type: ignore[index]


def test_the_plans_file_is_byte_for_byte_the_same_in_every_layout(tmp_path: Path) -> None:
    def plans(config: str) -> bytes:
        path = tmp_path / f"plans-{config}.jsonl"
        _bundle_command(
            *("--events", "6000", "--seed", "5", "--config", f"bundles/{config}.toml"),
            *("--plans", str(path), "--quiet"),
        )
        return path.read_bytes()

    monolith, relay = plans("monolith"), plans("relay")  # relay: written by the child
    assert monolith == relay
    assert monolith == encode_plans(run_reference(simulate(6_000, seed=5)).plans)
    lines = [json.loads(line) for line in monolith.splitlines()]
    assert len(lines) > 100
    assert any("supersedes" in line for line in lines)
    assert list(lines[0])[:9] == [
        "event",
        "buy_pool",
        "sell_pool",
        "token_in",
        "amount_in",
        "amount_mid",
        "amount_out",
        "profit_units",
        "profit_usd",
    ]


def test_a_killed_signal_process_fails_the_run_clearly_and_leaves_no_zombie() -> None:
    killed: list[int] = []

    def kill_the_child(done: int, latency: LatencyHistogram | None) -> None:
        if not killed and done > 10_000:
            [pid] = _children()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with pytest.raises(
        PipelineFailed,
        match=r"^relay: actor 'signal' \(child process \d+\) was killed by SIGKILL; "
        r"[\d,]+ of 60,000 events were handled",
    ):
        run_bundle(
            shipped_layout("relay", record=False),
            MarketSimulator(0).events(60_000),
            total=60_000,
            progress=kill_the_child,
        )
    assert killed
    assert not _children()  # reaped: no zombie, nothing left running


def test_an_unpriceable_opportunity_is_counted_the_same_way_in_every_layout() -> None:
    """A pool announcing an absurd token1_usd makes the profit overflow to inf: no signal is
    emitted (the schema carries only finite profits), it is counted, and every layout agrees."""
    events = [
        PoolSnapshot(bytes([1] * 20), "AAA", "BBB", 30, 10**12, 2 * 10**12, 1e308, 1),
        PoolSnapshot(bytes([2] * 20), "AAA", "BBB", 30, 10**12, 3 * 10**12, 1e308, 2),
        PoolSwapEvent(bytes([1] * 20), 10**9, 10**9, 3),
    ]
    reference = run_reference(events)
    assert reference.market.arbitrage_unpriced == 1
    assert reference.signals == []
    for name in SHIPPED:
        assert run_bundle(shipped_layout(name), events).outcome() == reference.outcome()


def test_a_layout_without_a_market_actor_is_not_a_trading_bundle() -> None:
    layout = resolve(
        parse_spec(
            '[actors.signal]\nfactory = "services_v2.bundle.factories:signal_generator"\n',
            source="x.toml",
        )
    )
    with pytest.raises(
        TradingLayoutError,
        match=r"^x\.toml: a trading bundle needs exactly one MarketDataActor actor, found 0$",
    ):
        trading_roles(layout)


SPIED: list[MarketDataActor] = []


def market_spy(
    signals: ActorRef[SignalMessage], probe: ActorRef[HotPathTiming] | None = None
) -> MarketDataActor:
    """The shipped market factory, keeping the actor where the test can see it."""
    actor = market_data(signals, probe)
    SPIED.append(actor)
    return actor


def test_events_are_produced_as_the_market_actor_takes_them() -> None:
    text = shipped_text("monolith").replace(
        "services_v2.bundle.factories:market_data", "test_run:market_spy"
    )
    layout = resolve(parse_spec(text, source="spied.toml"))
    capacity = layout.actors["market"].spec.capacity
    SPIED.clear()
    ahead: list[int] = []

    def produce() -> Iterator[MarketMessage]:
        for produced, event in enumerate(MarketSimulator(0).events(30_000)):
            ahead.append(produced - SPIED[0].processor.events)
            yield event

    result = run_bundle(layout, produce())
    assert result.events == 30_000
    # At most a chunk being sent and a full mailbox: never the whole input.
    assert max(ahead) <= FEED_CHUNK + capacity + 1
