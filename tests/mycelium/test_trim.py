"""ActorSystem.trim: idle actors give their mailbox buffers back, and keep working."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest

from mycelium import Actor, ActorSystem


class Echo(Actor[int]):
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    async def handle(self, msg: int) -> int:
        self.entered.set()
        await self.gate.wait()
        return msg


async def test_trim_releases_only_idle_used_mailboxes_and_they_still_work() -> None:
    async with ActorSystem(trim_interval=None) as system:
        fresh = await system.spawn(Echo())  # never messaged: nothing to release
        used = [await system.spawn(Echo()) for _ in range(3)]
        for ref in used:
            assert await ref.ask(1) == 1
        busy_actor = Echo()
        busy_actor.gate.clear()
        busy = await system.spawn(busy_actor)
        pending = asyncio.ensure_future(busy.ask(2))  # in progress: must keep its queue
        await busy_actor.entered.wait()
        assert system.trim() == 3
        assert system.trim() == 0  # nothing left to release
        for ref in [fresh, *used]:
            assert await ref.ask(5) == 5  # the next message creates a queue again
        busy_actor.gate.set()
        assert await pending == 2


async def test_trimmed_actors_cost_what_never_messaged_ones_cost() -> None:
    async with ActorSystem(trim_interval=None) as system:
        refs = [await system.spawn(Echo()) for _ in range(200)]
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for ref in refs:
                await ref.ask(1)
            gc.collect()
            used = tracemalloc.get_traced_memory()[0] - before
            system.trim()
            gc.collect()
            trimmed = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert used > 200 * 400  # each used mailbox kept a deque (over 400 bytes)
        assert trimmed < used / 4


def test_trim_interval_must_be_positive_or_none() -> None:
    with pytest.raises(ValueError, match=r"^trim_interval must be > 0 or None, got 0$"):
        ActorSystem(trim_interval=0)
