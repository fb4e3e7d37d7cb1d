"""``system.py``: spawning, naming, stopping and shutting down actors."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, NamedTuple

import msgspec
import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import (
    Actor,
    ActorRef,
    ActorStopped,
    ActorSystem,
    DeadLetter,
    MailboxFull,
    NameTaken,
    SystemStopped,
)


class Echo(Actor[int]):
    def __init__(self, log: list[object] | None = None) -> None:
        self.log: list[object] = [] if log is None else log

    async def handle(self, msg: int) -> int:
        self.log.append(msg)
        return msg


class Named(Actor[int]):
    """Logs "stop <name>" when it stops; forwards each message to ``forward`` if set."""

    def __init__(self, name: str, log: list[str], forward: ActorRef[int] | None = None) -> None:
        self.name = name
        self.log = log
        self.forward = forward

    async def handle(self, msg: int) -> None:
        self.log.append(f"{self.name} {msg}")
        if self.forward is not None:
            self.forward.tell(msg)

    async def on_stop(self) -> None:
        self.log.append(f"stop {self.name}")


class Stuck(Actor[int]):
    """Message 0 awaits an event nobody sets; records how its handler and on_stop ended."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.never = asyncio.Event()
        self.log: list[object] = []

    async def handle(self, msg: int) -> int:
        if msg == 0:
            self.entered.set()
            try:
                await self.never.wait()
            except asyncio.CancelledError:
                self.log.append("cancelled")
                raise
        self.log.append(msg)
        return msg

    async def on_stop(self) -> None:
        self.log.append("stop")


class Boom(Exception):
    pass


# ------------------------------------------------------------------------------ spawning


@pytest.mark.parametrize("capacity", [0, -1])
async def test_spawn_rejects_a_capacity_below_one(system: ActorSystem, capacity: int) -> None:
    with pytest.raises(ValueError, match=rf"^capacity must be >= 1, got {capacity}$"):
        await system.spawn(Echo(), capacity=capacity)
    assert len(system) == 0


@pytest.mark.parametrize("capacity", ["3", 3.0, True, None])
async def test_spawn_rejects_a_capacity_that_is_not_an_int(
    system: ActorSystem, capacity: object
) -> None:
    with pytest.raises(TypeError, match=r"^capacity must be an int, got "):
        await system.spawn(Echo(), capacity=capacity)  # pyright: ignore[reportArgumentType]


async def test_spawn_rejects_an_empty_name(system: ActorSystem) -> None:
    with pytest.raises(ValueError, match=r"^name must be a non-empty string or None, got ''$"):
        await system.spawn(Echo(), name="")


async def test_spawn_rejects_what_is_not_an_actor(system: ActorSystem) -> None:
    expected = r"^spawn expects an Actor or a zero-argument callable returning one, got object$"
    with pytest.raises(TypeError, match=expected):
        await system.spawn(object())  # pyright: ignore[reportArgumentType]
    with pytest.raises(TypeError, match=r"^the factory \S*<lambda> returned int, not an Actor$"):
        await system.spawn(lambda: 5)  # pyright: ignore[reportArgumentType]
    assert len(system) == 0


class SyncHandle(Actor[int]):
    def handle(self, msg: int) -> int:  # pyright: ignore[reportIncompatibleMethodOverride]
        return msg


async def test_spawn_rejects_a_handle_that_is_not_async(system: ActorSystem) -> None:
    with pytest.raises(TypeError, match=r"^SyncHandle\.handle must be an `async def`$"):
        await system.spawn(SyncHandle())
    assert len(system) == 0


async def test_an_actor_object_is_spawned_once(system: ActorSystem) -> None:
    actor = Echo()
    await system.spawn(actor)
    with pytest.raises(ValueError, match=r"^Echo object is already spawned$"):
        await system.spawn(actor)


async def test_a_duplicate_name_raises_name_taken(system: ActorSystem) -> None:
    first = await system.spawn(Echo(), name="echo")
    with pytest.raises(NameTaken, match=r"^an actor named 'echo' is already running") as info:
        await system.spawn(Echo(), name="echo")
    assert info.value.name == "echo"
    assert system.lookup("echo") == first
    assert len(system) == 1


async def test_a_name_is_free_again_once_its_actor_stopped(system: ActorSystem) -> None:
    first = await system.spawn(Echo(), name="echo")
    await system.stop(first)
    second = await system.spawn(Echo(), name="echo")
    assert second != first
    assert system.lookup("echo") == second


async def test_spawn_after_shutdown_raises_system_stopped() -> None:
    system = ActorSystem("main")
    async with system:
        pass
    with pytest.raises(SystemStopped, match=r"^actor system 'main' is shut down; "):
        await system.spawn(Echo())


def test_throughput_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^throughput must be >= 1, got 0$"):
        ActorSystem(throughput=0)


class FailingStart(Actor[int]):
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.stops = 0
        self.handled: list[int] = []

    async def on_start(self) -> None:
        self.entered.set()
        await self.release.wait()
        raise Boom("cannot start")

    async def handle(self, msg: int) -> int:
        self.handled.append(msg)
        return msg

    async def on_stop(self) -> None:
        self.stops += 1


async def test_on_start_raising_makes_spawn_raise_and_frees_the_name(
    system: ActorSystem,
) -> None:
    actor = FailingStart()
    actor.release.set()
    with pytest.raises(Boom, match=r"^cannot start") as info:
        await system.spawn(actor, name="svc")
    assert any("on_start" in note and "svc#" in note for note in info.value.__notes__)
    assert system.lookup("svc") is None
    assert len(system) == 0
    assert actor.handled == []
    replacement = await system.spawn(Echo(), name="svc")
    assert system.lookup("svc") == replacement


async def test_what_was_sent_during_a_failed_on_start_is_not_lost(system: ActorSystem) -> None:
    actor = FailingStart()
    spawning = asyncio.ensure_future(system.spawn(actor, name="svc"))
    await actor.entered.wait()
    ref = system.lookup("svc")
    assert ref is not None
    ref.tell(1)
    asking = asyncio.ensure_future(ref.ask(2))
    stopping = asyncio.ensure_future(system.stop(ref))
    await asyncio.sleep(0)
    actor.release.set()
    with pytest.raises(Boom):
        await spawning
    async with asyncio.timeout(5):  # a guard against a hang, not a timing assertion
        with pytest.raises(ActorStopped):
            await asking
        await stopping
    assert actor.handled == []
    assert actor.stops == 0  # it never started
    assert [letter.message for letter in system.dead_letters.recent] == [1, 2]
    with pytest.raises(ActorStopped):
        ref.tell(3)


class SlowStart(Actor[int]):
    def __init__(self) -> None:
        self.log: list[object] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def on_start(self) -> None:
        self.entered.set()
        await self.release.wait()
        self.log.append("started")

    async def handle(self, msg: int) -> int:
        self.log.append(msg)
        return msg

    async def on_stop(self) -> None:
        self.log.append("stop")


@pytest.mark.parametrize("queued", [[], [1, 2]])
async def test_a_stop_during_on_start_waits_for_it_then_stops(
    system: ActorSystem, queued: list[int]
) -> None:
    actor = SlowStart()
    spawning = asyncio.ensure_future(system.spawn(actor, name="slow"))
    await actor.entered.wait()
    ref = system.lookup("slow")
    assert ref is not None
    for msg in queued:
        ref.tell(msg)
    stopping = asyncio.ensure_future(system.stop(ref))
    await asyncio.sleep(0)
    assert not stopping.done()
    actor.release.set()
    assert await spawning == ref
    async with asyncio.timeout(5):  # a guard against a hang, not a timing assertion
        await stopping
    assert actor.log == ["started", *queued, "stop"]


class Parent(Actor[str]):
    """Spawns a child per message (its on_start may suspend) and answers with its ref."""

    def __init__(self) -> None:
        # The runtime has a `children` too: a subclass may still use the name for its own.
        self.children: list[ActorRef[int]] = []  # pyright: ignore[reportIncompatibleVariableOverride]

    async def handle(self, msg: str) -> ActorRef[int]:
        child = SlowStart() if msg == "slow" else Echo()
        if isinstance(child, SlowStart):
            child.release.set()
        ref = await self.system.spawn(child, name=f"child-{len(self.children)}")
        self.children.append(ref)
        return ref


async def test_an_actor_can_spawn_from_inside_handle(system: ActorSystem) -> None:
    parent = Parent()
    ref = await system.spawn(parent)
    first = await ref.ask("fast")
    second = await ref.ask("slow")
    assert isinstance(first, ActorRef)
    assert isinstance(second, ActorRef)
    assert await first.ask(5) == 5  # pyright: ignore[reportUnknownMemberType]
    assert await second.ask(6) == 6  # pyright: ignore[reportUnknownMemberType]
    assert system.lookup("child-0") == first
    assert system.lookup("child-1") == second
    assert len(system) == 3


# ------------------------------------------------------------------------------ registry


async def test_lookup_finds_live_actors_by_name(system: ActorSystem) -> None:
    ref = await system.spawn(Echo(), name="echo")
    await system.spawn(Echo())
    assert system.lookup("echo") == ref
    assert system.lookup("nobody") is None


async def test_lookup_returns_none_once_the_actor_stopped(system: ActorSystem) -> None:
    ref = await system.spawn(Echo(), name="echo")
    await system.stop(ref)
    assert system.lookup("echo") is None


async def test_actors_lists_live_actors_in_spawn_order(system: ActorSystem) -> None:
    refs = [await system.spawn(Echo()) for _ in range(3)]
    assert system.actors == refs
    assert len(system) == 3
    await system.stop(refs[1])
    assert system.actors == [refs[0], refs[2]]
    assert len(system) == 2


async def test_repr_shows_state_and_live_actors() -> None:
    system = ActorSystem("main")
    async with system:
        await system.spawn(Echo())
        assert repr(system) == "<ActorSystem 'main' running actors=1>"
    assert repr(system) == "<ActorSystem 'main' shut down actors=0>"


# ------------------------------------------------------------------------------ stopping


async def test_stop_is_graceful_and_later_sends_raise(system: ActorSystem) -> None:
    actor = Echo()
    ref = await system.spawn(actor, name="echo")
    for i in range(10):
        ref.tell(i)
    await system.stop(ref)
    assert actor.log == list(range(10))
    with pytest.raises(ActorStopped, match=rf"^actor 'echo#{int(ref.id)}' has stopped"):
        ref.tell(10)
    assert system.dead_letters.count == 0


async def test_stopping_a_stopped_actor_is_a_no_op(system: ActorSystem) -> None:
    log: list[str] = []
    ref = await system.spawn(Named("a", log))
    await system.stop(ref)
    await system.stop(ref)
    assert log == ["stop a"]


async def test_stop_refuses_a_ref_of_another_system(system: ActorSystem) -> None:
    async with ActorSystem("other") as other:
        foreign = await other.spawn(Echo())
        with pytest.raises(TypeError, match=r"belongs to another actor system$"):
            await system.stop(foreign)
        assert foreign.is_alive


async def test_stop_with_a_timeout_cancels_a_stuck_actor(
    system: ActorSystem, caplog: pytest.LogCaptureFixture
) -> None:
    actor = Stuck()
    ref = await system.spawn(actor, name="stuck")
    for i in range(4):
        ref.tell(i)
    await actor.entered.wait()
    await system.stop(ref, timeout=0.01)
    assert actor.log == ["cancelled", "stop"]
    assert not ref.is_alive
    assert system.dead_letters.count == 4
    assert [(letter.message, letter.reason) for letter in system.dead_letters.recent] == [
        (0, "handler cancelled: the actor did not stop in time"),
        *((i, "the actor did not stop in time") for i in (1, 2, 3)),
    ]
    assert f"stuck#{int(ref.id)}" in caplog.text


class Quitter(Actor[int]):
    """Stops itself when told to, after logging the message."""

    def __init__(self) -> None:
        self.log: list[object] = []

    async def handle(self, msg: int) -> None:
        self.log.append(msg)
        await self.system.stop(self.ref)

    async def on_stop(self) -> None:
        self.log.append("stop")


async def test_an_actor_can_stop_itself_from_its_handler() -> None:
    system = ActorSystem()
    try:
        actor = Quitter()
        ref = await system.spawn(actor)
        ref.tell(1)
        ref.tell(2)
        waiting = asyncio.ensure_future(system.stop(ref))
        async with asyncio.timeout(0.5):  # a guard against the deadlock, not a timing check
            await waiting
        assert actor.log == [1, 2, "stop"]
    finally:
        await system.shutdown(timeout=0.01)


# ------------------------------------------------------------------------------ shutdown


async def test_leaving_the_context_stops_every_actor_newest_first() -> None:
    log: list[str] = []
    async with ActorSystem() as system:
        for name in "abc":
            await system.spawn(Named(name, log))
    assert log == ["stop c", "stop b", "stop a"]
    assert len(system) == 0


async def test_a_draining_actor_can_still_send_to_older_ones() -> None:
    log: list[str] = []
    async with ActorSystem() as system:
        older = await system.spawn(Named("older", log))
        newer = await system.spawn(Named("newer", log, forward=older))
        for i in range(3):
            newer.tell(i)
    assert sorted(log) == sorted(
        [
            *(f"{who} {i}" for who in ("newer", "older") for i in range(3)),
            "stop newer",
            "stop older",
        ]
    )
    assert log.index("stop newer") > log.index("newer 2")
    assert log[-1] == "stop older"
    assert system.dead_letters.count == 0


async def test_shutdown_is_idempotent(system: ActorSystem) -> None:
    log: list[str] = []
    await system.spawn(Named("a", log))
    await system.shutdown()
    await system.shutdown()
    assert log == ["stop a"]


async def test_shutdown_without_any_spawn() -> None:
    system = ActorSystem()
    await system.shutdown()
    with pytest.raises(SystemStopped):
        await system.spawn(Echo())


async def test_shutdown_returns_despite_a_stuck_actor(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    async with ActorSystem() as system:
        healthy = await system.spawn(Named("healthy", log))
        actor = Stuck()
        stuck = await system.spawn(actor, name="stuck")
        for i in range(4):
            stuck.tell(i)
        asking = asyncio.ensure_future(stuck.ask(5))
        await actor.entered.wait()
        await system.shutdown(timeout=0.01)
    assert actor.log == ["cancelled", "stop"]
    assert log == ["stop healthy"]
    assert not stuck.is_alive
    assert not healthy.is_alive
    assert system.dead_letters.count == 5  # the message in progress, and all that was queued
    assert [letter.message for letter in system.dead_letters.recent] == [0, 1, 2, 3, 5]
    with pytest.raises(ActorStopped):
        await asking
    [warning] = [r for r in caplog.records if r.name == "mycelium"]
    assert warning.levelno == logging.WARNING
    assert f"stuck#{int(stuck.id)}" in warning.getMessage()
    assert len(system) == 0


class CrashesOn(Actor[int]):
    def __init__(self, bad: int) -> None:
        self.bad = bad
        self.log: list[object] = []

    async def handle(self, msg: int) -> int:
        if msg == self.bad:
            raise Boom(f"bad message {msg}")
        self.log.append(msg)
        return msg

    async def on_stop(self) -> None:
        self.log.append("stop")


async def test_shutdown_with_an_actor_that_crashes_while_draining(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    async with ActorSystem() as system:
        await system.spawn(Named("older", log))
        actor = CrashesOn(2)
        ref = await system.spawn(actor, name="crashy")
        for i in range(5):
            ref.tell(i)
    assert actor.log == [0, 1, "stop"]
    assert log == ["stop older"]
    label = f"crashy#{int(ref.id)}"
    failed, *rest = system.dead_letters.recent
    assert (failed.actor, failed.message, failed.reason) == (
        label,
        2,
        "handler raised Boom: bad message 2",
    )
    assert rest == [DeadLetter(label, 3, "actor crashed"), DeadLetter(label, 4, "actor crashed")]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert label in record.getMessage()
    assert record.exc_info is not None


async def test_dead_letter_history_is_bounded_by_the_system_setting() -> None:
    async with ActorSystem(dead_letter_history=2) as system:
        ref = await system.spawn(CrashesOn(0))
        for i in range(5):
            ref.tell(i)
    assert system.dead_letters.count == 5
    assert [letter.message for letter in system.dead_letters.recent] == [3, 4]


def test_a_system_stays_on_the_loop_it_started_on() -> None:
    system = ActorSystem("bound")

    async def spawn() -> ActorRef[Any]:
        return await system.spawn(Echo())

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(spawn())
        with (
            asyncio.Runner(loop_factory=uvloop.new_event_loop) as other,
            pytest.raises(RuntimeError, match=r"^actor system 'bound' is bound to another"),
        ):
            other.run(spawn())
        runner.run(system.shutdown())


# ------------------------------------------------------------- delivery, under Hypothesis


class Note(msgspec.Struct, frozen=True):
    sender: int
    seq: int
    suspend: bool
    boom: bool


class Sink(Actor[Note]):
    """Records every message its handler starts on; may suspend, may raise."""

    def __init__(self) -> None:
        self.handled: list[Note] = []

    async def handle(self, msg: Note) -> Note:
        self.handled.append(msg)
        if msg.suspend:
            await asyncio.sleep(0)
        if msg.boom:
            raise Boom(f"{msg.sender}/{msg.seq}")
        return msg


class Op(NamedTuple):
    kind: Literal["try", "send", "ask"]
    suspend: bool
    pause: bool


OPS = st.builds(Op, st.sampled_from(["try", "send", "ask"]), st.booleans(), st.booleans())


class Outcome(NamedTuple):
    accepted: set[Note]
    refused: set[Note]
    ask_stopped: set[Note]
    ask_failed: set[Note]
    full: int
    handled: list[Note]
    dead: list[Note]
    dead_count: int
    dropped: int
    mailbox_handled: int


async def _run_senders(
    capacity: int, plans: list[list[Op]], boom: tuple[int, int] | None, stop_after: int | None
) -> Outcome:
    accepted: set[Note] = set()
    refused: set[Note] = set()
    ask_stopped: set[Note] = set()
    ask_failed: set[Note] = set()
    full = 0
    async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
        async with ActorSystem(dead_letter_history=10_000) as system:
            sink = Sink()
            ref = await system.spawn(sink, capacity=capacity)

            async def sender(who: int, plan: list[Op]) -> None:
                nonlocal full
                for seq, op in enumerate(plan):
                    note = Note(who, seq, op.suspend, boom == (who, seq))
                    try:
                        if op.kind == "try":
                            ref.try_send(note)
                        elif op.kind == "send":
                            await ref.send(note)
                        else:
                            assert await ref.ask(note, timeout=None) == note
                    except MailboxFull:
                        full += 1
                        refused.add(note)
                    except ActorStopped:
                        (ask_stopped if op.kind == "ask" else refused).add(note)
                    except Boom:
                        ask_failed.add(note)
                    else:
                        accepted.add(note)
                    if op.pause:
                        await asyncio.sleep(0)

            async def stopper() -> None:
                if stop_after is None:
                    return
                for _ in range(stop_after):
                    await asyncio.sleep(0)
                await system.stop(ref)

            await asyncio.gather(stopper(), *(sender(i, plan) for i, plan in enumerate(plans)))
        mailbox = ref.mailbox
        dead: list[Note] = []
        for letter in system.dead_letters.recent:
            assert isinstance(letter.message, Note)
            dead.append(letter.message)
        return Outcome(
            accepted,
            refused,
            ask_stopped,
            ask_failed,
            full,
            sink.handled,
            dead,
            system.dead_letters.count,
            mailbox.dropped,
            mailbox.handled,
        )


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[int, list[list[Op]], tuple[int, int] | None, int | None]:
    capacity = draw(st.integers(min_value=1, max_value=4))
    plans = draw(st.lists(st.lists(OPS, max_size=12), min_size=1, max_size=4))
    sized = [(who, len(plan)) for who, plan in enumerate(plans) if plan]
    boom: tuple[int, int] | None = None
    if sized and draw(st.booleans()):
        who, size = draw(st.sampled_from(sized))
        boom = (who, draw(st.integers(min_value=0, max_value=size - 1)))
    stop_after = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=20)))
    return capacity, plans, boom, stop_after


@given(scenarios())
@settings(max_examples=150, deadline=None)
def test_every_accepted_message_is_handled_once_or_dead_lettered_in_sender_order(
    scenario: tuple[int, list[list[Op]], tuple[int, int] | None, int | None],
) -> None:
    capacity, plans, boom, stop_after = scenario
    logging.getLogger("mycelium").disabled = True  # the crash of a scenario is expected
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            out = runner.run(_run_senders(capacity, plans, boom, stop_after))
    finally:
        logging.getLogger("mycelium").disabled = False

    handled, dead = out.handled, out.dead
    assert len(set(handled)) == len(handled), "a message was handled twice"
    assert len(set(dead)) == len(dead), "a message was dead-lettered twice"
    # Only the message whose handler raised was both begun and dead-lettered.
    assert set(handled) & set(dead) == {note for note in handled if note.boom}
    assert out.dead_count == len(dead)
    # Everything a send accepted is handled or counted; nothing refused shows up anywhere.
    assert out.accepted <= set(handled) | set(dead)
    assert not out.refused & (set(handled) | set(dead))
    assert not out.ask_stopped & set(handled)
    assert out.ask_failed <= set(handled)
    assert set(handled) | set(dead) <= out.accepted | out.ask_stopped | out.ask_failed
    assert out.dropped == out.full
    # Per sender, the mailbox order (handled, then what a crash left) is the send order.
    for who in range(len(plans)):
        seqs = [note.seq for note in handled + dead if note.sender == who and not note.boom]
        assert seqs == sorted(seqs)
    crashed = any(note.boom for note in handled)
    if crashed:
        assert handled[-1].boom, "nothing is handled after the crash"
        assert out.mailbox_handled == len(handled) - 1
        assert dead[0].boom, "the failed message is the first dead letter"
    else:
        assert dead == [], "a graceful stop or shutdown loses nothing"
        assert out.mailbox_handled == len(handled)
        assert set(handled) == out.accepted


async def test_a_ref_kept_after_the_stop_does_not_keep_the_actor_alive() -> None:
    import gc
    import weakref

    async with ActorSystem() as system:
        actor = Named("gone", [])
        ref = await system.spawn(actor)
        alive = weakref.ref(actor)
        await system.stop(ref)
        del actor
        gc.collect()
        assert alive() is None  # the ref we still hold let go of the actor and its state
        assert ref.name is None
        assert str(ref.id) in repr(ref)
        with pytest.raises(ActorStopped, match=r"^actor 'Named#\d+' has stopped"):
            ref.try_send(1)


class Counting(Actor[int]):
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, msg: int) -> None:
        self.seen.append(msg)


async def test_leaving_the_context_finishes_work_passed_to_a_newer_actor() -> None:
    """An older actor forwarding its backlog to one spawned after it: shutdown lets the system
    go quiet before stopping anyone (newest first), so the backlog is handled, not lost."""
    sink = Counting()
    async with ActorSystem() as system:
        relay = await system.spawn(_Relay(), capacity=1000)  # the older actor
        sink_ref = await system.spawn(sink, capacity=10)  # newer, small: the relay must wait
        for i in range(500):
            relay.try_send((i, sink_ref))
    assert sink.seen == list(range(500))
    assert system.dead_letters.count == 0


class _Relay(Actor[tuple[int, ActorRef[int]]]):
    """Forwards each number to the ref that comes with it (an actor older than its target)."""

    async def handle(self, msg: tuple[int, ActorRef[int]]) -> None:
        number, target = msg
        await target.send(number)


class GatedStart(Actor[int]):
    """on_start waits for a gate; records the lifecycle."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.events: list[str] = []

    async def on_start(self) -> None:
        self.events.append("start-begin")
        self.started.set()
        await self.gate.wait()
        self.events.append("start-end")

    async def handle(self, msg: int) -> None:
        self.events.append(f"msg {msg}")

    async def on_stop(self) -> None:
        self.events.append("on_stop")


async def test_a_shutdown_during_on_start_never_runs_on_stop_first() -> None:
    system = ActorSystem()
    await system.__aenter__()
    actor = GatedStart()
    spawning = asyncio.ensure_future(system.spawn(actor, name="slow"))
    await actor.started.wait()
    await system.shutdown(timeout=0.01)  # returns: the starting actor is not abandoned
    assert actor.events == ["start-begin"]
    actor.gate.set()
    with pytest.raises(SystemStopped, match="is shut down"):
        await spawning
    stopped = system.lookup("slow")
    if stopped is not None:  # its stop finishes right after on_start
        await system.stop(stopped)
    assert actor.events == ["start-begin", "start-end", "on_stop"]


class Admin(Actor[int]):
    """Shuts the whole system down from its handler, through wait_for (its own task)."""

    async def handle(self, msg: int) -> None:
        await asyncio.wait_for(self.system.shutdown(timeout=0.05), timeout=30)


class Old(Actor[int]):
    def __init__(self) -> None:
        self.stopped = asyncio.Event()

    async def handle(self, msg: int) -> None:
        pass

    async def on_stop(self) -> None:
        self.stopped.set()


async def test_a_shutdown_whose_caller_is_cancelled_still_stops_every_actor() -> None:
    system = ActorSystem()
    old = Old()
    await system.spawn(old)
    admin = await system.spawn(Admin())
    admin.tell(1)
    # The admin's handler is cancelled when its own actor is force-stopped, which cancels
    # its wait_for; the shutdown goes on in its own task and stops the older actor too.
    async with asyncio.timeout(20):  # a guard against a hang, not a timing check
        await old.stopped.wait()
        await system.shutdown()
    assert len(system) == 0
