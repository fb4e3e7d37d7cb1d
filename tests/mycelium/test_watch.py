"""Death watch: ``system.watch`` from outside, ``self.watch``/``on_terminated`` from inside."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from mycelium import (
    Actor,
    ActorRef,
    ActorSystem,
    LocalTransport,
    RemoteActorRef,
    Supervision,
    Terminated,
)


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _quiet_failures(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="mycelium")  # the failures here are on purpose


class Mortal(Actor[str]):
    async def handle(self, msg: str) -> str:
        if msg == "die":
            raise Boom("died")
        if msg == "quit":
            await self.system.stop(self.ref)
        return msg


class Watcher(Actor[Any]):
    """Watches what it is told to; logs its messages and the notices, in the order handled."""

    def __init__(self) -> None:
        self.log: list[object] = []
        self.changed = asyncio.Event()

    async def handle(self, msg: Any) -> None:
        match msg:
            case ("watch", ref):
                self.watch(ref)
            case ("unwatch", ref):
                self.unwatch(ref)
            case _:
                self.log.append(msg)
        self.changed.set()

    async def on_terminated(self, terminated: Terminated) -> None:
        if terminated.reason is not None and str(terminated.reason) == "fail the watcher":
            raise Boom("on_terminated failed")
        self.log.append(terminated)
        self.changed.set()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
            while len(self.log) < count:
                self.changed.clear()
                await self.changed.wait()


# ---------------------------------------------------------------------------- from outside


async def test_system_watch_waits_for_a_graceful_stop(system: ActorSystem) -> None:
    ref = await system.spawn(Mortal())
    watching = asyncio.ensure_future(system.watch(ref))
    await asyncio.sleep(0)
    assert not watching.done()
    await system.stop(ref)
    assert await watching == Terminated(ref, None)


async def test_system_watch_reports_the_exception_of_a_crash(system: ActorSystem) -> None:
    ref = await system.spawn(Mortal())
    ref.tell("die")
    terminated = await system.watch(ref)
    assert terminated.ref is ref
    assert isinstance(terminated.reason, Boom)
    assert str(terminated.reason) == "died"


async def test_system_watch_after_the_death_returns_at_once(system: ActorSystem) -> None:
    graceful = await system.spawn(Mortal())
    crashed = await system.spawn(Mortal())
    await system.stop(graceful)
    crashed.tell("die")
    first = await system.watch(crashed)
    assert await system.watch(graceful) == Terminated(graceful, None)
    again = await system.watch(crashed)
    assert again.reason is first.reason


async def test_an_actor_stopping_itself_is_a_graceful_stop(system: ActorSystem) -> None:
    ref = await system.spawn(Mortal())
    ref.tell("quit")
    assert await system.watch(ref) == Terminated(ref, None)


async def test_a_restart_is_not_a_death(system: ActorSystem) -> None:
    ref = await system.spawn(Mortal, supervision=Supervision.restart())
    watching = asyncio.ensure_future(system.watch(ref))
    ref.tell("die")
    assert await ref.ask("still here") == "still here"
    assert not watching.done()
    await system.stop(ref)
    assert await watching == Terminated(ref, None)


async def test_watch_refuses_what_is_not_a_local_ref(system: ActorSystem) -> None:
    remote: RemoteActorRef[str] = RemoteActorRef(LocalTransport(), str)
    with pytest.raises(TypeError, match=r"^watch expects a local ActorRef of this system"):
        await system.watch(remote)
    async with ActorSystem("other") as other:
        foreign = await other.spawn(Mortal())
        with pytest.raises(TypeError, match=r"belongs to another actor system$"):
            await system.watch(foreign)


# ---------------------------------------------------------------------------- from inside


async def test_on_terminated_comes_in_order_with_the_messages(system: ActorSystem) -> None:
    watcher = Watcher()
    wref = await system.spawn(watcher)
    target = await system.spawn(Mortal())
    await wref.send(("watch", target))
    await wref.send("before")
    target.tell("die")
    await system.watch(target)
    await wref.send("after")
    await watcher.until(3)
    [before, terminated, after] = watcher.log
    assert (before, after) == ("before", "after")
    assert isinstance(terminated, Terminated)
    assert terminated.ref is target
    assert str(terminated.reason) == "died"


async def test_a_watch_after_the_death_is_told_at_once(system: ActorSystem) -> None:
    watcher = Watcher()
    wref = await system.spawn(watcher)
    target = await system.spawn(Mortal())
    await system.stop(target)
    await wref.send(("watch", target))
    await watcher.until(1)
    assert watcher.log == [Terminated(target, None)]


async def test_one_notice_per_watched_actor_however_many_watches(system: ActorSystem) -> None:
    watcher = Watcher()
    wref = await system.spawn(watcher)
    target = await system.spawn(Mortal())
    for _ in range(3):
        await wref.ask(("watch", target))
    await system.stop(target)
    await wref.send("marker")
    await watcher.until(2)
    assert watcher.log == [Terminated(target, None), "marker"]
    # Once its notice was handled the watch is over: a new watch is told again, at once.
    await wref.send(("watch", target))
    await watcher.until(3)
    assert watcher.log[2:] == [Terminated(target, None)]


async def test_unwatch_suppresses_a_notice_already_queued(system: ActorSystem) -> None:
    class Gated(Watcher):
        def __init__(self) -> None:
            super().__init__()
            self.gate = asyncio.Event()
            self.entered = asyncio.Event()

        async def handle(self, msg: Any) -> None:
            match msg:
                case ("hold then unwatch", ref):
                    self.entered.set()
                    await self.gate.wait()
                    self.unwatch(ref)  # its notice is in the mailbox already
                case _:
                    await super().handle(msg)

    watcher = Gated()
    wref = await system.spawn(watcher)
    target = await system.spawn(Mortal())
    await wref.send(("watch", target))
    await wref.send(("hold then unwatch", target))
    await watcher.entered.wait()
    await system.stop(target)  # the notice is queued behind the handler in progress
    await wref.send("marker")
    watcher.gate.set()
    await watcher.until(1)
    assert watcher.log == ["marker"]


async def test_unwatch_before_the_death_means_no_notice(system: ActorSystem) -> None:
    watcher = Watcher()
    wref = await system.spawn(watcher)
    target = await system.spawn(Mortal())
    await wref.send(("watch", target))
    await wref.send(("unwatch", target))
    await system.stop(target)
    await wref.send("marker")
    await watcher.until(1)
    assert watcher.log == ["marker"]


async def test_a_notice_takes_no_room_in_a_full_mailbox(system: ActorSystem) -> None:
    class Slow(Watcher):
        def __init__(self) -> None:
            super().__init__()
            self.gate = asyncio.Event()
            self.entered = asyncio.Event()

        async def handle(self, msg: Any) -> None:
            if msg == "hold":
                self.entered.set()
                await self.gate.wait()
                return
            await super().handle(msg)

    watcher = Slow()
    wref = await system.spawn(watcher, capacity=1)
    target = await system.spawn(Mortal())
    await wref.send(("watch", target))
    await wref.send("hold")
    await watcher.entered.wait()
    wref.try_send("queued")  # the mailbox is full now
    await system.stop(target)
    watcher.gate.set()
    await watcher.until(2)
    assert watcher.log == ["queued", Terminated(target, None)]


async def test_an_exception_in_on_terminated_is_a_handler_failure(system: ActorSystem) -> None:
    watcher = Watcher()
    wref = await system.spawn(watcher, supervision=Supervision.resume())
    target = await system.spawn(Mortal())

    class FailsTheWatcher(Actor[str]):
        async def handle(self, msg: str) -> None:
            raise Boom("fail the watcher")

    other = await system.spawn(FailsTheWatcher())
    await wref.send(("watch", other))
    await wref.send(("watch", target))
    other.tell("go")
    terminated = await system.watch(other)
    await system.stop(target)
    await watcher.until(1)  # resumed: the next notice is handled
    assert watcher.log == [Terminated(target, None)]
    letters = [d for d in system.dead_letters.recent if d.actor.startswith("Watcher#")]
    assert [(d.message, d.reason) for d in letters] == [
        (terminated, "handler raised Boom: on_terminated failed")
    ]


async def test_a_watcher_that_restarts_drops_its_watches(system: ActorSystem) -> None:
    watchers: list[Watcher] = []

    def make() -> Watcher:
        watchers.append(Watcher())
        return watchers[-1]

    wref: ActorRef[Any] = await system.spawn(make, supervision=Supervision.restart())
    target = await system.spawn(Mortal())
    await wref.send(("watch", target))
    with pytest.raises(TypeError, match=r"^watch expects a local ActorRef"):
        await wref.ask(("watch", "not a ref"))  # the watcher fails, and is restarted
    await wref.ask("marker 1")  # handled by the new instance
    await system.stop(target)
    await wref.ask("marker 2")  # a notice, if any, would be handled before it
    assert len(watchers) == 2
    assert watchers[-1].log == ["marker 1", "marker 2"]  # no notice: the watch was dropped
