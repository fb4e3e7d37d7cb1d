"""Throughput, from the first send to the last message handled, with backpressure.

Producers ``await send`` (they wait while a mailbox is full, capacity 1000, Mycelium's
default) into actors with the trivial ``Counter`` handler; the round ends in the handler of the
last message. Actors are spawned before the benchmark; a round is only the messages. The
report (``uv run mycelium-bench``) runs the same figures with 500k messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from itertools import cycle

from pytest_codspeed import BenchmarkFixture

from mycelium import ActorSystem
from mycelium_bench.workload import Counter, Latch, Tick, ticks

MESSAGES = 20_000
CAPACITY = 1000
PRODUCERS = 4
FAN_OUT = 100


def test_throughput_one_actor(
    benchmark: BenchmarkFixture, runner: asyncio.Runner, system: ActorSystem
) -> None:
    """MESSAGES through one actor from one producer, ``await send`` each."""
    counter = Counter()
    send = runner.run(system.spawn(counter, capacity=CAPACITY)).send
    msgs = ticks(MESSAGES)

    async def one_round() -> None:
        latch = Latch(1, asyncio.get_running_loop())
        counter.expect(MESSAGES, latch)
        for msg in msgs:
            await send(msg)
        await latch.wait()

    benchmark(lambda: runner.run(one_round()))
    assert counter.count % MESSAGES == 0


def test_throughput_fan_in(
    benchmark: BenchmarkFixture, runner: asyncio.Runner, system: ActorSystem
) -> None:
    """MESSAGES into one actor from PRODUCERS concurrent producer tasks, ``await send`` each."""
    counter = Counter()
    send = runner.run(system.spawn(counter, capacity=CAPACITY)).send
    msgs = ticks(MESSAGES)
    shares = [msgs[i::PRODUCERS] for i in range(PRODUCERS)]

    async def produce(share: list[Tick]) -> None:
        for msg in share:
            await send(msg)

    async def one_round() -> None:
        loop = asyncio.get_running_loop()
        latch = Latch(1, loop)
        counter.expect(MESSAGES, latch)
        producers = [loop.create_task(produce(share)) for share in shares]
        await latch.wait()
        await asyncio.gather(*producers)

    benchmark(lambda: runner.run(one_round()))
    assert counter.count % MESSAGES == 0


def test_throughput_fan_out(
    benchmark: BenchmarkFixture, runner: asyncio.Runner, system: ActorSystem
) -> None:
    """MESSAGES from one producer, round-robin over FAN_OUT actors, ``await send`` each."""
    counters = [Counter() for _ in range(FAN_OUT)]
    sends: list[Callable[[Tick], Awaitable[None]]] = [
        runner.run(system.spawn(counter, capacity=CAPACITY)).send for counter in counters
    ]
    msgs = ticks(MESSAGES)

    async def one_round() -> None:
        latch = Latch(FAN_OUT, asyncio.get_running_loop())
        for i, counter in enumerate(counters):
            counter.expect(len(msgs[i::FAN_OUT]), latch)
        for msg, send in zip(msgs, cycle(sends)):
            await send(msg)
        await latch.wait()

    benchmark(lambda: runner.run(one_round()))
    assert sum(counter.count for counter in counters) % MESSAGES == 0
