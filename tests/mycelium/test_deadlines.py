"""Ask timeouts in buckets: they fire, name the actor, and leave nothing behind."""

from __future__ import annotations

import asyncio

import pytest

from mycelium import Actor, ActorRef, ActorSystem, AskTimeout
from mycelium._deadlines import (  # pyright: ignore[reportPrivateUsage]
    GRANULARITY,
    SHORTEST_BUCKETED,
    AskDeadlines,
)
from mycelium.local_ref import LocalActorRef

BUCKETED = SHORTEST_BUCKETED + 0.01  # long enough to take the bucketed path, short for a test


def _deadlines(ref: ActorRef[int]) -> AskDeadlines:
    assert isinstance(ref, LocalActorRef)
    return ref.runtime.ask_deadlines


class Gate(Actor[int]):
    """Answers at once, except 0, which waits until the gate opens."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def handle(self, msg: int) -> int:
        if msg == 0:
            self.entered.set()
            await self.gate.wait()
        return msg


async def test_a_bucketed_ask_times_out_naming_the_actor() -> None:
    async with ActorSystem() as system:
        actor = Gate()
        ref = await system.spawn(actor, name="gate")
        loop = asyncio.get_running_loop()
        asked_at = loop.time()
        with pytest.raises(AskTimeout, match=r"^actor 'gate#\d+' did not answer int within 0.06"):
            await ref.ask(0, timeout=BUCKETED)
        # Never early, on the loop's own clock (bucketing may only make it up to a bucket late);
        # uvloop's clock counts milliseconds: on time can be BUCKETED to the last float bit.
        assert loop.time() - asked_at >= BUCKETED - 1e-9
        assert len(_deadlines(ref)) == 0
        actor.gate.set()


async def test_answered_and_cancelled_asks_leave_no_entry() -> None:
    async with ActorSystem() as system:
        actor = Gate()
        ref = await system.spawn(actor)
        deadlines = _deadlines(ref)
        for i in range(1, 200):
            assert await ref.ask(i, timeout=5.0) == i
        assert len(deadlines) == 0
        pending = asyncio.ensure_future(ref.ask(0, timeout=5.0))
        await actor.entered.wait()  # the ask registered its deadline before the actor ran
        assert len(deadlines) == 1
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        assert len(deadlines) == 0
        actor.gate.set()


async def test_short_timeouts_keep_an_exact_timer_of_their_own() -> None:
    async with ActorSystem() as system:
        actor = Gate()
        ref = await system.spawn(actor)
        waiting = asyncio.ensure_future(ref.ask(0, timeout=SHORTEST_BUCKETED / 2))
        await actor.entered.wait()
        assert len(_deadlines(ref)) == 0
        with pytest.raises(AskTimeout):
            await waiting
        actor.gate.set()


async def test_answered_asks_leave_no_bucket_behind_even_with_a_long_timeout() -> None:
    # One-hour timeouts, asked one after the other for at least 4 bucket widths of loop time:
    # every answered ask's bucket goes (but the one asks land in now) and its timer with it.
    async with ActorSystem() as system:
        actor = Gate()
        ref = await system.spawn(actor)
        deadlines = _deadlines(ref)
        loop = asyncio.get_running_loop()
        until = loop.time() + 4 * GRANULARITY
        asked = 0
        while loop.time() < until or asked < 10:
            asked += 1
            assert await ref.ask(asked, timeout=3600.0) == asked
            assert deadlines.buckets <= 1
        # Concurrent ones too, spread over buckets, answered together.
        pending: list[asyncio.Future[int]] = []
        slot = -1
        while len(pending) < 4:  # one ask in each of 4 successive buckets
            if int(loop.time() // GRANULARITY) != slot:
                slot = int(loop.time() // GRANULARITY)
                pending.append(asyncio.ensure_future(ref.ask(0, timeout=3600.0)))
            await asyncio.sleep(0)
        assert deadlines.buckets >= 2  # they are in flight: their buckets stay
        actor.gate.set()
        await asyncio.gather(*pending)
        assert len(deadlines) == 0
        assert deadlines.buckets <= 1
        # A different timeout lands in another bucket: the empty latest one goes.
        assert await ref.ask(1, timeout=60.0) == 1
        assert deadlines.buckets == 1
