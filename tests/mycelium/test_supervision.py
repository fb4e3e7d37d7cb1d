"""Supervision: stop, resume and restart after a handler failure; backoff and restart limits."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable

import pytest

from mycelium import (
    ActorStopped,
    ActorSystem,
    Backoff,
    MailboxFull,
    Supervision,
    Terminated,
)
from mycelium.actor import Actor
from mycelium.local_ref import LocalActorRef
from mycelium.supervision import RestartHistory


class Boom(Exception):
    pass


class Journal:
    """What every instance of a supervised actor did, in order, across restarts."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.instances = 0
        self.changed = asyncio.Event()

    def note(self, event: str) -> None:
        self.events.append(event)
        self.changed.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


class Worker(Actor[str]):
    """Raises on "boom..." messages; records everything else with its instance number."""

    def __init__(self, journal: Journal, *, failing_starts: int = 0) -> None:
        journal.instances += 1
        self.journal = journal
        self.number = journal.instances
        self.seen = 0
        self.failing_starts = failing_starts

    async def on_start(self) -> None:
        self.journal.note(f"start {self.number}")
        if self.number > 1 and self.number <= 1 + self.failing_starts:
            raise Boom(f"start {self.number} failed")

    async def handle(self, msg: str) -> str:
        if msg.startswith("boom"):
            raise Boom(msg)
        if msg.startswith("slow-boom"):
            await asyncio.sleep(0)
            raise Boom(msg)
        self.seen += 1
        self.journal.note(f"{self.number}:{msg}")
        return f"{self.number}:{msg}:{self.seen}"

    async def on_stop(self) -> None:
        self.journal.note(f"stop {self.number}")


def factory(journal: Journal, **kwargs: int) -> Callable[[], Worker]:
    return lambda: Worker(journal, **kwargs)


@pytest.fixture(autouse=True)
def _quiet_failures(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="mycelium")  # the failures here are on purpose


# ---------------------------------------------------------------------------- the policies


def test_the_policies_and_their_defaults() -> None:
    assert Supervision.stop().kind == "stop"
    assert Supervision.resume().kind == "resume"
    restart = Supervision.restart()
    assert (restart.kind, restart.max_restarts, restart.within, restart.backoff) == (
        "restart",
        3,
        5.0,
        None,
    )
    assert Supervision.restart(max_restarts=1, within=2.0) == Supervision.restart(
        max_restarts=1, within=2.0
    )
    backoff = Backoff()
    assert (backoff.min, backoff.max, backoff.jitter) == (0.1, 10.0, 0.2)
    assert repr(Supervision.resume()) == "Supervision.resume()"


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda: Supervision.restart(max_restarts=-1), ValueError, r"^max_restarts must be >= 0"),
        (lambda: Supervision.restart(within=0), ValueError, r"^within must be a finite number > 0"),
        (lambda: Supervision.restart(max_restarts=1.5), TypeError, r"^max_restarts must be an int"),  # type: ignore[arg-type]
        (lambda: Supervision.restart(backoff=1), TypeError, r"^backoff must be a Backoff or None"),  # type: ignore[arg-type]
        (lambda: Backoff(min=2, max=1), ValueError, r"^Backoff max must be >= min"),
        (lambda: Backoff(jitter=1.5), ValueError, r"^Backoff jitter must be between 0 and 1"),
        (lambda: Backoff(min=-1), ValueError, r"^Backoff min must be a finite number >= 0"),
    ],
)
def test_bad_policies_are_refused(
    make: Callable[[], object], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        make()


def test_backoff_doubles_from_min_up_to_max_within_the_jitter() -> None:
    backoff = Backoff(min=0.1, max=1.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    jittery = Backoff(min=0.1, max=1.0, jitter=0.2)
    assert jittery.delay(1, lambda low, high: low) == pytest.approx(0.08)
    assert jittery.delay(2, lambda low, high: high) == pytest.approx(0.24)
    assert Backoff(min=1, max=5).delay(10_000) <= 5 * 1.2


def test_backoff_streak_resets_after_a_quiet_period() -> None:
    backoff = Backoff(min=1.0, max=9.0, jitter=0.0)  # resets after (1 + 9) / 2 = 5 s
    history = RestartHistory(max_restarts=100, within=1.0, backoff=backoff)
    clock = 0.0
    delays: list[float | None] = []
    for gap in [0.0, 1.5, 2.5, 4.9, 5.0, 0.1]:
        clock += gap
        delays.append(history.failure(clock))
    assert delays == [1.0, 2.0, 4.0, 8.0, 1.0, 2.0]


def test_the_restart_limit_counts_failures_within_the_window() -> None:
    history = RestartHistory(max_restarts=3, within=5.0)
    assert [history.failure(t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    assert history.failure(4.0) is None  # a 4th failure within 5 s: one too many
    spaced = RestartHistory(max_restarts=3, within=5.0)
    assert [spaced.failure(t) for t in (0.0, 2.0, 4.0, 6.0, 8.0)] == [0.0] * 5
    assert RestartHistory(max_restarts=0, within=5.0).failure(0.0) is None


# ---------------------------------------------------------------------------- spawning


async def test_restart_needs_a_factory(system: ActorSystem) -> None:
    with pytest.raises(ValueError, match=r"^Supervision.restart needs a factory .* got a Worker"):
        await system.spawn(Worker(Journal()), supervision=Supervision.restart())
    assert len(system) == 0


async def test_a_class_and_a_callable_are_factories(system: ActorSystem) -> None:
    class Plain(Actor[int]):
        async def handle(self, msg: int) -> int:
            return msg + 1

    by_class = await system.spawn(Plain)
    assert await by_class.ask(1) == 2
    journal = Journal()
    by_callable = await system.spawn(factory(journal))
    assert await by_callable.ask("x") == "1:x:1"


async def test_spawn_refuses_what_is_not_a_supervision(system: ActorSystem) -> None:
    with pytest.raises(TypeError, match=r"^supervision must be a Supervision or None, got str$"):
        await system.spawn(factory(Journal()), supervision="restart")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- stop (default)


async def test_by_default_a_failure_stops_the_actor_and_dead_letters_the_message(
    system: ActorSystem,
) -> None:
    journal = Journal()
    ref = await system.spawn(factory(journal), name="w")
    ref.tell("boom now")
    ref.tell("after")
    terminated = await system.watch(ref)
    assert isinstance(terminated.reason, Boom)
    assert journal.events == ["start 1", "stop 1"]
    label = f"w#{int(ref.id)}"
    assert [(d.actor, d.message, d.reason) for d in system.dead_letters.recent] == [
        (label, "boom now", "handler raised Boom: boom now"),
        (label, "after", "actor crashed"),
    ]


# ---------------------------------------------------------------------------- resume


async def test_resume_keeps_the_instance_and_its_state(system: ActorSystem) -> None:
    journal = Journal()
    ref = await system.spawn(factory(journal), name="md", supervision=Supervision.resume())
    ref.tell("a")
    ref.tell("boom 1")
    ref.tell("b")
    with pytest.raises(Boom, match=r"^slow-boom 2$"):  # the asker gets the exception
        await ref.ask("slow-boom 2")
    assert await ref.ask("c") == "1:c:3"  # same instance, state kept: a third message seen
    assert journal.events == ["start 1", "1:a", "1:b", "1:c"]
    assert ref.is_alive
    label = f"md#{int(ref.id)}"
    assert [(d.actor, d.message, d.reason) for d in system.dead_letters.recent] == [
        (label, "boom 1", "handler raised Boom: boom 1"),
        (label, "slow-boom 2", "handler raised Boom: slow-boom 2"),
    ]
    mailbox = ref.mailbox
    assert mailbox is not None
    assert mailbox.handled == 3


class _TaskSpotter(Actor[str]):
    """Notes, per message, the current task (as a weak reference: a strong one would hold the
    standby, which retires it) and fails on "boom"."""

    def __init__(self) -> None:
        self.tasks: list[weakref.ref[asyncio.Task[object]]] = []
        self.done = asyncio.Event()

    async def handle(self, msg: str) -> None:
        if msg == "boom":
            raise Boom(msg)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.append(weakref.ref(task))
        if msg == "last":
            self.done.set()


async def test_after_a_resumed_failure_the_next_messages_share_one_standby_task(
    system: ActorSystem,
) -> None:
    # A failure retires the standby (its traceback may hold it) once; the messages after it
    # run on the fast path again: one new standby for all of them, not one per message.
    actor = _TaskSpotter()
    ref = await system.spawn(actor, supervision=Supervision.resume())
    for msg in ["boom", *(f"m{index}" for index in range(200)), "last"]:
        ref.tell(msg)
    await actor.done.wait()
    assert len(actor.tasks) == 201
    first = actor.tasks[0]
    assert all(task is first for task in actor.tasks)
    assert [letter.message for letter in system.dead_letters.recent] == ["boom"]


class _Logger(Actor[str]):
    """Appends ``name:msg`` to a shared list; fails on "boom"."""

    def __init__(self, name: str, seen: list[str]) -> None:
        self.name = name
        self.seen = seen

    async def handle(self, msg: str) -> None:
        if msg == "boom":
            raise Boom(msg)
        self.seen.append(f"{self.name}:{msg}")


async def test_an_actor_resumed_after_a_failure_keeps_its_place_in_the_turn(
    system: ActorSystem,
) -> None:
    # The resumed actor runs next, before the actors that were ready behind it (a failure used
    # to send it to the back, behind everyone's full runs: the hot path's p99 under --faults).
    seen: list[str] = []
    a = await system.spawn(_Logger("a", seen), supervision=Supervision.resume())
    b = await system.spawn(_Logger("b", seen))
    for msg in ["boom", "1", "2"]:
        a.tell(msg)
    b.tell("1")
    await b.ask("2")
    assert seen == ["a:1", "a:2", "b:1", "b:2"]


# ---------------------------------------------------------------------------- restart


async def test_restart_keeps_the_ref_the_name_and_every_queued_message_in_order(
    system: ActorSystem,
) -> None:
    journal = Journal()
    ref = await system.spawn(factory(journal), name="sig", supervision=Supervision.restart())
    for msg in ["a", "boom", "b", "c", "d"]:
        ref.tell(msg)
    await journal.until(lambda: "2:d" in journal.events)
    # The old instance's on_stop runs before the new one's on_start; nothing queued is lost.
    assert journal.events == ["start 1", "1:a", "stop 1", "start 2", "2:b", "2:c", "2:d"]
    assert system.lookup("sig") is ref
    assert ref.is_alive
    assert [letter.message for letter in system.dead_letters.recent] == ["boom"]
    assert system.dead_letters.recent[0].reason == "handler raised Boom: boom"
    assert await ref.ask("e") == "2:e:4"  # the new instance starts with fresh state


async def test_the_asker_of_the_failing_message_gets_the_exception_under_restart(
    system: ActorSystem,
) -> None:
    journal = Journal()
    ref = await system.spawn(factory(journal), supervision=Supervision.restart())
    with pytest.raises(Boom, match=r"^boom$"):
        await ref.ask("boom")
    with pytest.raises(Boom, match=r"^slow-boom$"):
        await ref.ask("slow-boom")
    assert await ref.ask("x") == "3:x:1"
    assert journal.events[-2:] == ["start 3", "3:x"]


async def test_more_failures_than_the_limit_stop_the_actor_for_good(
    system: ActorSystem,
) -> None:
    journal = Journal()
    ref = await system.spawn(
        factory(journal), name="flaky", supervision=Supervision.restart(max_restarts=2)
    )
    for i in range(3):
        ref.tell(f"boom {i}")
    ref.tell("never")
    terminated = await system.watch(ref)
    assert terminated.ref is ref
    assert isinstance(terminated.reason, Boom)
    assert str(terminated.reason) == "boom 2"  # the last exception
    assert journal.instances == 3  # two restarts, then no more
    assert journal.events == ["start 1", "stop 1", "start 2", "stop 2", "start 3", "stop 3"]
    assert system.lookup("flaky") is None
    assert [(d.message, d.reason) for d in system.dead_letters.recent] == [
        ("boom 0", "handler raised Boom: boom 0"),
        ("boom 1", "handler raised Boom: boom 1"),
        ("boom 2", "handler raised Boom: boom 2"),
        ("never", "actor crashed"),
    ]
    with pytest.raises(ActorStopped):
        ref.tell("late")


async def test_a_failing_on_start_during_a_restart_counts_toward_the_limit(
    system: ActorSystem,
) -> None:
    journal = Journal()
    ref = await system.spawn(
        factory(journal, failing_starts=1000), supervision=Supervision.restart(max_restarts=3)
    )
    ref.tell("boom")
    ref.tell("queued")
    terminated = await system.watch(ref)
    assert str(terminated.reason) == "start 4 failed"
    # One failure in a handler, then three failed on_starts: no busy loop, no on_stop for
    # instances that never started.
    assert journal.events == ["start 1", "stop 1", "start 2", "start 3", "start 4"]
    assert [d.message for d in system.dead_letters.recent] == ["boom", "queued"]


async def test_a_failure_while_draining_for_a_stop_is_not_restarted(system: ActorSystem) -> None:
    journal = Journal()
    ref = await system.spawn(factory(journal), supervision=Supervision.restart())
    ref.tell("a")
    ref.tell("boom")
    ref.tell("b")
    await system.stop(ref)  # stopping is final: the failure during the drain stops it
    assert journal.events == ["start 1", "1:a", "stop 1"]
    assert [d.message for d in system.dead_letters.recent] == ["boom", "b"]


# ---------------------------------------------------------------------------- backoff


async def test_backoff_restarts_after_a_delay(system: ActorSystem) -> None:
    journal = Journal()
    backoff = Backoff(min=0.001, max=0.004, jitter=0.0)
    ref = await system.spawn(
        factory(journal), supervision=Supervision.restart(max_restarts=10, backoff=backoff)
    )
    for i in range(4):
        ref.tell(f"boom {i}")
    ref.tell("x")
    await journal.until(lambda: "5:x" in journal.events)
    assert journal.instances == 5


async def test_during_a_backoff_the_mailbox_accepts_up_to_its_capacity(
    system: ActorSystem,
) -> None:
    journal = Journal()
    backoff = Backoff(min=30.0, max=60.0, jitter=0.0)  # far longer than the test
    ref = await system.spawn(
        factory(journal), capacity=3, supervision=Supervision.restart(backoff=backoff)
    )
    await ref.ask("warm")  # the mailbox exists
    ref.tell("boom")
    await journal.until(lambda: "stop 1" in journal.events)  # now waiting out the backoff
    for msg in ["a", "b", "c"]:
        ref.tell(msg)
    with pytest.raises(MailboxFull):
        ref.tell("d")
    assert ref.is_alive
    # A stop cuts the backoff short: no restart after a stop, what was queued is dead.
    await system.stop(ref)
    assert journal.instances == 1
    assert not ref.is_alive
    assert [d.message for d in system.dead_letters.recent] == ["boom", "a", "b", "c"]
    assert {d.reason for d in system.dead_letters.recent[1:]} == {
        "the actor was stopped while restarting"
    }
    terminated = await system.watch(ref)
    assert terminated == Terminated(ref, None)  # stopped by someone else: a graceful stop


async def test_shutdown_waits_for_a_restart_as_for_a_busy_actor_then_stops_it() -> None:
    journal = Journal()
    async with ActorSystem() as system:
        backoff = Backoff(min=30.0, max=60.0, jitter=0.0)
        ref = await system.spawn(factory(journal), supervision=Supervision.restart(backoff=backoff))
        ref.tell("boom")
        ref.tell("queued")
        await journal.until(lambda: "stop 1" in journal.events)
        # A restart in progress keeps the system from being quiet, like a busy handler: the
        # shutdown waits up to its timeout for it, then the stop cuts the backoff short.
        assert isinstance(ref, LocalActorRef)
        assert not ref.dispatcher.idle
        await system.shutdown(timeout=0.01)
    assert not ref.is_alive
    assert journal.instances == 1
    assert [d.message for d in system.dead_letters.recent] == ["boom", "queued"]


# ---------------------------------------------------------------------------- escalation


class Parent(Actor[str]):
    """Spawns one flaky child on start; records what it sees."""

    def __init__(self, journal: Journal, child_journal: Journal) -> None:
        journal.instances += 1
        self.journal = journal
        self.child_journal = child_journal
        self.number = journal.instances

    async def on_start(self) -> None:
        self.journal.note(f"parent start {self.number}")
        await self.spawn(
            factory(self.child_journal),
            name="child",
            supervision=Supervision.restart(max_restarts=1),
        )

    async def handle(self, msg: str) -> str:
        self.journal.note(f"parent {self.number}:{msg}")
        return msg

    async def on_stop(self) -> None:
        self.journal.note(f"parent stop {self.number}")


async def test_a_child_over_its_limit_makes_its_parent_fail(system: ActorSystem) -> None:
    journal, child_journal = Journal(), Journal()
    parent = await system.spawn(lambda: Parent(journal, child_journal), name="p")
    child = system.lookup("p/child")
    assert child is not None
    child.tell("boom 1")
    child.tell("boom 2")
    terminated = await system.watch(parent)  # the parent's supervision is stop: it stops
    assert str(terminated.reason) == "boom 2"
    assert (await system.watch(child)).reason is terminated.reason
    assert journal.events == ["parent start 1", "parent stop 1"]


async def test_an_escalated_failure_restarts_a_restartable_parent(system: ActorSystem) -> None:
    journal, child_journal = Journal(), Journal()
    parent = await system.spawn(
        lambda: Parent(journal, child_journal), name="p", supervision=Supervision.restart()
    )
    first_child = system.lookup("p/child")
    assert first_child is not None
    first_child.tell("boom 1")
    first_child.tell("boom 2")
    await journal.until(lambda: "parent start 2" in journal.events)
    assert parent.is_alive
    assert await parent.ask("hello") == "hello"
    assert journal.events == ["parent start 1", "parent stop 1", "parent start 2", "parent 2:hello"]
    second_child = system.lookup("p/child")
    assert second_child is not None
    assert second_child != first_child
    assert not first_child.is_alive


async def test_a_resumed_actor_keeps_draining_through_a_failure_during_its_stop(
    system: ActorSystem,
) -> None:
    journal = Journal()
    ref = await system.spawn(factory(journal), supervision=Supervision.resume())
    for msg in ["a", "boom", "b"]:
        ref.tell(msg)
    await system.stop(ref)  # graceful: what was queued is handled, the failure skipped
    assert journal.events == ["start 1", "1:a", "1:b", "stop 1"]
    assert [d.message for d in system.dead_letters.recent] == ["boom"]
    assert (await system.watch(ref)).reason is None
