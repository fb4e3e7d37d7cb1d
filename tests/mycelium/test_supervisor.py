"""``Supervisor`` and ``Child``: start order, strategies, restart types, limits, escalation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from mycelium import (
    Actor,
    ActorRef,
    ActorSystem,
    Child,
    MessageTypeError,
    Supervision,
    Supervisor,
)


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _quiet_failures(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="mycelium")  # the failures here are on purpose


class Journal:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.counts: dict[str, int] = {}
        self.changed = asyncio.Event()
        self.failing_starts: dict[str, int] = {}  # name -> how many starts fail after the first

    def note(self, event: str) -> None:
        self.events.append(event)
        self.changed.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def since(self, marker: str) -> list[str]:
        return self.events[self.events.index(marker) + 1 :]


class Member(Actor[str]):
    def __init__(self, journal: Journal, name: str) -> None:
        self.journal = journal
        self.name = name
        journal.counts[name] = self.number = journal.counts.get(name, 0) + 1

    @property
    def tag(self) -> str:
        return f"{self.name}{self.number}"

    async def on_start(self) -> None:
        self.journal.note(f"start {self.tag}")
        failing = self.journal.failing_starts.get(self.name, 0)
        if self.number == 1 and failing < 0:
            raise Boom(f"first start of {self.name}")
        if 1 < self.number <= 1 + failing:
            raise Boom(f"start {self.tag}")

    async def handle(self, msg: str) -> str:
        if msg == "boom":
            raise Boom(f"{self.tag} failed")
        if msg == "quit":
            await self.system.stop(self.ref)
            return self.tag
        self.journal.note(f"{self.tag} got {msg}")
        return self.tag

    async def on_stop(self) -> None:
        self.journal.note(f"stop {self.tag}")


def member(journal: Journal, name: str) -> Callable[[], Member]:
    return lambda: Member(journal, name)


async def start(
    system: ActorSystem,
    journal: Journal,
    names: str = "abc",
    *,
    restarts: dict[str, Any] | None = None,
    **options: Any,
) -> ActorRef[Any]:
    kinds = restarts or {}
    children = [Child(n, member(journal, n), restart=kinds.get(n, "permanent")) for n in names]
    ref = await system.spawn(Supervisor(children, **options), name="sup")
    journal.note("started")
    return ref


def child(system: ActorSystem, name: str) -> ActorRef[str]:
    ref = system.lookup(f"sup/{name}")
    assert ref is not None
    return ref


# ---------------------------------------------------------------------------- starting


async def test_children_start_in_order_before_spawn_returns(system: ActorSystem) -> None:
    journal = Journal()
    sup = await start(system, journal)
    assert journal.events == ["start a1", "start b1", "start c1", "started"]
    assert [ref.name for ref in system.actors] == ["sup", "sup/a", "sup/b", "sup/c"]
    assert await child(system, "b").ask("hi") == "b1"
    assert sup.is_alive


async def test_a_child_failing_its_first_start_stops_the_started_ones_and_spawn_raises(
    system: ActorSystem,
) -> None:
    journal = Journal()
    journal.failing_starts["c"] = -1
    with pytest.raises(Boom, match=r"^first start of c\n"):  # (then notes: who raised it)
        await start(system, journal, "abcd")
    assert journal.events == ["start a1", "start b1", "start c1", "stop b1", "stop a1"]
    assert len(system) == 0


async def test_a_supervisor_handles_no_messages(system: ActorSystem) -> None:
    sup = await start(system, Journal())
    with pytest.raises(MessageTypeError, match=r"handles NoMessages, not str"):
        sup.tell("hello")


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda: Child("", Actor), ValueError, r"^a child's name must be a non-empty string"),
        (lambda: Child("x", Actor()), TypeError, r"^Child .x. needs a factory"),  # type: ignore[arg-type]
        (lambda: Child("x", Actor, restart="sometimes"), ValueError, r"restart must be"),  # type: ignore[arg-type]
        (lambda: Child("x", Actor, capacity=0), ValueError, r"^capacity must be >= 1"),
        (lambda: Supervisor([Child("x", Actor)] * 2), ValueError, r"need distinct names"),
        (lambda: Supervisor([], strategy="all"), ValueError, r"^strategy must be"),  # type: ignore[arg-type]
        (lambda: Supervisor([], max_restarts=-1), ValueError, r"^max_restarts must be >= 0"),
        (lambda: Supervisor(["x"]), TypeError, r"children are Child specs"),  # type: ignore[list-item]
    ],
)
def test_bad_specs_are_refused(
    make: Callable[[], object], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        make()


# ---------------------------------------------------------------------------- strategies


async def test_one_for_one_restarts_the_failed_child_alone_keeping_its_ref_and_mail(
    system: ActorSystem,
) -> None:
    journal = Journal()
    await start(system, journal)
    b = child(system, "b")
    for msg in ["boom", "x", "y"]:
        b.tell(msg)
    await journal.until(lambda: "b2 got y" in journal.events)
    assert journal.since("started") == ["stop b1", "start b2", "b2 got x", "b2 got y"]
    assert child(system, "b") is b
    assert [d.message for d in system.dead_letters.recent] == ["boom"]


async def test_one_for_all_stops_all_newest_first_then_starts_them_in_order(
    system: ActorSystem,
) -> None:
    journal = Journal()
    await start(system, journal, strategy="one_for_all")
    child(system, "b").tell("boom")
    await journal.until(lambda: "start c2" in journal.events)
    assert journal.since("started") == [
        "stop c1",
        "stop b1",
        "stop a1",
        "start a2",
        "start b2",
        "start c2",
    ]


async def test_rest_for_one_restarts_the_child_and_those_started_after_it(
    system: ActorSystem,
) -> None:
    journal = Journal()
    await start(system, journal, "abcd", strategy="rest_for_one")
    child(system, "b").tell("boom")
    await journal.until(lambda: "start d2" in journal.events)
    assert journal.since("started") == [
        "stop d1",
        "stop c1",
        "stop b1",
        "start b2",
        "start c2",
        "start d2",
    ]
    assert await child(system, "a").ask("still") == "a1"


async def test_a_sibling_busy_in_a_handler_is_restarted_at_its_next_message_boundary(
    system: ActorSystem,
) -> None:
    journal = Journal()
    gate = asyncio.Event()

    class Busy(Member):
        async def handle(self, msg: str) -> str:
            if msg == "hold":
                self.journal.note(f"{self.tag} holds")
                await gate.wait()
                self.journal.note(f"{self.tag} done")
                return self.tag
            return await super().handle(msg)

    children = [Child("a", lambda: Busy(journal, "a")), Child("b", member(journal, "b"))]
    await system.spawn(Supervisor(children, strategy="one_for_all"), name="sup")
    journal.note("started")
    child(system, "a").tell("hold")
    child(system, "a").tell("queued")
    await journal.until(lambda: "a1 holds" in journal.events)
    child(system, "b").tell("boom")
    for _ in range(20):
        await asyncio.sleep(0)
    assert "stop b1" not in journal.events  # it waits for a's handler to finish
    gate.set()
    await journal.until(lambda: "a2 got queued" in journal.events)
    assert journal.since("a1 holds") == [
        "a1 done",
        "stop b1",
        "stop a1",
        "start a2",
        "start b2",
        "a2 got queued",
    ]


# ---------------------------------------------------------------------------- restart types


async def test_temporary_children_are_never_restarted(system: ActorSystem) -> None:
    journal = Journal()
    await start(system, journal, "ab", restarts={"b": "temporary"})
    b = child(system, "b")
    b.tell("boom")
    terminated = await system.watch(b)
    assert str(terminated.reason) == "b1 failed"
    assert system.lookup("sup/b") is None
    assert journal.since("started") == ["stop b1"]


async def test_transient_children_are_restarted_after_a_failure_only(
    system: ActorSystem,
) -> None:
    journal = Journal()
    await start(system, journal, "ab", restarts={"b": "transient"})
    b = child(system, "b")
    b.tell("boom")
    assert await b.ask("again") == "b2"
    assert await b.ask("quit") == "b2"  # a normal exit: not restarted
    assert (await system.watch(b)).reason is None
    assert journal.since("started") == ["stop b1", "start b2", "b2 got again", "stop b2"]


async def test_a_permanent_child_that_stops_itself_is_restarted(system: ActorSystem) -> None:
    journal = Journal()
    await start(system, journal, "a")
    a = child(system, "a")
    a.tell("quit")
    a.tell("queued")  # kept for the new instance
    await journal.until(lambda: "a2 got queued" in journal.events)
    assert journal.since("started") == ["stop a1", "start a2", "a2 got queued"]
    assert a.is_alive


async def test_a_temporary_child_that_stops_itself_is_gone(system: ActorSystem) -> None:
    journal = Journal()
    await start(system, journal, "a", restarts={"a": "temporary"})
    a = child(system, "a")
    await a.ask("quit")
    assert (await system.watch(a)).reason is None


async def test_a_child_stopped_by_anyone_else_is_never_restarted(system: ActorSystem) -> None:
    journal = Journal()
    sup = await start(system, journal, "ab", strategy="one_for_all")
    a = child(system, "a")
    await system.stop(a)
    assert journal.since("started") == ["stop a1"]
    child(system, "b").tell("boom")  # a later group restart does not bring it back
    await journal.until(lambda: "start b2" in journal.events)
    assert system.lookup("sup/a") is None
    assert sup.is_alive


async def test_a_temporary_sibling_is_stopped_for_good_by_a_group_restart(
    system: ActorSystem,
) -> None:
    journal = Journal()
    await start(system, journal, "abc", restarts={"c": "temporary"}, strategy="one_for_all")
    c = child(system, "c")
    child(system, "a").tell("boom")
    await journal.until(lambda: "start b2" in journal.events)
    assert journal.since("started") == ["stop c1", "stop b1", "stop a1", "start a2", "start b2"]
    assert (await system.watch(c)).reason is None


# ---------------------------------------------------------------------------- limits


async def test_over_its_limit_a_supervisor_stops_its_children_and_fails(
    system: ActorSystem,
) -> None:
    journal = Journal()
    sup = await start(system, journal, "abc", max_restarts=2, within=60.0)
    child(system, "a").tell("boom")
    await journal.until(lambda: "start a2" in journal.events)
    child(system, "c").tell("boom")
    await journal.until(lambda: "start c2" in journal.events)
    child(system, "b").tell("boom")  # the third restart within 60 s: one too many
    terminated = await system.watch(sup)
    assert str(terminated.reason) == "b1 failed"
    assert journal.since("start c2") == ["stop c2", "stop b1", "stop a2"]
    assert len(system) == 0


async def test_a_failing_restart_counts_toward_the_limit(system: ActorSystem) -> None:
    journal = Journal()
    journal.failing_starts["a"] = 100
    sup = await start(system, journal, "ab", max_restarts=3, within=60.0)
    child(system, "a").tell("boom")
    terminated = await system.watch(sup)
    assert str(terminated.reason) == "start a4"
    assert journal.since("started") == [
        "stop a1",
        "start a2",
        "start a3",
        "start a4",
        "stop b1",
    ]


async def test_a_supervisor_over_its_limit_is_restarted_by_its_own_supervisor(
    system: ActorSystem,
) -> None:
    journal = Journal()

    def inner() -> Supervisor:
        return Supervisor([Child("x", member(journal, "x"))], max_restarts=0)

    await system.spawn(
        Supervisor([Child("a", member(journal, "a")), Child("inner", inner)]), name="sup"
    )
    journal.note("started")
    x = system.lookup("sup/inner/x")
    assert x is not None
    x.tell("boom")  # the inner supervisor allows no restart: it fails; the outer restarts it
    await journal.until(lambda: "start x2" in journal.events)
    assert journal.since("started") == ["stop x1", "start x2"]
    new_x = system.lookup("sup/inner/x")
    assert new_x is not None
    assert new_x != x  # a new inner supervisor spawned a new x
    assert await child(system, "a").ask("unaffected") == "a1"


async def test_a_failed_supervisor_escalates_to_a_plain_parent(system: ActorSystem) -> None:
    journal = Journal()

    class Owner(Actor[str]):
        async def on_start(self) -> None:
            await self.spawn(
                Supervisor([Child("x", member(journal, "x"))], max_restarts=0), name="sup"
            )

        async def handle(self, msg: str) -> None:
            pass

    owner = await system.spawn(Owner(), name="owner")
    x = system.lookup("owner/sup/x")
    assert x is not None
    x.tell("boom")
    terminated = await system.watch(owner)
    assert str(terminated.reason) == "x1 failed"


async def test_a_supervisor_with_restart_supervision_starts_its_children_again(
    system: ActorSystem,
) -> None:
    journal = Journal()
    specs = [Child("a", member(journal, "a"))]
    sup = await system.spawn(
        lambda: Supervisor(specs, max_restarts=0), name="sup", supervision=Supervision.restart()
    )
    journal.note("started")
    child(system, "a").tell("boom")
    await journal.until(lambda: "start a2" in journal.events)
    assert sup.is_alive
    assert journal.since("started") == ["stop a1", "start a2"]


async def test_shutdown_stops_the_children_before_their_supervisor() -> None:
    journal = Journal()
    async with ActorSystem() as system:
        await start(system, journal)
    assert journal.since("started") == ["stop c1", "stop b1", "stop a1"]
