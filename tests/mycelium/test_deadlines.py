"""Ask timeouts in buckets: they fire, name the actor, and leave nothing behind."""

from __future__ import annotations

import asyncio

import pytest

from mycelium import Actor, ActorRef, ActorSystem, AskTimeout, LocalActorRef
from mycelium._deadlines import (  # pyright: ignore[reportPrivateUsage]
    SHORTEST_BUCKETED,
    AskDeadlines,
)

BUCKETED = SHORTEST_BUCKETED + 0.01  # long enough to take the bucketed path, short for a test


def _deadlines(ref: ActorRef[int]) -> AskDeadlines:
    assert isinstance(ref, LocalActorRef)
    return ref.dispatcher.ask_deadlines


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
        # Never early, on the loop's own clock (bucketing may only make it up to a bucket late).
        assert loop.time() - asked_at >= BUCKETED
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
