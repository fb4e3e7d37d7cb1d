"""``_runtime.py``: the services a system hands its cells, one ``Runtime`` per system."""

from __future__ import annotations

import asyncio

from mycelium import Actor, ActorSystem
from mycelium.dispatcher import Dispatcher
from mycelium.local_ref import LocalActorRef


class Echo(Actor[int]):
    async def handle(self, msg: int) -> int:
        return msg


async def _cell(system: ActorSystem) -> LocalActorRef[int]:
    ref = await system.spawn(Echo())
    assert isinstance(ref, LocalActorRef)
    return ref


async def test_the_cells_of_a_system_share_the_runtime_it_built(system: ActorSystem) -> None:
    first, second = await _cell(system), await _cell(system)
    runtime = first.runtime
    assert second.runtime is runtime
    assert runtime.system is system
    assert runtime.dead_letters is system.dead_letters
    assert runtime.loop is asyncio.get_running_loop()
    assert isinstance(first.dispatcher, Dispatcher)
    assert second.dispatcher is first.dispatcher


async def test_two_systems_on_one_loop_have_a_runtime_each() -> None:
    async with ActorSystem("one") as one, ActorSystem("two") as two:
        a, b = await _cell(one), await _cell(two)
        assert a.runtime is not b.runtime
        assert a.dispatcher is not b.dispatcher
        assert a.runtime.ask_deadlines is not b.runtime.ask_deadlines


async def test_a_stopped_actor_is_forgotten_through_its_runtime(system: ActorSystem) -> None:
    cell = await _cell(system)
    assert cell in system.actors
    await system.stop(cell)
    assert cell not in system.actors
    assert len(system) == 0
