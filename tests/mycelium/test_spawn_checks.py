"""What spawn checks and runs, per actor: never a verdict kept from an earlier spawn.

Spawning reads an actor's ``handle`` and ``on_start`` each time (a class may be patched, an
instance may carry its own), skips ``on_start`` only when it is ``Actor``'s own no-op, and a
failed ``on_start`` leaves nothing behind that changes the next spawn of the same class.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from mycelium import Actor, ActorSystem, Supervision


class Patched(Actor[int]):
    """An actor class whose methods the tests replace after a first spawn."""

    async def handle(self, msg: int) -> str:
        return f"v1 {msg}"


def _sync_handle(self: Patched, msg: int) -> str:
    return f"sync {msg}"


async def _async_handle_v2(self: Patched, msg: int) -> str:
    return f"v2 {msg}"


@pytest.fixture
def patched_class() -> Any:
    """Put ``Patched``'s own methods back after the test."""
    handle = Patched.__dict__["handle"]
    yield Patched
    Patched.handle = handle  # type: ignore[method-assign]
    if "on_start" in Patched.__dict__:
        del Patched.on_start


async def test_a_handle_replaced_by_a_sync_function_after_a_spawn_is_refused(
    system: ActorSystem, patched_class: Any
) -> None:
    first = await system.spawn(Patched())
    assert await first.ask(1) == "v1 1"
    Patched.handle = _sync_handle  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"^Patched\.handle must be an `async def`$"):
        await system.spawn(Patched())
    with pytest.raises(TypeError, match=r"^Patched\.handle must be an `async def`$"):
        await system.spawn(Patched)  # from a factory: the same check
    assert len(system) == 1
    Patched.handle = _async_handle_v2  # type: ignore[assignment]
    second = await system.spawn(Patched())
    assert await second.ask(2) == "v2 2"


async def test_a_restart_checks_the_handle_the_class_has_then(
    system: ActorSystem, patched_class: Any
) -> None:
    ref = await system.spawn(Patched, supervision=Supervision.restart())
    assert await ref.ask(1) == "v1 1"
    Patched.handle = _sync_handle  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"^Patched\.handle must be an `async def`$"):
        await system.upgrade(ref, Patched)


class Open(Actor[int]):
    """No ``__slots__``: an instance may carry its own ``handle`` or ``on_start``."""

    def __init__(self) -> None:
        self.started = 0

    async def handle(self, msg: int) -> int:
        return self.started


async def test_an_instance_handle_is_checked_on_the_instance(system: ActorSystem) -> None:
    sync = Open()
    sync.handle = lambda msg: msg  # type: ignore[method-assign, assignment]
    with pytest.raises(TypeError, match=r"^Open\.handle must be an `async def`$"):
        await system.spawn(sync)

    async def own(msg: int) -> int:
        return -msg

    mine = Open()
    mine.handle = own  # type: ignore[method-assign]
    assert await (await system.spawn(mine)).ask(3) == -3
    partial = Open()
    partial.handle = functools.partial(own)  # type: ignore[method-assign]
    assert await (await system.spawn(partial)).ask(4) == -4
    assert await (await system.spawn(Open())).ask(5) == 0  # the class's own, untouched


async def test_an_on_start_given_to_an_instance_or_added_later_runs(
    system: ActorSystem, patched_class: Any
) -> None:
    plain = await system.spawn(Open())  # Actor's own on_start: nothing to run
    assert await plain.ask(0) == 0
    instance = Open()

    async def own_start() -> None:
        instance.started += 1

    instance.on_start = own_start  # type: ignore[method-assign]
    assert await (await system.spawn(instance)).ask(0) == 1
    started: list[Patched] = []

    async def on_start(self: Patched) -> None:
        started.append(self)

    first = Patched()
    await system.spawn(first)
    assert started == []
    Patched.on_start = on_start  # type: ignore[method-assign]
    later = Patched()
    await system.spawn(later)
    assert started == [later]


class FailsOnce(Actor[int]):
    """Its first instance's ``on_start`` raises; the next ones start."""

    failed = False

    async def on_start(self) -> None:
        if not FailsOnce.failed:
            FailsOnce.failed = True
            raise RuntimeError("first start fails")

    async def handle(self, msg: int) -> int:
        return msg + 1


async def test_a_class_whose_on_start_failed_spawns_again(system: ActorSystem) -> None:
    FailsOnce.failed = False
    with pytest.raises(RuntimeError, match=r"^first start fails"):
        await system.spawn(FailsOnce(), name="once")
    assert len(system) == 0
    assert system.lookup("once") is None
    ref = await system.spawn(FailsOnce(), name="once")
    assert await ref.ask(1) == 2
    assert system.lookup("once") is ref
    assert len(system) == 1


class Slotted(Actor[int]):
    """``__slots__`` and no instance dict: spawn keeps its verdict on this class's methods."""

    __slots__ = ()

    async def handle(self, msg: int) -> str:
        return f"v1 {msg}"


class SlottedChild(Slotted):
    __slots__ = ()


def _sync_slotted(self: Slotted, msg: int) -> str:
    return f"sync {msg}"


async def _async_slotted_v2(self: Slotted, msg: int) -> str:
    return f"v2 {msg}"


@pytest.fixture
def slotted_class() -> Any:
    """Put ``Slotted``'s own methods back after the test."""
    handle = Slotted.__dict__["handle"]
    yield Slotted
    Slotted.handle = handle  # type: ignore[method-assign]
    if "on_start" in Slotted.__dict__:
        del Slotted.on_start


async def test_a_slotted_class_patched_after_spawns_is_checked_again(
    system: ActorSystem, slotted_class: Any
) -> None:
    for _ in range(2):  # the second spawn of each class may reuse the first one's verdict
        assert await (await system.spawn(Slotted())).ask(1) == "v1 1"
        assert await (await system.spawn(SlottedChild())).ask(1) == "v1 1"
    Slotted.handle = _sync_slotted  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"^Slotted\.handle must be an `async def`$"):
        await system.spawn(Slotted())
    with pytest.raises(TypeError, match=r"^SlottedChild\.handle must be an `async def`$"):
        await system.spawn(SlottedChild())  # inherited from the patched base
    Slotted.handle = _async_slotted_v2  # type: ignore[assignment]
    assert await (await system.spawn(SlottedChild())).ask(2) == "v2 2"
    started: list[Slotted] = []

    async def on_start(self: Slotted) -> None:
        started.append(self)

    Slotted.on_start = on_start  # type: ignore[method-assign]
    child = SlottedChild()
    await system.spawn(child)
    assert started == [child]
    del Slotted.on_start
    await system.spawn(SlottedChild())
    assert started == [child]  # Actor's own again: nothing more ran
