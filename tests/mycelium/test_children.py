"""Children: ``await self.spawn(...)``, ``self.children``, names ``"p/x"``, and who stops when."""

from __future__ import annotations

import asyncio
import logging

import pytest

from mycelium import Actor, ActorStopped, ActorSystem, Supervision


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _quiet_failures(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="mycelium")  # the failures here are on purpose


class Log:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.changed = asyncio.Event()

    def note(self, event: str) -> None:
        self.events.append(event)
        self.changed.set()

    async def until(self, event: str) -> None:
        async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
            while event not in self.events:
                self.changed.clear()
                await self.changed.wait()


class Leaf(Actor[str]):
    def __init__(self, log: Log, name: str) -> None:
        self.log = log
        self.name = name

    async def handle(self, msg: str) -> str:
        if msg == "boom":
            raise Boom(self.name)
        self.log.note(f"{self.name} got {msg}")
        return self.name

    async def on_stop(self) -> None:
        self.log.note(f"{self.name} stop")


class Tree(Actor[str]):
    """Spawns children "a", "b", "c" on start; "spawn x" spawns one more; "boom" fails."""

    def __init__(self, log: Log, names: tuple[str, ...] = ("a", "b", "c")) -> None:
        self.log = log
        self.names = names

    async def on_start(self) -> None:
        self.log.note("tree start")
        for name in self.names:
            await self.spawn(Leaf(self.log, name), name=name)

    async def handle(self, msg: str) -> list[str | None]:
        if msg == "boom":
            raise Boom("tree")
        if msg.startswith("spawn "):
            await self.spawn(Leaf(self.log, msg[6:]), name=msg[6:])
        else:
            self.log.note(f"tree got {msg}")
        return [child.name for child in self.children]

    async def on_stop(self) -> None:
        self.log.note("tree stop")


async def test_children_are_named_under_their_parent_and_listed_oldest_first(
    system: ActorSystem,
) -> None:
    log = Log()
    tree = await system.spawn(Tree(log), name="p")
    assert await tree.ask("spawn d") == ["p/a", "p/b", "p/c", "p/d"]
    a = system.lookup("p/a")
    assert a is not None
    assert a.name == "p/a"
    assert await a.ask("hi") == "a"
    assert system.lookup("a") is None


async def test_grandchildren_nest_their_names(system: ActorSystem) -> None:
    log = Log()

    class Middle(Actor[str]):
        async def on_start(self) -> None:
            await self.spawn(Leaf(log, "leaf"), name="y")

        async def handle(self, msg: str) -> None:
            pass

    class Top(Actor[str]):
        async def on_start(self) -> None:
            await self.spawn(Middle(), name="x")

        async def handle(self, msg: str) -> None:
            pass

    await system.spawn(Top(), name="p")
    leaf = system.lookup("p/x/y")
    assert leaf is not None
    assert await leaf.ask("hi") == "leaf"


async def test_an_unnamed_parent_names_its_children_by_its_label(system: ActorSystem) -> None:
    log = Log()
    tree = await system.spawn(Tree(log, ("a",)))
    assert await tree.ask("list") == [f"Tree#{int(tree.id)}/a"]


async def test_a_parent_stop_drains_its_mailbox_then_stops_children_newest_first(
    system: ActorSystem,
) -> None:
    log = Log()
    tree = await system.spawn(Tree(log), name="p")
    tree.tell("one")
    tree.tell("two")
    await system.stop(tree)
    assert log.events == [
        "tree start",
        "tree got one",
        "tree got two",
        "c stop",
        "b stop",
        "a stop",
        "tree stop",
    ]
    assert len(system) == 0


async def test_a_crashed_parent_stops_its_children_too(system: ActorSystem) -> None:
    log = Log()
    tree = await system.spawn(Tree(log), name="p")
    tree.tell("boom")
    terminated = await system.watch(tree)
    assert str(terminated.reason) == "tree"
    assert log.events == ["tree start", "c stop", "b stop", "a stop", "tree stop"]
    assert system.lookup("p/a") is None


async def test_a_restarting_parent_stops_its_children_then_spawns_them_again(
    system: ActorSystem,
) -> None:
    log = Log()
    tree = await system.spawn(lambda: Tree(log), name="p", supervision=Supervision.restart())
    old_a = system.lookup("p/a")
    tree.tell("boom")
    assert await tree.ask("list") == ["p/a", "p/b", "p/c"]
    assert log.events == [
        "tree start",
        "c stop",
        "b stop",
        "a stop",
        "tree stop",
        "tree start",
        "tree got list",
    ]
    new_a = system.lookup("p/a")
    assert new_a is not None
    assert new_a != old_a
    assert old_a is not None
    assert not old_a.is_alive


async def test_a_child_that_stops_leaves_the_list(system: ActorSystem) -> None:
    log = Log()
    tree = await system.spawn(Tree(log), name="p")
    b = system.lookup("p/b")
    assert b is not None
    await system.stop(b)
    assert await tree.ask("list") == ["p/a", "p/c"]
    crashing = system.lookup("p/c")
    assert crashing is not None
    crashing.tell("boom")
    await system.watch(crashing)
    assert await tree.ask("list") == ["p/a"]
    assert tree.is_alive  # a child's crash alone does not stop its parent


async def test_a_parent_cannot_spawn_from_its_on_stop(system: ActorSystem) -> None:
    errors: list[BaseException] = []

    class Late(Actor[str]):
        async def handle(self, msg: str) -> None:
            pass

        async def on_stop(self) -> None:
            try:
                await self.spawn(Leaf(Log(), "late"), name="late")
            except ActorStopped as exc:
                errors.append(exc)

    ref = await system.spawn(Late(), name="late-parent")
    await system.stop(ref)
    [error] = errors
    assert "a stopping actor spawns no children" in str(error)
    assert system.lookup("late-parent/late") is None


async def test_children_spawned_by_a_failing_on_start_are_stopped(system: ActorSystem) -> None:
    log = Log()

    class Fails(Tree):
        async def on_start(self) -> None:
            await super().on_start()
            raise Boom("on_start")

    with pytest.raises(Boom):
        await system.spawn(Fails(log), name="p")
    assert log.events == ["tree start", "c stop", "b stop", "a stop"]  # no "tree stop"
    assert len(system) == 0


async def test_children_stop_before_their_parent_at_shutdown() -> None:
    log = Log()
    async with ActorSystem() as system:
        await system.spawn(Tree(log), name="p")
    assert log.events[-4:] == ["c stop", "b stop", "a stop", "tree stop"]
