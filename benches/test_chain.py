"""Chain latency: send to A, A sends to B, handled at B; one message in flight at a time.

Each round sends HOPS messages through an idle two-actor chain, waiting for B to have handled
each before sending the next, so the round's time is HOPS latencies of an idle chain (the
report gives the distribution: ``chain_latency_ns`` p50/p99). A forwards with ``await send``.
"""

from __future__ import annotations

import asyncio
from time import perf_counter_ns

from pytest_codspeed import BenchmarkFixture

from mycelium import ActorSystem
from mycelium_bench.workload import Probe, Relay, Stamp, ticks

HOPS = 1_000


def test_chain_latency(
    benchmark: BenchmarkFixture, runner: asyncio.Runner, system: ActorSystem
) -> None:
    """HOPS messages through A -> B, each handled at B before the next is sent."""
    probe = Probe()
    last = runner.run(system.spawn(Stamp(probe)))
    send = runner.run(system.spawn(Relay(forward=last.send))).send
    msgs = ticks(HOPS)

    async def one_round() -> None:
        loop = asyncio.get_running_loop()
        for msg in msgs:
            waiter: asyncio.Future[None] = loop.create_future()
            probe.waiter = waiter
            probe.sent_ns = perf_counter_ns()
            await send(msg)
            await waiter

    benchmark(lambda: runner.run(one_round()))
    assert len(probe.samples) % HOPS == 0
