"""``local_ref.py``'s send path: what ``send`` returns, order of waiting senders, capacity
bounds, failed scheduling, use from another thread, truthiness and the mailbox view.

Every test runs on the C build and on the pure-Python one (see ``test_speedups.py``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import (
    Actor,
    ActorRef,
    ActorSystem,
    Mailbox,
    MailboxFull,
    MailboxView,
    WrongThread,
)
from mycelium.local_ref import LocalActorRef
from mycelium.mailbox import MAX_CAPACITY


class Log(Actor[object]):
    """Logs every message; message ``"hold"`` waits for ``gate`` (setting ``entered`` first)."""

    def __init__(self) -> None:
        self.log: list[object] = []
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def handle(self, msg: object) -> object:
        if msg == "hold":
            self.entered.set()
            await self.gate.wait()
        self.log.append(msg)
        return msg


async def _held(system: ActorSystem, capacity: int) -> tuple[Log, ActorRef[object]]:
    """An actor stuck in ``"hold"`` with its mailbox of ``capacity`` filled with 1, 2, ..."""
    actor = Log()
    ref = await system.spawn(actor, capacity=capacity)
    ref.tell("hold")
    await actor.entered.wait()
    for i in range(1, capacity + 1):
        ref.tell(i)
    return actor, ref


async def _settle() -> None:
    """Let the loop run every callback that is ready (a bounded number of turns)."""
    for _ in range(20):
        await asyncio.sleep(0)


# ------------------------------------------------ item 4: the result of send, for asyncio


Start = Callable[[Coroutine[Any, Any, None]], Awaitable[Any]]


async def _wait_one(aw: Coroutine[Any, Any, None]) -> None:
    await asyncio.wait([asyncio.create_task(aw)])


async def _in_task_group(aw: Coroutine[Any, Any, None]) -> None:
    async with asyncio.TaskGroup() as group:
        group.create_task(aw)


STARTS: dict[str, Start] = {
    "await": lambda aw: aw,
    "ensure_future": asyncio.ensure_future,
    "create_task": asyncio.create_task,
    "gather": asyncio.gather,
    "wait_for": lambda aw: asyncio.wait_for(aw, timeout=None),
    "shield": asyncio.shield,
    "wait(create_task)": _wait_one,
    "TaskGroup.create_task": _in_task_group,
}


@pytest.mark.parametrize("room", [True, False], ids=["room", "full"])
@pytest.mark.parametrize("start", list(STARTS))
async def test_the_result_of_send_works_with_every_asyncio_api(
    system: ActorSystem, start: str, room: bool
) -> None:
    actor, ref = await _held(system, capacity=1)
    if room:
        actor.gate.set()
        assert await ref.ask("sync") == "sync"
    running = asyncio.ensure_future(STARTS[start](ref.send("x")))
    if not room:
        await _settle()
        assert not running.done()  # waits for room
        actor.gate.set()
    await running
    assert await ref.ask("last") == "last"
    assert actor.log.count("x") == 1
    assert actor.log[-2:] == ["x", "last"]


@pytest.mark.parametrize("room", [True, False], ids=["room", "full"])
async def test_asyncio_wait_refuses_the_result_like_any_coroutine_in_both_builds(
    system: ActorSystem, room: bool
) -> None:
    """``asyncio.wait`` forbids coroutines; ``send``'s result is one (so that ``create_task``
    takes it), in both builds and whether or not it had to wait. As for any send, the message
    took its place at the call, so it is delivered all the same."""
    actor, ref = await _held(system, capacity=1)
    if room:
        actor.gate.set()
        await ref.ask("sync")
    with pytest.raises(TypeError, match="Passing coroutines is forbidden"):
        await asyncio.wait([ref.send("x")])  # pyright: ignore[reportArgumentType]
    actor.gate.set()
    await ref.ask("last")
    assert actor.log[-2:] == ["x", "last"]


async def test_create_task_of_a_send_delivers_once_and_raises_nothing(
    system: ActorSystem,
) -> None:
    actor = Log()
    ref = await system.spawn(actor)
    task = asyncio.create_task(ref.send(1))
    assert await task is None
    assert await ref.ask(2) == 2
    assert actor.log == [1, 2]


async def test_a_backgrounded_send_joins_the_waiting_senders_when_called(
    system: ActorSystem,
) -> None:
    """``ensure_future(ref.send(2))`` takes its place among the waiting senders at the call,
    not when its task first runs: a later ``await ref.send(3)`` of the same sender comes after."""
    actor, ref = await _held(system, capacity=1)
    background = asyncio.ensure_future(ref.send(2))
    actor.gate.set()
    await ref.send(3)
    await background
    assert await ref.ask(4) == 4
    assert actor.log == ["hold", 1, 2, 3, 4]


class Filler(Actor[str]):
    """On "fill", backgrounds two sends into ``target`` (at once, from its handler)."""

    def __init__(self) -> None:
        self.target: ActorRef[object] | None = None
        self.sends: list[asyncio.Future[None]] = []

    async def handle(self, msg: str) -> None:
        assert self.target is not None
        self.sends += [asyncio.ensure_future(self.target.send(m)) for m in ("f1", "f2")]


class HandsOff(Log):
    """A ``Log`` that tells ``filler`` "fill" when it handles 2 (ending its run there)."""

    def __init__(self) -> None:
        super().__init__()
        self.filler: ActorRef[str] | None = None

    async def handle(self, msg: object) -> object:
        if msg == 2 and self.filler is not None:
            self.filler.tell("fill")
        return await super().handle(msg)


async def test_admitted_senders_keep_their_order_when_others_come_between(
    system: ActorSystem,
) -> None:
    """Two waiting sends a, b are admitted when room appears; sends made between the room
    appearing and their senders resuming queue up behind them (a, b came out b, a when woken
    senders re-queued themselves at the front)."""
    actor = HandsOff()
    ref = await system.spawn(actor, capacity=2)
    filler = Filler()
    filler.target = ref
    actor.filler = await system.spawn(filler)
    ref.tell("hold")
    await actor.entered.wait()
    ref.tell(1)
    ref.tell(2)
    waiting = [asyncio.ensure_future(ref.send(m)) for m in ("a", "b")]
    actor.gate.set()
    await asyncio.gather(*waiting)
    await _settle()
    await asyncio.gather(*filler.sends)
    assert await ref.ask("end") == "end"
    assert actor.log == ["hold", 1, 2, "a", "b", "f1", "f2", "end"]


@pytest.mark.parametrize("when", ["before its task ran", "while waiting"])
async def test_a_send_cancelled_before_admission_is_withdrawn(
    system: ActorSystem, when: str
) -> None:
    actor, ref = await _held(system, capacity=1)
    task = asyncio.create_task(ref.send(2))
    later = asyncio.ensure_future(ref.send(3))
    if when == "while waiting":
        await _settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    actor.gate.set()
    await later
    assert await ref.ask(4) == 4
    assert actor.log == ["hold", 1, 3, 4]
    assert system.dead_letters.count == 0


async def test_a_closed_send_result_is_withdrawn(system: ActorSystem) -> None:
    actor, ref = await _held(system, capacity=1)
    ref.send(2).close()
    actor.gate.set()
    assert await ref.ask(3) == 3
    assert actor.log == ["hold", 1, 3]


@st.composite
def _plans(draw: st.DrawFn) -> tuple[int, list[list[str]]]:
    capacity = draw(st.integers(min_value=1, max_value=3))
    how = st.sampled_from(["ensure_future", "create_task", "await", "try", "pause"])
    return capacity, draw(st.lists(st.lists(how, max_size=10), min_size=1, max_size=5))


class Slow(Actor[tuple[int, int]]):
    """Logs (sender, seq); every third message suspends once, so senders interleave."""

    def __init__(self) -> None:
        self.log: list[tuple[int, int]] = []

    async def handle(self, msg: tuple[int, int]) -> None:
        self.log.append(msg)
        if len(self.log) % 3 == 0:
            await asyncio.sleep(0)


async def _background_senders(capacity: int, plans: list[list[str]]) -> dict[int, list[int]]:
    """Run every plan as one sender task; return, per sender, the seqs handled, in order."""
    accepted: dict[int, list[int]] = {who: [] for who in range(len(plans))}
    async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
        async with ActorSystem() as system:
            actor = Slow()
            ref = await system.spawn(actor, capacity=capacity)
            background: list[asyncio.Future[None]] = []

            async def sender(who: int, plan: list[str]) -> None:
                for seq, how in enumerate(plan):
                    msg = (who, seq)
                    if how == "ensure_future":
                        background.append(asyncio.ensure_future(ref.send(msg)))
                    elif how == "create_task":
                        background.append(asyncio.create_task(ref.send(msg)))
                    elif how == "await":
                        await ref.send(msg)
                    elif how == "try":
                        try:
                            ref.try_send(msg)
                        except MailboxFull:
                            continue
                    else:
                        await asyncio.sleep(0)
                        continue
                    accepted[who].append(seq)

            await asyncio.gather(*(sender(who, plan) for who, plan in enumerate(plans)))
            await asyncio.gather(*background)
            await ref.ask((-1, 0))
            handled: dict[int, list[int]] = {who: [] for who in range(len(plans))}
            for who, seq in actor.log[:-1]:
                handled[who].append(seq)
    assert handled == accepted  # each accepted once, nothing else, and in the sender's order
    return handled


@given(_plans())
@settings(max_examples=120, deadline=None)
def test_backgrounded_senders_keep_per_sender_order(plan: tuple[int, list[list[str]]]) -> None:
    capacity, plans = plan
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        handled = runner.run(_background_senders(capacity, plans))
    for seqs in handled.values():
        assert seqs == sorted(seqs)


# -------------------------------------------------------- item 12: one behaviour, both builds


@pytest.mark.parametrize("capacity", [MAX_CAPACITY + 1, 2**63, 2**64])
async def test_spawn_refuses_a_capacity_beyond_the_maximum(
    system: ActorSystem, capacity: int
) -> None:
    pattern = rf"^capacity must be <= {MAX_CAPACITY} \(MAX_CAPACITY\), got {capacity}$"
    with pytest.raises(ValueError, match=pattern):
        await system.spawn(Log(), capacity=capacity)
    with pytest.raises(ValueError, match=pattern):
        Mailbox[int](capacity)
    assert system.actors == []


async def test_the_maximum_capacity_works(system: ActorSystem) -> None:
    actor = Log()
    ref = await system.spawn(actor, capacity=MAX_CAPACITY)
    ref.try_send(1)
    await ref.send(2)
    assert await ref.ask(3) == 3
    assert actor.log == [1, 2, 3]
    assert ref.mailbox.capacity == MAX_CAPACITY
    assert MAX_CAPACITY == 2**31 - 1


def test_a_send_whose_schedule_fails_leaves_nothing_behind() -> None:
    """The loop is closed: waking the idle actor fails, so the send raises, and nothing of it
    stays behind (the message, the actor's "scheduled" flag, the dispatcher's pending run)."""
    loop = uvloop.new_event_loop()
    system = ActorSystem()
    actor = Log()
    ref: ActorRef[object] = loop.run_until_complete(system.spawn(actor, capacity=4))
    loop.run_until_complete(ref.ask("warm"))  # the mailbox's queue exists: the fast path
    loop.close()
    cell = ref
    assert isinstance(cell, LocalActorRef)
    dispatcher: Any = cell.dispatcher  # the Dispatcher, beyond what a cell sees of it
    for attempt in range(2):  # the second attempt fails the same way: nothing was left
        with pytest.raises(RuntimeError, match="closed"):
            ref.try_send(attempt)
        with pytest.raises(RuntimeError, match="closed"):
            ref.send(attempt).close()
        with pytest.raises(RuntimeError, match="closed"):
            ref.tell(attempt)
        assert len(ref.mailbox) == 0
        assert cell.scheduled is False
        assert dispatcher.idle
        assert len(dispatcher._ready) == 0  # pyright: ignore[reportPrivateUsage]
    assert actor.log == ["warm"]


def test_a_first_send_whose_schedule_fails_leaves_nothing_behind() -> None:
    """The same for the first message, which creates the mailbox's queue (slow path)."""
    loop = uvloop.new_event_loop()
    system = ActorSystem()
    ref = loop.run_until_complete(system.spawn(Log()))
    loop.close()
    assert isinstance(ref, LocalActorRef)
    with pytest.raises(RuntimeError, match="closed"):
        ref.try_send(1)
    assert len(ref.mailbox) == 0
    assert ref.scheduled is False
    assert ref.dispatcher.idle


# ---------------------------------------------------------- item 14: use from another thread


def _in_thread(call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a new thread; return what it raised (None if nothing)."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # reported to the test
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return raised[0] if raised else None


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
async def test_sending_from_another_thread_raises_wrong_thread(
    system: ActorSystem, busy: bool
) -> None:
    actor = Log()
    ref = await system.spawn(actor, name="home", capacity=10)
    if busy:  # scheduled: a send would not need to wake it
        ref.tell("hold")
        await actor.entered.wait()
    calls: dict[str, Callable[[], object]] = {
        "try_send": lambda: ref.try_send(1),
        "tell": lambda: ref.tell(1),
        "send": lambda: ref.send(1),
        "ask": lambda: asyncio.run(ref.ask(1)),
    }
    for name, call in calls.items():
        raised = _in_thread(call)
        assert isinstance(raised, WrongThread), name
        assert isinstance(raised, RuntimeError)
        assert str(raised).startswith(
            f"actor 'home#{int(ref.id)}' belongs to the event loop of thread "
        )
        assert "int was not delivered" in str(raised)
        assert "call_soon_threadsafe" in str(raised)
    assert len(ref.mailbox) == 0
    actor.gate.set()
    assert await ref.ask(2) == 2
    assert actor.log == (["hold", 2] if busy else [2])


async def test_handing_a_send_to_the_loop_thread_works(system: ActorSystem) -> None:
    actor = Log()
    ref = await system.spawn(actor)
    loop = asyncio.get_running_loop()
    assert _in_thread(lambda: loop.call_soon_threadsafe(ref.try_send, 1)) is None
    await _settle()  # the loop runs the handed-over call
    assert await ref.ask(2) == 2
    assert actor.log == [1, 2]


def test_a_loop_run_by_another_thread_later_is_followed() -> None:
    """The owner is the thread that runs the loop: when the loop later runs in another thread,
    sends from there work and sends from the first thread raise."""
    loop = uvloop.new_event_loop()
    try:
        system = ActorSystem()
        actor = Log()
        ref = loop.run_until_complete(system.spawn(actor))
        loop.run_until_complete(ref.ask(1))
        assert _in_thread(lambda: loop.run_until_complete(ref.ask(2))) is None
        with pytest.raises(WrongThread):
            ref.try_send(3)
        assert actor.log == [1, 2]
        assert _in_thread(lambda: loop.run_until_complete(system.shutdown())) is None
    finally:
        loop.close()


# --------------------------------------------------------------- item 15: refs are truthy


async def test_refs_are_truthy_even_with_an_empty_mailbox(system: ActorSystem) -> None:
    ref = await system.spawn(Log(), name="e")
    assert len(ref.mailbox) == 0
    assert bool(ref) is True
    fallback: ActorRef[object] = await system.spawn(Log())
    assert (system.lookup("e") or fallback) is ref
    await system.stop(ref)
    assert bool(ref) is True


# ---------------------------------------------------------- item 17: a read-only mailbox view


async def test_ref_mailbox_is_a_live_read_only_view(system: ActorSystem) -> None:
    actor, ref = await _held(system, capacity=2)
    view = ref.mailbox
    assert isinstance(view, MailboxView)
    assert not isinstance(view, Mailbox)
    assert not isinstance(ref, Mailbox)
    assert (view.capacity, len(view), view.dropped, view.handled, view.closed) == (
        2,
        2,
        0,
        0,
        False,
    )
    with pytest.raises(MailboxFull):
        ref.tell(3)
    assert view.dropped == 1
    for name in ("get_nowait", "put_nowait", "close"):
        assert not hasattr(view, name), name
    for name in ("capacity", "dropped", "handled", "closed"):
        with pytest.raises(AttributeError):
            setattr(view, name, 0)
    actor.gate.set()
    await ref.ask(4)
    assert (len(view), view.handled) == (0, 4)  # hold, 1, 2 and the question
    assert bool(view) is True
    await system.stop(ref)
    assert view.closed
    assert repr(view) == "<MailboxView capacity=2 len=0 dropped=1 handled=4 closed>"


async def test_a_remote_ref_has_a_mailbox_view_that_knows_nothing() -> None:
    class Far(ActorRef[int]):
        @property
        def id(self) -> Any:
            return 7

        @property
        def name(self) -> str | None:
            return None

        @property
        def is_alive(self) -> bool:
            return True

        def try_send(self, msg: int, /) -> None:
            pass

        async def send(self, msg: int, /) -> None:
            pass

        async def ask(self, msg: int, /, *, timeout: float | None = 5.0) -> Any:
            return msg

    view = Far().mailbox
    assert isinstance(view, MailboxView)
    assert (view.capacity, len(view), view.dropped, view.handled, view.closed) == (
        None,
        0,
        0,
        0,
        False,
    )
    assert bool(Far()) is True
