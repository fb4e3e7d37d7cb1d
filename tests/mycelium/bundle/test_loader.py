"""Starting and stopping whole bundles (mycelium.bundle.loader), child processes included.

Real processes and real sockets: children are started with ``python -m mycelium.bundle.child``
and import these tests' ``bundle_actors`` module through the parent's ``sys.path``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bundle_actors import Tally

from mycelium import ActorSystem
from mycelium.bundle import (
    BundleConfigError,
    BundleError,
    BundleOutcome,
    BundleStartError,
    Layout,
    parse_spec,
    resolve,
    start_bundle,
)
from mycelium.bundle._control import EndpointStats, RefStats


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


@pytest.fixture
def run_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary files of the bundle go to ``tmp_path``; the test sees what is left there."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path
    assert not _children()


def _layout(text: str) -> Layout:
    return resolve(parse_spec(text, source="t.toml"))


def _leftovers(where: Path) -> list[str]:
    return sorted(path.name for path in where.iterdir() if path.name.startswith("mycelium-"))


SINK_IN_A_CHILD = """
[actors.sink]
factory = "bundle_actors:Sink"
placement = "unix"
args = { scale = 2 }

[actors.relay]
factory = "bundle_actors:Relay"
args = { target = { ref = "sink" }, add = 1 }
"""


async def test_messages_reach_an_actor_in_a_child_and_every_frame_is_accounted_for(
    run_dirs: Path,
) -> None:
    async with ActorSystem() as system:
        bundle = await start_bundle(_layout(SINK_IN_A_CHILD), system)
        async with bundle:
            assert len(_children()) == 1
            assert _leftovers(run_dirs)  # the run directory, with the sockets
            relay = bundle.ref("relay")
            for number in range(500):
                await relay.send(number)
            outcome = await bundle.stop()
    sink = outcome.report("sink", Tally)
    assert (sink.received, sink.total) == (500, 2 * sum(range(1, 501)))
    assert sink.pid != os.getpid()
    assert outcome.report("relay", Tally).pid == os.getpid()
    assert outcome.delivery() == {
        "frames_sent": 500,
        "delivered": 500,
        "undelivered_in_transport": 0,
        "refused_by_receiver": 0,
        "rejections_seen_by_sender": 0,
        "not_accepted_by_actor": 0,
        "unaccounted": 0,
        "connections_cut": 0,
        "connections_missing": 0,
        "dead_letters_in_children": 0,
    }
    assert (outcome.lost, outcome.failures) == (0, [])
    assert not _children()
    assert _leftovers(run_dirs) == []


async def test_an_actor_in_a_child_can_send_to_one_in_this_process(run_dirs: Path) -> None:
    layout = _layout(
        """
        [actors.sink]
        factory = "bundle_actors:make_sink"

        [actors.relay]
        factory = "bundle_actors:Relay"
        placement = "unix"
        args = { target = { ref = "sink" }, add = 10 }
        """
    )
    async with ActorSystem() as system, await start_bundle(layout, system) as bundle:
        relay = await bundle.connect("relay")
        for number in range(300):
            await relay.send(number)
        outcome = await bundle.stop()
    assert outcome.report("sink", Tally).total == sum(range(10, 310))
    assert outcome.report("relay", Tally).received == 300
    delivery = outcome.delivery()
    assert delivery["frames_sent"] == delivery["delivered"] == 600  # parent->relay, relay->sink
    assert outcome.lost == 0


async def test_an_actor_without_a_report_says_so(run_dirs: Path) -> None:
    layout = _layout(
        '[actors.sink]\nfactory = "bundle_actors:Sink"\n'
        '[actors.tee]\nfactory = "bundle_actors:Tee"\n'
        'args = { left = { ref = "sink" }, right = { ref = "sink" } }\n'
    )
    async with ActorSystem() as system, await start_bundle(layout, system) as bundle:
        await bundle.ref("tee").send(4)
        outcome = await bundle.stop()
    assert outcome.report("sink", Tally).total == 8
    with pytest.raises(BundleError, match=r"no report from actor 'tee': it has no report"):
        outcome.report("tee", Tally)


async def test_a_given_socket_path_is_used_and_removed(run_dirs: Path) -> None:
    path = run_dirs / "given.sock"
    layout = _layout(
        SINK_IN_A_CHILD.replace(
            'placement = "unix"', f'placement = {{ kind = "unix", socket = "{path}" }}'
        )
    )
    async with ActorSystem() as system, await start_bundle(layout, system) as bundle:
        assert path.is_socket()
        await bundle.ref("relay").send(1)
        await bundle.stop()
    assert not path.exists()


async def test_a_child_whose_factory_lies_fails_the_start_and_nothing_is_left(
    run_dirs: Path,
) -> None:
    layout = _layout(
        SINK_IN_A_CHILD.replace("bundle_actors:Sink", "bundle_actors:lies").replace(
            "args = { scale = 2 }", ""
        )
    )
    async with ActorSystem() as system:
        with pytest.raises(
            BundleConfigError,
            match=r"^t\.toml: actors\.sink\.factory: bundle_actors:lies returned int \(not an "
            r"Actor\), not the Sink it declares$",
        ):
            await start_bundle(layout, system)
        assert len(system) == 0
    assert not _children()
    assert _leftovers(run_dirs) == []


@pytest.mark.parametrize("placement", ["local", "unix"])
async def test_an_on_start_that_raises_fails_the_start_and_stops_what_had_started(
    run_dirs: Path, placement: str
) -> None:
    layout = _layout(
        f"""
        [actors.sink]
        factory = "bundle_actors:Sink"
        placement = "unix"

        [actors.broken]
        factory = "bundle_actors:StartFails"
        placement = "{placement}"
        """
    )
    async with ActorSystem() as system:
        with pytest.raises(
            BundleStartError,
            match=r"^cannot start actor 'broken': RuntimeError: no database",
        ):
            await start_bundle(layout, system)
        assert len(system) == 0
    assert not _children()
    assert _leftovers(run_dirs) == []


async def test_an_exception_inside_the_bundle_kills_the_children_and_removes_the_files(
    run_dirs: Path,
) -> None:
    async def fail_inside() -> None:
        async with (
            ActorSystem() as system,
            await start_bundle(_layout(SINK_IN_A_CHILD), system) as bundle,
        ):
            await bundle.ref("relay").send(1)
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        await fail_inside()
    assert not _children()
    assert _leftovers(run_dirs) == []


async def test_a_child_killed_during_the_run_is_reported_and_reaped(run_dirs: Path) -> None:
    async with (
        ActorSystem() as system,
        await start_bundle(_layout(SINK_IN_A_CHILD), system) as bundle,
    ):
        [pid] = _children()
        os.kill(pid, signal.SIGKILL)
        assert await asyncio.wait_for(bundle.wait_failure(), 10) == (
            f"actor 'sink' (child process {pid}) was killed by SIGKILL"
        )
        assert bundle.failures == [f"actor 'sink' (child process {pid}) was killed by SIGKILL"]
        outcome = await bundle.stop()
    assert outcome.failures == [f"actor 'sink' (child process {pid}) was killed by SIGKILL"]
    with pytest.raises(BundleError, match=r"no report from actor 'sink'"):
        outcome.report("sink", Tally)
    assert not _children()
    assert _leftovers(run_dirs) == []


def test_frames_sent_but_never_seen_by_the_receiver_count_as_lost() -> None:
    """Seen on short runs before the transport's half-close: every frame sent, none delivered,
    no other count moved. The outcome calls the difference ``unaccounted``, a loss."""
    sent = RefStats(source="a", target="b", sent=223, undelivered=0, rejected=0, dropped=0)
    seen = EndpointStats(
        actor="b",
        connections=1,
        delivered=0,
        rejected=0,
        undelivered=0,
        unanswered=0,
        cut=0,
        missing=0,
    )
    outcome = BundleOutcome(
        "x",
        reports={},
        report_errors={},
        refs=[sent],
        endpoints=[seen],
        dead_letters={},
        failures=[],
    )
    assert outcome.delivery()["unaccounted"] == 223
    assert outcome.lost == 223


def _flaky(supervision: str, placement: str = "local", durable: bool = False) -> Layout:
    return _layout(
        f"""
[actors.flaky]
factory = "bundle_actors:{"DurableFlaky" if durable else "Flaky"}"
placement = "{placement}"
supervision = {supervision}
"""
    )


_FLAKY_INPUT = (1, -1, 2, -2, 3)


async def _run_flaky(layout: Layout) -> tuple[Tally, int]:
    async with ActorSystem() as system:
        async with await start_bundle(layout, system) as bundle:
            flaky = await bundle.connect("flaky")
            for number in _FLAKY_INPUT:
                await flaky.send(number)
            outcome = await bundle.stop()
        dead = system.dead_letters.count
    assert outcome.failures == []
    return outcome.report("flaky", Tally), dead


@pytest.mark.parametrize("placement", ["local", "unix"])
async def test_the_spec_supervision_resume_keeps_the_instance_going(
    run_dirs: Path, placement: str
) -> None:
    tally, dead = await _run_flaky(_flaky('"resume"', placement))
    assert (tally.received, tally.total) == (3, 6)
    if placement == "local":
        assert dead == 2  # each failed message, nothing else


async def test_the_spec_supervision_restart_builds_fresh_instances(run_dirs: Path) -> None:
    layout = _flaky('{ strategy = "restart", max_restarts = 5, within = 60.0 }')
    tally, dead = await _run_flaky(layout)
    assert (tally.received, tally.total) == (1, 3)  # the newest instance: only the last one
    assert dead == 2


@pytest.mark.parametrize("placement", ["local", "unix"])
async def test_a_restarted_actor_with_a_successor_hands_its_state_on(
    run_dirs: Path, placement: str
) -> None:
    supervision = '{ strategy = "restart", max_restarts = 5, within = 60.0 }'
    tally, dead = await _run_flaky(_flaky(supervision, placement, durable=True))
    assert (tally.received, tally.total) == (3, 6)  # the queue behind each restart handled
    if placement == "local":
        assert dead == 2
