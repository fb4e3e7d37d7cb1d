"""The lifecycle under abuse: accounting of failed messages, forced stops, shutdown's one deadline,
self-deadlocks outside a handler's own task, bad timeouts, a forgotten shutdown.

(``system.py``, the stopping part of ``local_ref.py``, the failure paths of ``dispatcher.py``,
``dead_letters.py``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sys
from collections import Counter
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
    SystemStopped,
    WouldDeadlock,
)


class Boom(Exception):
    pass


class LoopTicks:
    """Counts event-loop iterations: a callback that schedules itself again each iteration."""

    def __init__(self) -> None:
        self.count = 0
        self._loop = asyncio.get_running_loop()
        self._handle = self._loop.call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        self._handle = self._loop.call_soon(self._tick)

    def stop(self) -> None:
        self._handle.cancel()


class Idle(Actor[int]):
    async def handle(self, msg: int) -> None:
        pass


class Stuck(Actor[int]):
    """Message 0 waits for an event nobody sets; records the loop tick its cancellation came at."""

    def __init__(self, ticks: LoopTicks | None = None) -> None:
        self.entered = asyncio.Event()
        self.ticks = ticks
        self.cancelled_at: int | None = None
        self.log: list[object] = []

    async def handle(self, msg: int) -> int:
        if msg == 0:
            self.entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled_at = None if self.ticks is None else self.ticks.count
                self.log.append("cancelled")
                raise
        self.log.append(msg)
        return msg

    async def on_stop(self) -> None:
        self.log.append("stop")


class Stubborn(Actor[int]):
    """Message 0 catches its cancellation and keeps cleaning up until ``release`` is set."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.stopped = asyncio.Event()
        self.log: list[object] = []

    async def handle(self, msg: int) -> int:
        if msg == 0:
            self.entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.log.append("cancelled")
                await self.release.wait()  # cleanup that outlives the stop
                self.log.append("cleaned up")
        else:
            self.log.append(msg)
        return msg

    async def on_stop(self) -> None:
        self.log.append("stop")
        self.stopped.set()


def _letters_of(system: ActorSystem, ref: ActorRef[Any]) -> list[DeadLetter]:
    number = str(int(ref.id))
    return [
        letter for letter in system.dead_letters.recent if letter.actor.rpartition("#")[2] == number
    ]


def _handled(ref: ActorRef[Any]) -> int:
    mailbox = ref.mailbox
    assert mailbox is not None
    return mailbox.handled


# --------------------------------------------------- 5. what an abandoned actor held


@pytest.mark.parametrize("how", ["shutdown", "stop"])
async def test_an_actor_that_ignores_its_cancellation_is_dead_lettered_at_once(
    how: str, caplog: pytest.LogCaptureFixture
) -> None:
    system = ActorSystem(dead_letter_history=100)
    actor = Stubborn()
    ref = await system.spawn(actor, name="stubborn")
    for i in range(7):
        ref.tell(i)
    await actor.entered.wait()
    if how == "shutdown":
        await system.shutdown(timeout=0.01)
    else:
        await system.stop(ref, timeout=0.01)

    # Everything it held is counted the moment the stop gave up on it...
    assert [letter.message for letter in _letters_of(system, ref)] == list(range(7))
    assert system.dead_letters.count == 7
    assert _handled(ref) == 0
    assert not ref.is_alive
    assert "stop" not in actor.log  # its handler has not ended: on_stop waits for it
    assert f"stubborn#{int(ref.id)}" in caplog.text
    # ... and once its cleanup ends it handles nothing more: on_stop runs, after the handler.
    actor.release.set()
    async with asyncio.timeout(10):  # a guard against a hang, not a timing check
        await actor.stopped.wait()
    assert actor.log == ["cancelled", "cleaned up", "stop"]
    assert _handled(ref) == 0
    assert system.dead_letters.count == 7
    await system.shutdown()
    assert len(system) == 0


# --------------------------------------------------------- 6. the failed message itself


class Fails(Actor[int]):
    """Raises on ``bad`` (after suspending if ``suspend``); logs what it handled."""

    def __init__(self, bad: int, *, suspend: bool = False) -> None:
        self.bad = bad
        self.suspend = suspend
        self.log: list[object] = []

    async def handle(self, msg: int) -> int:
        if self.suspend:
            await asyncio.sleep(0)
        if msg == self.bad:
            raise Boom(f"bad message {msg}")
        self.log.append(msg)
        return msg


@pytest.mark.parametrize("suspend", [False, True], ids=["sync", "suspended"])
async def test_the_message_whose_handler_raised_is_a_dead_letter_naming_the_error(
    suspend: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async with ActorSystem() as system:
        actor = Fails(2, suspend=suspend)
        ref = await system.spawn(actor, name="fails")
        for i in range(5):
            ref.tell(i)
        await system.stop(ref)
    label = f"fails#{int(ref.id)}"
    [failed, *rest] = system.dead_letters.recent
    assert (failed.actor, failed.message, failed.reason) == (
        label,
        2,
        "handler raised Boom: bad message 2",
    )
    assert isinstance(failed.error, Boom)
    assert rest == [DeadLetter(label, 3, "actor crashed"), DeadLetter(label, 4, "actor crashed")]
    assert _handled(ref) == 2
    assert _handled(ref) + system.dead_letters.count == 5  # every accepted message, once


async def test_a_failed_question_is_answered_with_the_error_and_dead_lettered() -> None:
    async with ActorSystem() as system:
        ref = await system.spawn(Fails(1), name="fails")
        assert await ref.ask(0) == 0
        with pytest.raises(Boom, match=r"^bad message 1$"):
            await ref.ask(1)
    [letter] = system.dead_letters.recent
    assert (letter.message, letter.reason) == (1, "handler raised Boom: bad message 1")
    assert _handled(ref) + system.dead_letters.count == 2


async def test_the_reason_of_an_error_without_a_message_names_its_type() -> None:
    class Bare(Actor[int]):
        async def handle(self, msg: int) -> None:
            raise KeyError

    async with ActorSystem() as system:
        ref = await system.spawn(Bare())
        ref.tell(1)
        await system.stop(ref)
    [letter] = system.dead_letters.recent
    assert letter.reason == "handler raised KeyError"


async def test_the_message_cancelled_at_the_deadline_is_a_dead_letter() -> None:
    async with ActorSystem() as system:
        actor = Stuck()
        ref = await system.spawn(actor)
        ref.tell(0)
        ref.tell(1)
        await actor.entered.wait()
        await system.stop(ref, timeout=0)
    assert [(letter.message, letter.reason) for letter in system.dead_letters.recent] == [
        (0, "handler cancelled: the actor did not stop in time"),
        (1, "the actor did not stop in time"),
    ]
    assert actor.log == ["cancelled", "stop"]


# ------------------------------------------- 6. accounting under Hypothesis, per actor


class Note(msgspec.Struct, frozen=True):
    sender: int
    seq: int
    suspend: bool
    boom: bool


class Sink(Actor[Note]):
    """May suspend, may raise; records what it finished handling."""

    def __init__(self) -> None:
        self.done: list[Note] = []

    async def handle(self, msg: Note) -> Note:
        if msg.suspend:
            await asyncio.sleep(0)
        if msg.boom:
            raise Boom(f"{msg.sender}/{msg.seq}")
        self.done.append(msg)
        return msg


class Op(NamedTuple):
    kind: Literal["tell", "send", "ask"]
    target: int
    suspend: bool
    boom: bool
    pause: bool


class Stop(NamedTuple):
    after: int  # loop turns
    target: int | None  # None: shut the system down
    timeout: float | None


@st.composite
def accounting_scenarios(draw: st.DrawFn) -> tuple[int, int, list[list[Op]], list[Stop]]:
    actors = draw(st.integers(min_value=1, max_value=3))
    capacity = draw(st.integers(min_value=1, max_value=4))
    ops = st.builds(
        Op,
        st.sampled_from(["tell", "send", "ask"]),
        st.integers(min_value=0, max_value=actors - 1),
        st.booleans(),
        st.integers(min_value=0, max_value=9).map(lambda n: n == 0),  # a few raise
        st.booleans(),
    )
    plans = draw(st.lists(st.lists(ops, max_size=10), min_size=1, max_size=3))
    stops = draw(
        st.lists(
            st.builds(
                Stop,
                st.integers(min_value=0, max_value=15),
                st.one_of(st.none(), st.integers(min_value=0, max_value=actors - 1)),
                st.sampled_from([None, 0.0, 5.0]),
            ),
            max_size=2,
        )
    )
    return actors, capacity, plans, stops


async def _account(
    actors: int, capacity: int, plans: list[list[Op]], stops: list[Stop]
) -> tuple[list[Counter[str]], list[int], list[int], list[list[Note]]]:
    accepted: list[Counter[str]] = [Counter() for _ in range(actors)]
    async with asyncio.timeout(20):  # a guard against a hang, not a timing assertion
        system = ActorSystem(dead_letter_history=100_000)
        sinks = [Sink() for _ in range(actors)]
        refs = [await system.spawn(sink, capacity=capacity) for sink in sinks]

        async def sender(who: int, plan: list[Op]) -> None:
            for seq, op in enumerate(plan):
                ref = refs[op.target]
                note = Note(who, seq, op.suspend, op.boom)
                mailbox = ref.mailbox
                capacity = mailbox.capacity
                assert capacity is not None  # a local ref's view knows its capacity
                kind = op.kind
                if kind == "ask" and not (
                    ref.is_alive and len(mailbox) < capacity and not mailbox.waiting
                ):
                    # An ask that enters at once has a known fate; one that would wait for room
                    # could be refused while waiting (ActorStopped), like a send.
                    kind = "send"
                try:
                    if kind == "tell":
                        ref.tell(note)
                    elif kind == "send":
                        await ref.send(note)
                    else:
                        # It entered the mailbox: answered, or failed, it is accounted for.
                        with contextlib.suppress(Boom, ActorStopped):
                            assert await ref.ask(note, timeout=None) == note
                except (MailboxFull, ActorStopped):
                    pass  # refused at the call: not accepted
                else:
                    accepted[op.target][kind] += 1
                if op.pause:
                    await asyncio.sleep(0)

        async def stopper(stop: Stop) -> None:
            for _ in range(stop.after):
                await asyncio.sleep(0)
            if stop.target is None:
                await system.shutdown(timeout=5.0 if stop.timeout is None else stop.timeout)
            else:
                await system.stop(refs[stop.target], timeout=stop.timeout)

        await asyncio.gather(
            *(stopper(stop) for stop in stops),
            *(sender(who, plan) for who, plan in enumerate(plans)),
        )
        await system.shutdown()
    labels = [f"Sink#{int(ref.id)}" for ref in refs]
    dead = [0] * actors
    for letter in system.dead_letters.recent:
        dead[labels.index(letter.actor)] += 1
    assert sum(dead) == system.dead_letters.count
    return accepted, [_handled(ref) for ref in refs], dead, [sink.done for sink in sinks]


@given(accounting_scenarios())
@settings(max_examples=120, deadline=None)
def test_handled_plus_dead_letters_is_exactly_what_was_accepted_per_actor(
    scenario: tuple[int, int, list[list[Op]], list[Stop]],
) -> None:
    logging.getLogger("mycelium").disabled = True  # the crashes of a scenario are expected
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            accepted, handled, dead, done = runner.run(_account(*scenario))
    finally:
        logging.getLogger("mycelium").disabled = False
    for target in range(len(accepted)):
        assert handled[target] == len(done[target])
        assert handled[target] + dead[target] == accepted[target].total(), target


# ------------------------------------------------------- 8. one deadline for shutdown


async def test_shutdown_stops_idle_actors_without_a_loop_turn_each() -> None:
    system = ActorSystem()
    for _ in range(500):
        await system.spawn(Idle())
    busy = Stuck()
    ref = await system.spawn(busy)
    ref.tell(1)  # mail to drain: it stops after a run of the dispatcher, not at once
    ticks = LoopTicks()
    await system.shutdown(timeout=5)
    ticks.stop()
    assert len(system) == 0
    assert busy.log == [1, "stop"]
    assert ticks.count < 50  # not one (or more) per actor


async def test_stuck_actors_are_all_forced_at_one_deadline() -> None:
    system = ActorSystem()
    ticks = LoopTicks()
    try:
        actors = [Stuck(ticks) for _ in range(4)]
        for actor in actors:
            ref = await system.spawn(actor)
            ref.tell(0)
            ref.tell(1)
        for actor in actors:
            await actor.entered.wait()
        async with asyncio.timeout(10):  # a guard against a hang, not a timing check
            await system.shutdown(timeout=0.02)
    finally:
        ticks.stop()
    assert [actor.log for actor in actors] == [["cancelled", "stop"]] * 4
    moments = [actor.cancelled_at for actor in actors]
    assert len(set(moments)) == 1, f"cancelled one after another, at loop ticks {moments}"
    assert system.dead_letters.count == 8  # each one's message in progress and the one queued


class Spawner(Actor[int]):
    """On message 1, waits for ``go`` and then tries to spawn a child."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.go = asyncio.Event()
        self.outcome: BaseException | None = None

    async def handle(self, msg: int) -> None:
        self.entered.set()
        await self.go.wait()
        try:
            await self.system.spawn(Idle())
        except SystemStopped as exc:
            self.outcome = exc


async def test_spawning_during_shutdown_is_refused() -> None:
    system = ActorSystem()
    spawner = Spawner()
    ref = await system.spawn(spawner)
    ref.tell(1)
    await spawner.entered.wait()
    shutting = asyncio.ensure_future(system.shutdown(timeout=10))
    await asyncio.sleep(0)  # shutdown has begun: it waits for the spawner to go quiet
    with pytest.raises(SystemStopped, match="is shut down"):
        await system.spawn(Idle())
    spawner.go.set()
    async with asyncio.timeout(10):  # a guard against a hang, not a timing check
        await shutting
    assert isinstance(spawner.outcome, SystemStopped)
    assert len(system) == 0


# -------------------------------------------------------------- 9. self-deadlocks


class StopsItselfOnStart(Actor[int]):
    def __init__(self) -> None:
        self.log: list[str] = []

    async def on_start(self) -> None:
        await self.system.stop(self.ref)  # returns at once: the stop completes after on_start
        self.log.append("start")

    async def handle(self, msg: int) -> None:
        self.log.append(f"msg {msg}")

    async def on_stop(self) -> None:
        self.log.append("stop")


async def test_an_actor_stopping_itself_in_on_start_does_not_hang_spawn(
    system: ActorSystem,
) -> None:
    actor = StopsItselfOnStart()
    async with asyncio.timeout(10):  # a guard against the deadlock, not a timing check
        ref = await system.spawn(actor)
    assert not ref.is_alive
    assert actor.log == ["start", "stop"]


class FillsItselfOnStart(Actor[int]):
    def __init__(self) -> None:
        self.outcome: BaseException | None = None
        self.log: list[int] = []

    async def on_start(self) -> None:
        self.ref.tell(1)  # capacity 1: now full
        try:
            await self.ref.send(2)
        except WouldDeadlock as exc:
            self.outcome = exc

    async def handle(self, msg: int) -> None:
        self.log.append(msg)


async def test_waiting_for_room_in_its_own_mailbox_from_on_start_raises_would_deadlock(
    system: ActorSystem,
) -> None:
    actor = FillsItselfOnStart()
    async with asyncio.timeout(10):  # a guard against the deadlock, not a timing check
        ref = await system.spawn(actor, capacity=1)
    assert isinstance(actor.outcome, WouldDeadlock)
    assert "waited for room in its own full mailbox" in str(actor.outcome)
    await system.stop(ref)
    assert actor.log == [1]


class AsksItselfOnStart(Actor[int]):
    def __init__(self) -> None:
        self.outcome: BaseException | None = None

    async def on_start(self) -> None:
        try:
            await self.ref.ask(1, timeout=30)
        except WouldDeadlock as exc:
            self.outcome = exc

    async def handle(self, msg: int) -> int:
        return msg


async def test_asking_itself_from_on_start_raises_would_deadlock(system: ActorSystem) -> None:
    actor = AsksItselfOnStart()
    async with asyncio.timeout(10):  # a guard against the deadlock, not a timing check
        ref = await system.spawn(actor)
    assert isinstance(actor.outcome, WouldDeadlock)
    assert await ref.ask(2) == 2


class AsksItselfThroughWaitFor(Actor[int]):
    """Asks itself inside ``asyncio.wait_for``, which runs the ask in a task of its own."""

    def __init__(self) -> None:
        self.outcome: BaseException | None = None

    async def handle(self, msg: int) -> int:
        if msg == 0:
            try:
                await asyncio.wait_for(self.ref.ask(1, timeout=None), timeout=30)
            except WouldDeadlock as exc:
                self.outcome = exc
        return msg


async def test_a_self_ask_under_wait_for_raises_would_deadlock(system: ActorSystem) -> None:
    actor = AsksItselfThroughWaitFor()
    ref = await system.spawn(actor, name="narcissus")
    async with asyncio.timeout(10):  # a guard against the deadlock, not a timing check
        assert await ref.ask(0) == 0
    assert isinstance(actor.outcome, WouldDeadlock)
    assert str(actor.outcome).startswith(f"actor 'narcissus#{int(ref.id)}' asked itself")
    assert ref.is_alive


class WaitsForItselfInTasks(Actor[int]):
    """Waits for itself through a task of its own: a helper after suspending (0), its own stop
    at the top of the handler (1)."""

    def __init__(self) -> None:
        self.outcome: BaseException | None = None
        self.log: list[str] = []

    async def handle(self, msg: int) -> int:
        if msg == 0:
            await asyncio.sleep(0)  # suspended: the handler runs in a task of its own now
            try:
                await asyncio.wait_for(self._ask_myself(), timeout=30)
            except WouldDeadlock as exc:
                self.outcome = exc
        elif msg == 1:
            await asyncio.wait_for(self.system.stop(self.ref), timeout=30)
            self.log.append("stop returned")
        return msg

    async def _ask_myself(self) -> int:
        answer: int = await self.ref.ask(5, timeout=None)
        return answer

    async def on_stop(self) -> None:
        self.log.append("stop")


async def test_a_helper_task_of_a_suspended_handler_asking_its_actor_raises_would_deadlock(
    system: ActorSystem,
) -> None:
    actor = WaitsForItselfInTasks()
    ref = await system.spawn(actor)
    async with asyncio.timeout(10):  # a guard against the deadlock, not a timing check
        assert await ref.ask(0) == 0
    assert isinstance(actor.outcome, WouldDeadlock)


async def test_a_stop_of_itself_under_wait_for_returns_at_once(system: ActorSystem) -> None:
    actor = WaitsForItselfInTasks()
    ref = await system.spawn(actor)
    async with asyncio.timeout(10):  # a guard against the deadlock, not a timing check
        assert await ref.ask(1) == 1
        await system.stop(ref)
    assert actor.log == ["stop returned", "stop"]


async def test_a_self_ask_is_refused_at_the_call(system: ActorSystem) -> None:
    class Calls(Actor[int]):
        def __init__(self) -> None:
            self.outcome: BaseException | None = None

        async def handle(self, msg: int) -> None:
            try:
                asking = self.ref.ask(1)  # not awaited: the call itself is refused
            except WouldDeadlock as exc:
                self.outcome = exc
            else:
                asking.close()

    actor = Calls()
    ref = await system.spawn(actor)
    await ref.ask(0)
    assert isinstance(actor.outcome, WouldDeadlock)


class StartsAWorker(Actor[int]):
    """Its handler of 0 starts a task that, later, asks the actor and fills its mailbox."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.busy = asyncio.Event()
        self.release = asyncio.Event()
        self.worker: asyncio.Task[object] | None = None
        self.log: list[int] = []

    async def handle(self, msg: int) -> int:
        if msg == 0:
            self.worker = asyncio.ensure_future(self._work())
        elif msg == 1:
            self.busy.set()
            await self.release.wait()  # in a handler, suspended: the worker must wait for it
        self.log.append(msg)
        return msg

    async def _work(self) -> object:
        await self.go.wait()
        answer = await self.ref.ask(2)  # the handler that started this task has returned
        self.ref.tell(3)
        await self.ref.send(4)  # the mailbox (capacity 1) is full: wait, do not give up
        return answer


async def test_a_task_started_by_an_earlier_handler_may_ask_and_wait_on_its_actor(
    system: ActorSystem,
) -> None:
    actor = StartsAWorker()
    ref = await system.spawn(actor, capacity=1)
    await ref.ask(0)
    ref.tell(1)
    await actor.busy.wait()
    actor.go.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    actor.release.set()
    worker = actor.worker
    assert worker is not None
    async with asyncio.timeout(10):  # a guard against a hang, not a timing check
        assert await worker == 2
    await system.stop(ref)
    assert actor.log == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------ 10. bad timeouts


BAD_TIMEOUTS: list[Any] = [
    pytest.param(-1, ValueError, r"^timeout must be >= 0 or None, got -1$", id="negative"),
    pytest.param(math.nan, ValueError, r"^timeout must be >= 0 or None, got nan$", id="nan"),
    pytest.param(
        "5", TypeError, r"^timeout must be a number of seconds or None, got str$", id="str"
    ),
    pytest.param(
        True, TypeError, r"^timeout must be a number of seconds or None, got bool$", id="bool"
    ),
]


@pytest.mark.parametrize(("timeout", "error", "match"), BAD_TIMEOUTS)
async def test_stop_refuses_a_bad_timeout_before_stopping_anything(
    system: ActorSystem, timeout: Any, error: type[Exception], match: str
) -> None:
    ref = await system.spawn(Idle())
    with pytest.raises(error, match=match):
        await system.stop(ref, timeout=timeout)
    assert ref.is_alive


@pytest.mark.parametrize(("timeout", "error", "match"), BAD_TIMEOUTS)
async def test_a_refused_shutdown_starts_nothing_and_does_not_poison_the_next(
    timeout: Any, error: type[Exception], match: str
) -> None:
    system = ActorSystem()
    log: list[str] = []

    class Logs(Actor[int]):
        async def handle(self, msg: int) -> None:
            pass

        async def on_stop(self) -> None:
            log.append("stop")

    ref = await system.spawn(Logs())
    with pytest.raises(error, match=match.replace(" or None", "")):
        await system.shutdown(timeout=timeout)
    assert ref.is_alive
    await system.spawn(Logs())  # not shut down: it still spawns
    await system.shutdown()
    assert log == ["stop", "stop"]
    assert len(system) == 0


async def test_an_infinite_timeout_waits_without_a_deadline(system: ActorSystem) -> None:
    ref = await system.spawn(Idle())
    ref.tell(1)
    await system.stop(ref, timeout=math.inf)
    assert _handled(ref) == 1


# --------------------------------------------------- 20. a forgotten shutdown


def test_a_loop_ending_without_shutdown_says_so_instead_of_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    system = ActorSystem("forgotten")
    refs: list[ActorRef[int]] = []

    async def main() -> None:
        actor = Stuck()
        ref = await system.spawn(actor, name="echo")
        refs.append(ref)
        ref.tell(0)
        ref.tell(1)
        await actor.entered.wait()
        # returns without system.shutdown(): the loop's end cancels the suspended handler

    with (
        caplog.at_level(logging.INFO, logger="mycelium"),
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,  # as asyncio.run does
    ):
        runner.run(main())
    [record] = [r for r in caplog.records if r.name == "mycelium"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    message = record.getMessage()
    assert f"echo#{int(refs[0].id)}" in message
    assert "cancelled while suspended" in message
    assert "'forgotten' was not shut down" in message
    assert "crashed" not in message
    assert [letter.message for letter in system.dead_letters.recent] == [0, 1]


_FORGETS_SHUTDOWN = """
import asyncio, logging, sys
import uvloop
from mycelium import Actor, ActorSystem

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")


class Echo(Actor[int]):
    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def handle(self, msg: int) -> int:
        await asyncio.sleep(0)  # from here on, the handler runs in its task
        self.entered.set()
        await asyncio.sleep(3600)  # suspended when main() returns
        return msg


async def main() -> None:
    system = ActorSystem("forgotten")
    actor = Echo()
    ref = await system.spawn(actor)
    ref.tell(1)
    await actor.entered.wait()


asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
asyncio.run(main())
"""


async def test_asyncio_run_ending_without_shutdown_logs_one_warning_line() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _FORGETS_SHUTDOWN,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    lines = err.decode().splitlines()
    assert len(lines) == 1, lines  # no traceback, no "crashed"
    assert lines[0].startswith("WARNING actor Echo#")
    assert "cancelled while suspended" in lines[0]
    assert "'forgotten' was not shut down" in lines[0]
    assert out == b""
