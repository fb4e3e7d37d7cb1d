"""``registry.py``: the actors of a system by id and by name, and what a stop frees."""

from __future__ import annotations

import pytest

from mycelium import Actor, ActorSystem, NameTaken
from mycelium.local_ref import LocalActorRef
from mycelium.registry import Registry


class Echo(Actor[int]):
    async def handle(self, msg: int) -> int:
        return msg


async def _cells(system: ActorSystem, *names: str | None) -> list[LocalActorRef[int]]:
    cells: list[LocalActorRef[int]] = []
    for name in names:
        ref = await system.spawn(Echo(), name=name)
        assert isinstance(ref, LocalActorRef)
        cells.append(ref)
    return cells


async def test_cells_are_kept_in_spawn_order_and_named_ones_by_name(system: ActorSystem) -> None:
    first, second, third = await _cells(system, "a", None, "c")
    registry = Registry()
    for cell in (first, second, third):
        registry.add(cell)
    assert list(registry) == [first, second, third]
    assert registry.newest_first() == [third, second, first]
    assert len(registry) == 3
    assert registry.named("a") is first
    assert registry.named("c") is third
    assert registry.named("b") is None


async def test_a_name_in_use_is_refused_until_its_actor_is_forgotten(system: ActorSystem) -> None:
    (cell,) = await _cells(system, "taken")
    registry = Registry()
    registry.add(cell)
    with pytest.raises(NameTaken, match="taken"):
        registry.check_name("taken")
    registry.check_name(None)  # anonymous actors never clash
    registry.forget(cell)
    registry.check_name("taken")
    assert registry.named("taken") is None
    assert list(registry) == []


async def test_forgetting_a_stale_cell_keeps_the_name_of_its_successor(
    system: ActorSystem,
) -> None:
    """A name freed and taken again belongs to the new actor: forgetting the old one again (a
    forced stop lets go of it, then its on_stop ends late) does not free the new one's name."""
    (old,) = await _cells(system, "x")
    await system.stop(old)
    (new,) = await _cells(system, "x")
    registry = Registry()
    registry.add(old)
    registry.forget(old)
    registry.add(new)
    registry.forget(old)
    assert registry.named("x") is new
    assert list(registry) == [new]


async def test_the_system_forgets_a_stopped_actor_and_frees_its_name(system: ActorSystem) -> None:
    ref = await system.spawn(Echo(), name="once")
    await system.stop(ref)
    assert system.lookup("once") is None
    assert ref not in system.actors
    again = await system.spawn(Echo(), name="once")
    assert system.lookup("once") is again
