"""Send cost, sender side only: ``try_send`` and ``await send`` into a local actor's mailbox.

Each round sends ``BATCH`` messages back to back into one idle actor whose mailbox holds them
all and whose handler is trivial. The timed region is only the sends: the event loop does not
turn during it, so the dispatcher handles nothing; the actor drains the batch in the round's
teardown, untimed. The mailbox is warmed up (its queue exists) before the first round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from pytest_codspeed import BenchmarkFixture

from mycelium import ActorRef, ActorSystem
from mycelium_bench.workload import Counter, Latch, Tick, ticks

BATCH = 2_000


def _step_through(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion without the event loop turning; fail if it suspends."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("a send suspended: the benchmark's mailbox was full")


class _Rounds:
    """Arms the counter before each round and lets the actor drain after it (untimed)."""

    def __init__(self, runner: asyncio.Runner, counter: Counter) -> None:
        self.runner = runner
        self.counter = counter
        self.latch = Latch(1)

    def arm(self) -> None:
        self.latch = Latch(1, self.runner.get_loop())
        self.counter.expect(BATCH, self.latch)

    def drain(self) -> None:
        self.runner.run(self.latch.wait())


def _spawn_warm(runner: asyncio.Runner, system: ActorSystem) -> tuple[ActorRef[Tick], _Rounds]:
    counter = Counter()
    ref = runner.run(system.spawn(counter, capacity=BATCH))
    rounds = _Rounds(runner, counter)
    rounds.arm()
    for msg in ticks(BATCH):  # warm-up: creates the mailbox's queue
        ref.try_send(msg)
    rounds.drain()
    return ref, rounds


def _assert_all_handled(counter: Counter) -> None:
    """Every round's batch was sent and then handled (warm-up and measured rounds alike)."""
    assert counter.count >= 2 * BATCH
    assert counter.count % BATCH == 0


def test_send_try_send(
    benchmark: BenchmarkFixture, runner: asyncio.Runner, system: ActorSystem, rounds: int
) -> None:
    """``try_send`` of BATCH messages into a local actor's mailbox; sender side only."""
    ref, each = _spawn_warm(runner, system)
    msgs = ticks(BATCH)
    try_send = ref.try_send

    def send_batch() -> None:
        for msg in msgs:
            try_send(msg)

    benchmark.pedantic(  # pyright: ignore[reportUnknownMemberType]  # untyped setup/teardown
        send_batch, setup=each.arm, teardown=each.drain, rounds=rounds, warmup_rounds=1
    )
    _assert_all_handled(each.counter)


def test_send_await(
    benchmark: BenchmarkFixture, runner: asyncio.Runner, system: ActorSystem, rounds: int
) -> None:
    """``await send`` of BATCH messages into a local actor's mailbox with room; sender side
    only (the coroutine is stepped by hand, so the loop does not turn)."""
    ref, each = _spawn_warm(runner, system)
    msgs = ticks(BATCH)
    send = ref.send

    async def send_all() -> None:
        for msg in msgs:
            await send(msg)

    def send_batch() -> None:
        _step_through(send_all())

    benchmark.pedantic(  # pyright: ignore[reportUnknownMemberType]  # untyped setup/teardown
        send_batch, setup=each.arm, teardown=each.drain, rounds=rounds, warmup_rounds=1
    )
    _assert_all_handled(each.counter)
