"""The relay deployment: same signals as in-process, and a dead child is reported, not hidden."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from services_v2.actors.pipeline import run_actor_pipeline
from services_v2.bundle.plans_file import encode_plans
from services_v2.pipeline.errors import PipelineFailed
from services_v2.pipeline.reference import run_reference
from services_v2.relay.pipeline import delivery_losses, run_relay_pipeline
from services_v2.sim.market_sim import simulate

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


@pytest.mark.parametrize("seed", [1, 7])
def test_relay_actors_and_reference_agree(seed: int) -> None:
    events = simulate(4_000, seed=seed)
    reference = run_reference(events)
    relay = run_relay_pipeline(events)
    assert relay.mode == "relay"
    assert relay.outcome() == reference.outcome()
    assert relay.outcome() == run_actor_pipeline(events).outcome()
    assert relay.delivery["frames_sent"] == relay.delivery["delivered"] == len(relay.signals)
    assert all(
        count == 0
        for key, count in relay.delivery.items()
        if key not in {"frames_sent", "delivered"}
    )
    assert len(relay.latencies_ns) == len(reference.latencies_ns)
    assert not _children()


def test_bundle_prints_the_same_summary_in_both_modes() -> None:
    def run(mode: str) -> dict[str, object]:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "services_v2.bundle", "--events", "3000"),
                *("--seed", "3", "--mode", mode, "--json", "--quiet"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    actors, relay = run("actors"), run("relay")
    assert (actors["mode"], relay["mode"]) == ("actors", "relay")
    assert {k: v for k, v in actors.items() if k not in TIMINGS} == {
        k: v for k, v in relay.items() if k not in TIMINGS
    }
    assert relay["delivery"]["undelivered_in_transport"] == 0  # type: ignore[index]


def test_the_plans_file_is_byte_for_byte_the_same_in_every_mode(tmp_path: Path) -> None:
    def plans(mode: str) -> bytes:
        path = tmp_path / f"plans-{mode}.jsonl"
        done = subprocess.run(
            [
                *(sys.executable, "-m", "services_v2.bundle", "--events", "6000", "--seed", "5"),
                *("--mode", mode, "--plans", str(path), "--quiet"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return path.read_bytes()

    actors, relay = plans("actors"), plans("relay")
    assert actors == relay
    assert actors == encode_plans(run_reference(simulate(6_000, seed=5)).plans)
    lines = [json.loads(line) for line in actors.splitlines()]
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


def test_frames_sent_but_never_delivered_count_as_lost() -> None:
    # Seen on short runs: every frame sent, none delivered, and no other count moved.
    delivery = {
        "frames_sent": 223,
        "delivered": 0,
        "undelivered_in_transport": 0,
        "refused_by_signal_side": 0,
        "rejections_seen_by_sender": 0,
        "not_accepted_by_signal_actor": 0,
        "dead_letters_signal_side": 0,
    }
    assert delivery_losses(delivery) == {"not_received_by_signal_side": 223}
    assert delivery_losses(delivery | {"delivered": 223}) == {}
    assert delivery_losses(delivery | {"delivered": 223, "dead_letters_signal_side": 1}) == {
        "dead_letters_signal_side": 1
    }


def test_a_killed_signal_process_fails_the_run_clearly_and_leaves_no_zombie() -> None:
    events = simulate(60_000, seed=0)
    killed: list[int] = []

    def kill_the_child(done: int) -> None:
        if not killed and done > 10_000:
            [pid] = _children()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with pytest.raises(
        PipelineFailed,
        match=r"^relay: the signal-generator process .* \d{1,2},\d{3} of 60,000 events were "
        r"handled, [\d,]+ signal frames were left undelivered$",  # digits grouped, as elsewhere
    ):
        run_relay_pipeline(events, progress=kill_the_child)
    assert killed
    assert not _children()  # reaped: no zombie, nothing left running


def test_an_unpriceable_opportunity_is_counted_the_same_way_in_every_mode(
    tmp_path: Path,
) -> None:
    """A pool announcing an absurd token1_usd makes the profit overflow to inf: no signal is
    emitted (the schema carries only finite profits), it is counted, and the relay agrees."""
    from mycelium_types.messages import PoolSnapshot, PoolSwapEvent

    events = [
        PoolSnapshot(bytes([1] * 20), "AAA", "BBB", 30, 10**12, 2 * 10**12, 1e308, 1),
        PoolSnapshot(bytes([2] * 20), "AAA", "BBB", 30, 10**12, 3 * 10**12, 1e308, 2),
        PoolSwapEvent(bytes([1] * 20), 10**9, 10**9, 3),
    ]
    reference = run_reference(events)
    assert reference.market.arbitrage_unpriced == 1
    assert reference.signals == []
    assert run_actor_pipeline(events).outcome() == reference.outcome()
    assert run_relay_pipeline(events).outcome() == reference.outcome()
