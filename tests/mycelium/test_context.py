"""Context variables: a sender's values do not leak into handlers, nor do a turn's into the next."""

from __future__ import annotations

import asyncio
import contextvars

from mycelium import Actor, ActorSystem

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


class Reader(Actor[int]):
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def handle(self, msg: int) -> str:
        self.seen.append(request_id.get())
        return request_id.get()


class Setter(Actor[int]):
    async def handle(self, msg: int) -> None:
        request_id.set(f"set-by-setter-{msg}")


async def test_a_handler_does_not_see_the_senders_context() -> None:
    async with ActorSystem() as system:
        reader = Reader()
        ref = await system.spawn(reader)
        request_id.set("client-A")
        assert await ref.ask(1) == "unset"


async def test_what_a_handler_sets_does_not_reach_a_later_turn() -> None:
    async with ActorSystem() as system:
        reader = Reader()
        setter_ref = await system.spawn(Setter())
        reader_ref = await system.spawn(reader)
        await setter_ref.ask(1)  # the setter's turn ends here
        assert await reader_ref.ask(2) == "unset"
        assert request_id.get() == "unset"  # nor does it reach the caller


async def test_a_suspended_handler_keeps_its_own_values() -> None:
    class Suspends(Actor[int]):
        async def handle(self, msg: int) -> str:
            request_id.set(f"mine-{msg}")
            await asyncio.sleep(0)
            return request_id.get()

    async with ActorSystem() as system:
        ref = await system.spawn(Suspends())
        assert await ref.ask(7) == "mine-7"


async def test_actors_run_in_the_same_turn_do_not_see_each_others_values() -> None:
    async with ActorSystem() as system:
        reader = Reader()
        setter_ref = await system.spawn(Setter())
        reader_ref = await system.spawn(reader)
        setter_ref.tell(1)  # both become ready in this turn: the setter runs first
        reader_ref.tell(2)
        await reader_ref.ask(3)
        assert reader.seen == ["unset", "unset"]


async def test_a_suspended_handler_does_not_share_its_values_with_later_runs() -> None:
    release = asyncio.Event()

    class SetsThenParks(Actor[int]):
        async def handle(self, msg: int) -> str:
            request_id.set("parked-one")
            await release.wait()
            return request_id.get()

    async with ActorSystem() as system:
        parks = await system.spawn(SetsThenParks())
        reader = Reader()
        reader_ref = await system.spawn(reader)
        answer = asyncio.ensure_future(parks.ask(1))
        assert await reader_ref.ask(2) == "unset"
        release.set()
        assert await answer == "parked-one"
        assert await reader_ref.ask(3) == "unset"
