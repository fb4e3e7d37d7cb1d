"""In-place upgrade: ``system.upgrade(ref, factory, migrate=...)``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from mycelium import Actor, ActorStopped, ActorSystem, Supervision, Terminated


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _quiet_failures(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="mycelium")  # the failures here are on purpose


class V1(Actor[int]):
    version = 1

    def __init__(self, log: list[str] | None = None) -> None:
        self.total = 0
        self.log = log if log is not None else []
        self.seen: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    async def on_start(self) -> None:
        self.log.append(f"start v{self.version}")

    async def on_stop(self) -> None:
        self.log.append(f"stop v{self.version}")

    async def handle(self, msg: int) -> tuple[int, int]:
        if msg == -1:
            self.entered.set()
            await self.gate.wait()
            return self.version, self.total
        if msg == -2:
            raise Boom("v1 failed")
        self.total += msg
        self.seen.append(msg)
        return self.version, self.total


class V2(V1):
    version = 2

    async def handle(self, msg: int) -> tuple[int, int]:
        if msg == -2:
            raise Boom("v2 failed")
        return await super().handle(msg * 10 if msg > 0 else msg)


def carry_over(old: V1) -> V2:
    new = V2(old.log)
    new.total = old.total
    return new


async def test_migrate_moves_the_state_without_on_stop_or_on_start(system: ActorSystem) -> None:
    log: list[str] = []
    ref = await system.spawn(V1(log), name="counter")
    assert await ref.ask(1) == (1, 1)
    await system.upgrade(ref, V2, migrate=carry_over)
    assert await ref.ask(1) == (2, 11)
    assert log == ["start v1"]
    assert system.lookup("counter") is ref


async def test_migrate_may_be_a_coroutine_function(system: ActorSystem) -> None:
    ref = await system.spawn(V1())
    await ref.ask(3)

    async def later(old: V1) -> V2:
        await asyncio.sleep(0)
        return carry_over(old)

    await system.upgrade(ref, V2, migrate=later)
    assert await ref.ask(1) == (2, 13)


async def test_the_swap_happens_at_the_next_boundary_ahead_of_the_queue(
    system: ActorSystem,
) -> None:
    old = V1()
    ref = await system.spawn(old)
    old.gate.clear()
    in_progress = asyncio.ensure_future(ref.ask(-1))
    await old.entered.wait()
    for i in range(1, 6):
        ref.tell(i)
    upgrading = asyncio.ensure_future(system.upgrade(ref, V2, migrate=carry_over))
    await asyncio.sleep(0)
    assert not upgrading.done()  # the handler in progress finishes first
    old.gate.set()
    assert await in_progress == (1, 0)  # ... on the old instance
    await upgrading
    assert old.seen == []
    assert await ref.ask(0) == (2, 150)  # every queued message went to the new one


async def test_the_factory_alone_runs_on_stop_then_on_start(system: ActorSystem) -> None:
    log: list[str] = []
    ref = await system.spawn(V1(log))
    await ref.ask(5)
    await system.upgrade(ref, lambda: V2(log))
    assert log == ["start v1", "stop v1", "start v2"]
    assert await ref.ask(1) == (2, 10)  # fresh state


async def test_a_failing_migrate_leaves_the_old_instance_running(system: ActorSystem) -> None:
    ref = await system.spawn(V1())
    await ref.ask(4)

    def broken(old: V1) -> V2:
        raise Boom("cannot migrate")

    with pytest.raises(Boom, match=r"^cannot migrate$"):
        await system.upgrade(ref, V2, migrate=broken)
    assert await ref.ask(1) == (1, 5)

    def broken_factory() -> V2:
        raise Boom("cannot build")

    with pytest.raises(Boom, match=r"^cannot build$"):
        await system.upgrade(ref, broken_factory)
    with pytest.raises(TypeError, match=r"^migrate returned int, not an Actor$"):
        await system.upgrade(ref, V2, migrate=lambda old: 5)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match=r"already spawned"):
        await system.upgrade(ref, V2, migrate=lambda old: old)
    assert await ref.ask(1) == (1, 6)


async def test_a_failing_on_start_of_the_new_instance_is_a_failure_of_the_actor(
    system: ActorSystem,
) -> None:
    class Unstartable(V2):
        async def on_start(self) -> None:
            raise Boom("v2 will not start")

    log: list[str] = []
    ref = await system.spawn(lambda: V1(log), supervision=Supervision.restart())
    with pytest.raises(Boom, match=r"^v2 will not start$"):
        await system.upgrade(ref, Unstartable)
    assert await ref.ask(1) == (1, 1)  # restarted from the factory it had before
    assert log == ["start v1", "stop v1", "start v1"]


async def test_later_restarts_use_the_new_factory(system: ActorSystem) -> None:
    ref = await system.spawn(V1, supervision=Supervision.restart())
    await system.upgrade(ref, V2, migrate=carry_over)
    with pytest.raises(Boom, match=r"^v2 failed$"):
        await ref.ask(-2)
    assert await ref.ask(1) == (2, 10)  # a fresh V2


async def test_timers_children_and_watches_are_kept(system: ActorSystem) -> None:
    class Parent(Actor[Any]):
        def __init__(self, version: int = 1) -> None:
            self.version = version
            self.seen: list[object] = []

        async def on_start(self) -> None:
            await self.spawn(V1(), name="kid")

        async def handle(self, msg: Any) -> Any:
            if msg == "arm":
                self.timers.send_after(0, "ring", key="t")
                return None
            if msg == "state":
                return self.version, list(self.children), self.seen
            self.seen.append((self.version, msg))
            return None

        async def on_terminated(self, terminated: Terminated) -> None:
            self.seen.append((self.version, "terminated"))

    parent = Parent()
    ref = await system.spawn(parent, name="p")
    other = await system.spawn(V1())
    parent.watch(other)
    await ref.ask("arm")

    def moved(old: Parent) -> Parent:
        new = Parent(2)
        new.seen = old.seen
        return new

    await system.upgrade(ref, Parent, migrate=moved)
    await system.stop(other)
    async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
        while True:
            version, children, seen = await ref.ask("state")
            if (2, "terminated") in seen and any(item[1] == "ring" for item in seen):
                break
            await asyncio.sleep(0.001)
    assert version == 2
    assert [child.name for child in children] == ["p/kid"]


async def test_upgrading_a_stopped_actor_raises(system: ActorSystem) -> None:
    ref = await system.spawn(V1())
    await system.stop(ref)
    with pytest.raises(ActorStopped, match=r"a stopped actor cannot be upgraded"):
        await system.upgrade(ref, V2)


async def test_an_upgrade_awaited_from_its_own_handler_raises(system: ActorSystem) -> None:
    class SelfUpgrading(Actor[str]):
        async def handle(self, msg: str) -> str:
            try:
                await self.system.upgrade(self.ref, SelfUpgrading)
            except RuntimeError as exc:
                return str(exc)
            return "upgraded"

    ref = await system.spawn(SelfUpgrading())
    assert "awaited its own upgrade from its handler" in await ref.ask("go")


async def test_upgrades_under_load_lose_nothing_and_handle_nothing_twice(
    system: ActorSystem,
) -> None:
    class Sink(Actor[int]):
        def __init__(self, seen: list[int]) -> None:
            self.seen = seen

        async def handle(self, msg: int) -> None:
            if msg % 7 == 0:
                await asyncio.sleep(0)
            self.seen.append(msg)

    seen: list[int] = []
    ref = await system.spawn(Sink(seen), capacity=16)

    async def sender(base: int) -> None:
        for i in range(200):
            await ref.send(base + i)

    async def upgrader() -> None:
        for n in range(20):
            if n % 2:
                await system.upgrade(ref, lambda: Sink(seen))
            else:
                await system.upgrade(ref, lambda: Sink(seen), migrate=lambda old: Sink(old.seen))
            await asyncio.sleep(0)

    await asyncio.gather(sender(0), sender(1000), sender(2000), upgrader())
    await ref.ask(-7)
    assert sorted(seen) == sorted([*range(200), *range(1000, 1200), *range(2000, 2200), -7])
    for base in (0, 1000, 2000):  # each sender's order is kept
        mine = [m for m in seen if base <= m < base + 200]
        assert mine == sorted(mine)
