"""A reviewer's attempts to break inline runs (``Dispatcher.run_inline``/``run_woken``): the
edges of the guarantees a turn of the dispatcher gives, each pinned with real parts.

Pinned here: the loop still turns while a handler run inline loops on asks or awaited sends
to another actor (nested runs share the loop iteration's budget); ask cycles end in timeouts,
never a hang or a recursion error; chains far deeper than ``MAX_INLINE_DEPTH``; a handler run
inline that sends to itself, spawns and stops actors, or cancels its own task; context
isolation both ways and between nested runs; supervision (resume, stop, escalate, watchers)
after a raising inline handler; waiting senders of a full mailbox; the counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
from typing import Any

import pytest
from inline_actors import Fails, quiet

from mycelium import (
    Actor,
    ActorRef,
    ActorStopped,
    ActorSystem,
    AskTimeout,
    Supervision,
    Terminated,
    WouldDeadlock,
)
from mycelium.dispatcher import MAX_INLINE_DEPTH

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("review_var", default="unset")

_GUARD = 200_000
"""Iterations after which a loop that never saw the event loop turn gives up (and fails)."""


async def _settled() -> None:
    """Let the loop run what was queued before (no turn pending: asks may run inline)."""
    for _ in range(3):
        await asyncio.sleep(0)


class Echo(Actor[int]):
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, msg: int) -> int:
        self.seen.append(msg)
        return msg


class _Turned:
    """Set at the next loop iteration (a plain loop callback, no task)."""

    def __init__(self) -> None:
        self.turned = False
        asyncio.get_running_loop().call_soon(self._set)

    def _set(self) -> None:
        self.turned = True


# --------------------------------------------------------------- the loop keeps turning


async def test_a_handler_run_inline_that_asks_in_a_loop_lets_the_loop_turn(
    system: ActorSystem,
) -> None:
    """Under a turn, every ask suspends the asking handler; run inline, the nested asks must
    still stop running inline once the loop iteration's budget is spent."""
    callee = await system.spawn(Echo())
    turned: list[_Turned] = []

    class Looper(Actor[int]):
        async def handle(self, msg: int) -> int:
            flag = turned[0]
            n = 0
            while not flag.turned and n < _GUARD:
                await callee.ask(n)
                n += 1
            return n

    looper = await system.spawn(Looper())
    await _settled()
    turned.append(_Turned())
    n = await looper.ask(0, timeout=None)
    assert n < _GUARD, "the loop never turned while a handler run inline asked in a loop"


async def test_a_handler_run_inline_that_sends_in_a_loop_lets_the_loop_turn(
    system: ActorSystem,
) -> None:
    """As above with ``await send``: under a turn the consumer's mailbox fills and the
    producer waits for room; run inline, each send ran the consumer inline at once."""
    consumer = await system.spawn(Echo(), capacity=10)
    turned: list[_Turned] = []

    class Producer(Actor[int]):
        async def handle(self, msg: int) -> int:
            flag = turned[0]
            n = 0
            while not flag.turned and n < _GUARD:
                await consumer.send(n)
                n += 1
            return n

    producer = await system.spawn(Producer())
    await _settled()
    turned.append(_Turned())
    n = await producer.ask(0, timeout=None)
    assert n < _GUARD, "the loop never turned while a handler run inline sent in a loop"


async def test_a_task_asking_in_a_loop_lets_the_loop_turn(system: ActorSystem) -> None:
    ref = await system.spawn(Echo())
    await _settled()
    flag = _Turned()
    n = 0
    while not flag.turned and n < _GUARD:
        assert await ref.ask(n) == n
        n += 1
    assert n < _GUARD


async def test_a_task_sending_in_a_loop_lets_the_loop_turn(system: ActorSystem) -> None:
    actor = Echo()
    ref = await system.spawn(actor, capacity=10)
    await _settled()
    flag = _Turned()
    n = 0
    while not flag.turned and n < _GUARD:
        await ref.send(n)
        n += 1
    assert n < _GUARD
    await system.stop(ref)
    assert actor.seen == list(range(n))  # per-sender order, every one handled


# ------------------------------------------------------------------ cycles and depth


async def test_an_ask_cycle_through_inline_runs_times_out_on_both_sides(
    system: ActorSystem,
) -> None:
    """A asks B inline, B asks A (busy: A's run is on the stack): no hang, no recursion error;
    the inner ask times out, B answers A with that failure, the outer one gets it."""
    refs: dict[str, ActorRef[Any]] = {}

    class A(Actor[int]):
        async def handle(self, msg: int) -> str:
            if msg == 1:
                return "a-inner"
            return await refs["b"].ask(0, timeout=1.0)

    class B(Actor[int]):
        async def handle(self, msg: int) -> str:
            try:
                return await refs["a"].ask(1, timeout=0.05)
            except AskTimeout:
                return "b-timed-out"

    refs["a"] = await system.spawn(A())
    refs["b"] = await system.spawn(B())
    await _settled()
    assert await refs["a"].ask(0, timeout=2.0) == "b-timed-out"
    # A's question from B was handled afterwards (its answer is dropped): nothing lost.
    await quiet(system)
    assert refs["a"].mailbox.handled == 2
    assert refs["b"].mailbox.handled == 1
    assert system.dead_letters.count == 0


async def test_a_self_ask_nested_in_inline_runs_raises_would_deadlock(
    system: ActorSystem,
) -> None:
    refs: dict[str, ActorRef[Any]] = {}

    class Outer(Actor[int]):
        async def handle(self, msg: int) -> str:
            return await refs["inner"].ask(msg)

    class Inner(Actor[int]):
        async def handle(self, msg: int) -> str:
            try:
                await refs["inner"].ask(msg)
            except WouldDeadlock:
                return "refused"
            return "asked itself"

    refs["inner"] = await system.spawn(Inner())
    outer = await system.spawn(Outer())
    await _settled()
    assert await outer.ask(1) == "refused"


@pytest.mark.parametrize("how", ["ask", "send"])
async def test_a_chain_far_deeper_than_the_cap_answers_without_recursion_error(
    system: ActorSystem, how: str
) -> None:
    length = MAX_INLINE_DEPTH * 40
    last = Echo()
    nxt: ActorRef[int] = await system.spawn(last)

    class Link(Actor[int]):
        def __init__(self, forward: ActorRef[int]) -> None:
            self.forward = forward

        async def handle(self, msg: int) -> int:
            if how == "ask":
                return await self.forward.ask(msg + 1, timeout=None)
            await self.forward.send(msg + 1)
            return msg

    for _ in range(length):
        nxt = await system.spawn(Link(nxt))
    await _settled()
    for round_ in range(3):
        if how == "ask":
            assert await nxt.ask(round_ * 1000, timeout=None) == round_ * 1000 + length
        else:
            await nxt.send(round_ * 1000)
    await quiet(system)
    assert len(last.seen) == 3
    assert last.seen == [r * 1000 + length for r in range(3)]
    assert system.dead_letters.count == 0


# ------------------------------------------------------ what a handler run inline may do


async def test_an_inline_handler_that_sends_to_itself_handles_it_after_returning(
    system: ActorSystem,
) -> None:
    class SelfSend(Actor[int]):
        def __init__(self) -> None:
            self.log: list[str] = []

        async def handle(self, msg: int) -> int:
            self.log.append(f"start {msg}")
            if msg == 0:
                self.ref.try_send(1)
                await self.ref.send(2)
                self.log.append("sent")
            self.log.append(f"end {msg}")
            return msg

    actor = SelfSend()
    ref = await system.spawn(actor)
    await _settled()
    assert await ref.ask(0) == 0
    await quiet(system)
    assert ref.mailbox.handled == 3
    assert actor.log == ["start 0", "sent", "end 0", "start 1", "end 1", "start 2", "end 2"]


async def test_an_inline_handler_waiting_for_room_in_its_own_full_mailbox_is_refused(
    system: ActorSystem,
) -> None:
    class Fills(Actor[int]):
        async def handle(self, msg: int) -> str:
            if msg:
                return "later"
            self.ref.try_send(1)
            try:
                await self.ref.send(1)
            except WouldDeadlock:
                return "refused"
            return "waited"

    ref = await system.spawn(Fills(), capacity=1)
    await _settled()
    assert await ref.ask(0) == "refused"
    await quiet(system)
    assert ref.mailbox.handled == 2
    assert system.dead_letters.count == 0


async def test_an_inline_handler_spawns_asks_and_stops_a_child(system: ActorSystem) -> None:
    class Parent(Actor[int]):
        async def handle(self, msg: int) -> int:
            child = await self.spawn(Echo())
            got = await child.ask(msg)
            await self.system.stop(child)
            assert not child.is_alive
            return got + 1

    ref = await system.spawn(Parent())
    await _settled()
    assert await ref.ask(1) == 2
    assert await ref.ask(5) == 6
    assert system.dead_letters.count == 0


async def test_an_inline_handler_cancelling_its_own_task_does_not_cancel_the_asker(
    system: ActorSystem,
) -> None:
    class CancelsItself(Actor[int]):
        async def handle(self, msg: int) -> int:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            return msg

    ref = await system.spawn(CancelsItself())
    await _settled()
    assert await ref.ask(1) == 1
    await asyncio.sleep(0)  # the asker is not cancelled at its next suspension
    assert await ref.ask(2) == 2
    await asyncio.sleep(0)
    assert ref.is_alive
    assert ref.mailbox.handled == 2


# ------------------------------------------------------------------ context isolation


async def test_context_variables_stay_apart_across_nested_inline_runs(
    system: ActorSystem,
) -> None:
    seen: list[tuple[str, str]] = []

    class Inner(Actor[int]):
        async def handle(self, msg: int) -> int:
            seen.append(("inner", VAR.get()))
            VAR.set(f"inner {msg}")
            return msg

    inner = await system.spawn(Inner())

    class Outer(Actor[int]):
        async def handle(self, msg: int) -> int:
            seen.append(("outer", VAR.get()))
            VAR.set(f"outer {msg}")
            await inner.ask(msg)
            seen.append(("outer after", VAR.get()))
            return msg

    outer = await system.spawn(Outer())
    await _settled()
    VAR.set("asker")
    for i in range(3):
        assert await outer.ask(i) == i
        assert VAR.get() == "asker"
        assert await inner.ask(10 + i) == 10 + i
        assert VAR.get() == "asker"
    assert seen == [
        ("outer", "unset"),
        ("inner", "unset"),
        ("outer after", "outer 0"),
        ("inner", "unset"),
        ("outer", "unset"),
        ("inner", "unset"),
        ("outer after", "outer 1"),
        ("inner", "unset"),
        ("outer", "unset"),
        ("inner", "unset"),
        ("outer after", "outer 2"),
        ("inner", "unset"),
    ]


async def test_a_suspended_inline_handler_keeps_its_context_from_the_next_runs(
    system: ActorSystem,
) -> None:
    gate = asyncio.Event()
    seen: list[str] = []

    class Sleeper(Actor[int]):
        async def handle(self, msg: int) -> str:
            VAR.set(f"sleeper {msg}")
            await gate.wait()
            return VAR.get()

    class Reader(Actor[int]):
        async def handle(self, msg: int) -> str:
            seen.append(VAR.get())
            return VAR.get()

    sleeper = await system.spawn(Sleeper())
    reader = await system.spawn(Reader())
    await _settled()
    pending = asyncio.ensure_future(sleeper.ask(1))
    await asyncio.sleep(0)
    assert await reader.ask(0) == "unset"
    gate.set()
    assert await pending == "sleeper 1"
    assert await reader.ask(0) == "unset"
    assert VAR.get() == "unset"


# ------------------------------------------------------------------------ supervision


async def test_a_nested_inline_handler_that_raises_fails_its_asker_and_is_lettered_once(
    system: ActorSystem,
) -> None:
    inner = await system.spawn(Fails(), supervision=Supervision.resume())

    class Outer(Actor[int]):
        async def handle(self, msg: int) -> str:
            try:
                await inner.ask(msg)
            except ValueError as exc:
                return f"caught {exc}"
            return "fine"

    outer = await system.spawn(Outer())
    await _settled()
    assert await outer.ask(-1) == "caught boom -1"
    assert await outer.ask(1) == "fine"
    assert system.dead_letters.count == 1
    assert inner.mailbox.handled == 1
    assert outer.mailbox.handled == 2
    assert inner.is_alive


async def test_a_raising_inline_handler_under_stop_notifies_its_watcher_once(
    system: ActorSystem,
) -> None:
    notices: list[object] = []
    noticed = asyncio.Event()
    victim = await system.spawn(Fails(), supervision=Supervision.stop())

    class Watcher(Actor[int]):
        async def on_start(self) -> None:
            self.watch(victim)

        async def handle(self, msg: int) -> int:
            return msg

        async def on_terminated(self, terminated: Terminated, /) -> None:
            notices.append(terminated.ref)
            noticed.set()

    watcher = await system.spawn(Watcher())
    await _settled()
    with pytest.raises(ValueError, match="boom -3"):
        await victim.ask(-3)
    await asyncio.wait_for(noticed.wait(), 5)
    assert notices == [victim]
    assert not victim.is_alive
    with pytest.raises(ActorStopped):
        await victim.ask(1)
    assert await watcher.ask(7) == 7
    assert system.dead_letters.count == 1


async def test_an_inline_send_that_raises_with_waiting_senders_refuses_or_keeps_them(
    system: ActorSystem,
) -> None:
    """A full mailbox with a sender waiting for room, and a raising handler: the waiting
    sender's message is refused (never accepted) or handled, never lost silently."""
    gate = asyncio.Event()
    entered = asyncio.Event()

    class Slow(Actor[int]):
        async def handle(self, msg: int) -> int:
            if msg == 0:
                entered.set()
                await gate.wait()
            if msg < 0:
                raise ValueError("boom")
            return msg

    ref = await system.spawn(Slow(), capacity=1)
    await _settled()
    first = asyncio.ensure_future(ref.ask(0))
    await entered.wait()
    ref.try_send(-1)  # fills the mailbox
    waiting = asyncio.ensure_future(ref.send(5))
    await asyncio.sleep(0)
    assert ref.mailbox.waiting == 1
    gate.set()
    assert await first == 0
    with pytest.raises(ActorStopped):
        await waiting
    assert not ref.is_alive
    assert [letter.message for letter in system.dead_letters.recent] == [-1]


async def test_a_child_over_its_restart_limit_inline_escalates_after_its_parents_message(
    system: ActorSystem,
) -> None:
    """The parent's run is on the stack when its child (run inline) gives up: the parent fails
    at its next message boundary, as under a turn, after answering the message in progress."""
    stopped = asyncio.Event()

    class Parent(Actor[int]):
        child: ActorRef[int] | None = None

        async def handle(self, msg: int) -> str:
            if self.child is None:
                self.child = await self.spawn(
                    Fails, supervision=Supervision.restart(max_restarts=0)
                )
            try:
                await self.child.ask(msg)
            except ValueError:
                return "child failed"
            return "child fine"

        async def on_stop(self) -> None:
            stopped.set()

    parent = await system.spawn(Parent(), supervision=Supervision.stop())
    await _settled()
    assert await parent.ask(1) == "child fine"
    assert await parent.ask(-1) == "child failed"
    await asyncio.wait_for(stopped.wait(), 5)
    assert not parent.is_alive
    assert parent.mailbox.handled == 2
    assert [letter.message for letter in system.dead_letters.recent] == [-1]


async def test_drop_oldest_before_an_awaited_woken_send_runs_the_newer_message(
    system: ActorSystem,
) -> None:
    actor = Echo()
    ref = await system.spawn(actor, capacity=1, overflow="drop_oldest")
    await _settled()
    sent = ref.send(1)  # woke the actor; not awaited yet
    ref.try_send(2)  # full: 1 is dropped for it
    await sent
    await quiet(system)
    assert actor.seen == [2]
    assert [letter.message for letter in system.dead_letters.recent] == [1]
    assert ref.mailbox.dropped == 1
    assert ref.mailbox.handled == 1


async def test_a_timer_started_by_an_inline_handler_fires_once(system: ActorSystem) -> None:
    fired = asyncio.Event()

    class Timed(Actor[int]):
        def __init__(self) -> None:
            self.seen: list[int] = []

        async def handle(self, msg: int) -> int:
            self.seen.append(msg)
            if msg == 0:
                self.timers.send_after(0, 99)
            if msg == 99:
                fired.set()
            return msg

    actor = Timed()
    ref = await system.spawn(actor)
    await _settled()
    assert await ref.ask(0) == 0
    await asyncio.wait_for(fired.wait(), 5)
    assert await ref.ask(1) == 1
    await quiet(system)
    assert actor.seen == [0, 99, 1]
    assert ref.mailbox.handled == 2  # a timer's message is the runtime's own: not counted


async def test_code_of_a_suspended_inline_handler_may_not_ask_its_own_actor(
    system: ActorSystem,
) -> None:
    class Suspends(Actor[int]):
        async def handle(self, msg: int) -> str:
            if msg:
                return "inner"
            await asyncio.sleep(0)
            out: list[str] = []
            try:
                await self.ref.ask(1, timeout=1.0)  # the handler itself, resumed in its task
            except WouldDeadlock:
                out.append("handler refused")

            async def helper() -> None:
                try:
                    await self.ref.ask(1, timeout=1.0)
                except WouldDeadlock:
                    out.append("task refused")

            await asyncio.create_task(helper())
            return ", ".join(out)

    ref = await system.spawn(Suspends())
    await _settled()
    assert await ref.ask(0) == "handler refused, task refused"


async def test_the_asker_task_is_current_again_after_an_inline_run(system: ActorSystem) -> None:
    gate = asyncio.Event()

    class MaySuspend(Actor[int]):
        async def handle(self, msg: int) -> int:
            if msg:
                await gate.wait()
            return msg

    ref = await system.spawn(MaySuspend())
    await _settled()
    me = asyncio.current_task()
    assert await ref.ask(0) == 0
    assert asyncio.current_task() is me
    pending = asyncio.ensure_future(ref.ask(1))
    await asyncio.sleep(0)
    assert asyncio.current_task() is me
    gate.set()
    assert await pending == 1
    await ref.send(0)
    assert asyncio.current_task() is me


async def test_cancelling_an_asker_whose_inline_handler_returned_late_drops_only_the_answer(
    system: ActorSystem,
) -> None:
    gate = asyncio.Event()
    entered = asyncio.Event()

    class Slow(Actor[int]):
        def __init__(self) -> None:
            self.done: list[int] = []

        async def handle(self, msg: int) -> int:
            entered.set()
            await gate.wait()
            self.done.append(msg)
            return msg

    actor = Slow()
    ref = await system.spawn(actor)
    await _settled()
    asker = asyncio.ensure_future(ref.ask(1))
    await entered.wait()
    asker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asker
    ref.try_send(2)  # queued behind the handler still running
    gate.set()
    await quiet(system)
    assert actor.done == [1, 2]
    assert ref.mailbox.handled == 2
    assert system.dead_letters.count == 0


async def test_a_chain_of_inline_handlers_that_all_suspend_answers_in_order(
    system: ActorSystem,
) -> None:
    """Every link suspends once before asking the next: each parks in the standby task of its
    depth, and the answers come back through the parked tasks."""
    length = MAX_INLINE_DEPTH * 3
    last = Echo()
    nxt: ActorRef[int] = await system.spawn(last)

    class SleepyLink(Actor[int]):
        def __init__(self, forward: ActorRef[int]) -> None:
            self.forward = forward
            self.me: list[asyncio.Task[Any] | None] = []

        async def handle(self, msg: int) -> int:
            before = asyncio.current_task()
            await asyncio.sleep(0)
            self.me.append(asyncio.current_task())
            assert asyncio.current_task() is before
            return await self.forward.ask(msg + 1, timeout=None)

    links: list[SleepyLink] = []
    for _ in range(length):
        links.append(SleepyLink(nxt))
        nxt = await system.spawn(links[-1])
    await _settled()
    answers = await asyncio.gather(*(nxt.ask(r * 1000, timeout=None) for r in range(3)))
    assert answers == [r * 1000 + length for r in range(3)]
    assert sorted(last.seen) == [r * 1000 + length for r in range(3)]
    tasks = {id(t) for link in links for t in link.me}
    assert len(tasks) == 3 * length  # no two suspended handlers shared a task
    assert system.dead_letters.count == 0


@pytest.mark.parametrize("x_runs", ["inline", "in_a_turn"])
async def test_an_ask_cycle_across_two_systems_on_one_loop_times_out_as_under_turns(
    system: ActorSystem, x_runs: str
) -> None:
    """X (this system) asks Y (another system on the same loop, idle: run inline); Y asks X
    back. Under turns this is a plain cycle: Y's ask waits (X is busy) and times out. It must
    not be taken for X asking itself (``WouldDeadlock``) because X's run is on the stack below
    Y's, whether X runs inline or in a turn of its dispatcher."""
    refs: dict[str, ActorRef[Any]] = {}
    results: asyncio.Queue[str] = asyncio.Queue()

    class X(Actor[int]):
        async def handle(self, msg: int) -> str:
            if msg == 1:
                return "x-inner"
            answer = await refs["y"].ask(0, timeout=2.0)
            results.put_nowait(answer)
            return answer

    class Y(Actor[int]):
        async def handle(self, msg: int) -> str:
            try:
                return await refs["x"].ask(1, timeout=0.05)
            except AskTimeout:
                return "timed out"
            except WouldDeadlock as exc:
                return f"would deadlock: {exc}"

    async with ActorSystem() as other:
        refs["x"] = await system.spawn(X())
        refs["y"] = await other.spawn(Y())
        await _settled()
        if x_runs == "inline":
            await refs["x"].ask(0, timeout=3.0)
        else:
            refs["x"].try_send(0)
        assert await asyncio.wait_for(results.get(), 5) == "timed out"


async def test_a_chain_reaches_the_depth_cap_even_when_the_budget_is_spent(
    system: ActorSystem,
) -> None:
    """Nested runs share the loop iteration's budget, but a run's first nested run is not
    held to it: a chain (each handler asking the next once) is bounded work and still runs
    inline to the cap however slow the machine, while a loop of asks (above) is cut."""
    dispatcher = system._dispatcher  # pyright: ignore[reportPrivateUsage]
    assert dispatcher is not None
    depths: list[int] = []

    class Link(Actor[int]):
        forward: ActorRef[int] | None = None

        async def handle(self, msg: int) -> int:
            depths.append(dispatcher._inline_depth)  # pyright: ignore[reportPrivateUsage]
            # As on a slow machine: this loop iteration's budget is spent (both builds read it).
            dispatcher._inline_deadline = 1e-9  # pyright: ignore[reportPrivateUsage]
            if self.forward is None:
                return msg
            first = await self.forward.ask(msg + 1)
            await self.forward.ask(msg + 1)  # a second one: held to the (spent) budget
            return first

    actors = [Link() for _ in range(MAX_INLINE_DEPTH + 2)]
    refs = [await system.spawn(a) for a in actors]
    for actor, nxt in zip(actors, refs[1:], strict=False):
        actor.forward = nxt
    await _settled()
    assert await refs[0].ask(0) == len(actors) - 1
    assert depths[:MAX_INLINE_DEPTH] == list(range(1, MAX_INLINE_DEPTH + 1))
    await quiet(system)


@pytest.mark.parametrize("seed", range(6))
async def test_every_accepted_message_is_handled_or_lettered_once_in_a_random_mesh(
    system: ActorSystem, seed: int
) -> None:
    """A mesh of actors forwarding by ask, awaited send, try_send or a task's send to actors
    further down (no cycles), suspending now and then, raising now and then (resume): at the
    end, handled + dead letters == accepted, exactly, on both builds."""
    rng = random.Random(seed)
    size = 12
    refs: list[ActorRef[int]] = []
    accepted = [0]
    background: list[asyncio.Future[None]] = []
    overlaps: list[int] = []
    plan = [[rng.randrange(6) for _ in range(64)] for _ in range(size)]

    class Node(Actor[int]):
        def __init__(self, index: int) -> None:
            self.index = index
            self.step = 0
            self.inside = False

        async def handle(self, msg: int) -> int:
            if self.inside:
                overlaps.append(self.index)  # two messages handled at once
            self.inside = True
            try:
                return await self._handle(msg)
            finally:
                self.inside = False

        async def _handle(self, msg: int) -> int:
            choice = plan[self.index][self.step % 64]
            self.step += 1
            if choice == 5 and msg % 3 == 0:
                raise ValueError(f"boom {msg}")
            if choice == 4:
                await asyncio.sleep(0)
            if msg <= 0 or self.index == size - 1:
                return msg
            target = refs[rng.randrange(self.index + 1, size)]
            accepted[0] += 1
            if choice in {0, 4}:
                with contextlib.suppress(ValueError):
                    await target.ask(msg - 1, timeout=None)
            elif choice == 1:
                await target.send(msg - 1)
            elif choice == 2:
                target.try_send(msg - 1)
            else:
                background.append(asyncio.ensure_future(target.send(msg - 1)))
            return msg

    refs.extend(
        [await system.spawn(Node(i), supervision=Supervision.resume()) for i in range(size)]
    )
    await _settled()
    for round_ in range(40):
        ref = refs[rng.randrange(3)]
        accepted[0] += 1
        how = rng.randrange(3)
        if how == 0:
            with contextlib.suppress(ValueError):
                await ref.ask(6 + round_ % 4, timeout=None)
        elif how == 1:
            await ref.send(6 + round_ % 4)
        else:
            ref.try_send(6 + round_ % 4)
        if rng.randrange(4) == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*background)
    await quiet(system)
    handled = sum(ref.mailbox.handled for ref in refs)
    assert handled + system.dead_letters.count == accepted[0]
    assert overlaps == []
    assert all(ref.is_alive for ref in refs)


async def test_a_watcher_on_the_stack_gets_its_notice_after_its_handler_returns(
    system: ActorSystem,
) -> None:
    log: list[str] = []
    noticed = asyncio.Event()
    victim = await system.spawn(Fails(), supervision=Supervision.stop())

    class Watcher(Actor[int]):
        async def on_start(self) -> None:
            self.watch(victim)

        async def handle(self, msg: int) -> str:
            log.append("handle")
            try:
                await victim.ask(msg)
            except ValueError:
                log.append("caught")
            log.append("return")
            return "done"

        async def on_terminated(self, terminated: Terminated, /) -> None:
            log.append("terminated")
            noticed.set()

    watcher = await system.spawn(Watcher())
    await _settled()
    assert await watcher.ask(-1) == "done"
    await asyncio.wait_for(noticed.wait(), 5)
    await quiet(system)
    assert log == ["handle", "caught", "return", "terminated"]


async def test_a_forced_shutdown_letters_each_suspended_nested_inline_handler_once() -> None:
    never = asyncio.Event()
    stops: list[str] = []
    system = ActorSystem()
    async with system:

        class Inner(Actor[int]):
            async def handle(self, msg: int) -> int:
                await never.wait()
                return msg

            async def on_stop(self) -> None:
                stops.append("inner")

        inner = await system.spawn(Inner())

        class Outer(Actor[int]):
            async def handle(self, msg: int) -> int:
                return await inner.ask(msg + 1, timeout=None)

            async def on_stop(self) -> None:
                stops.append("outer")

        outer = await system.spawn(Outer())
        await _settled()
        asker = asyncio.ensure_future(outer.ask(1, timeout=None))
        await asyncio.sleep(0)
        assert not asker.done()  # both handlers are suspended, each in its own task
        await system.shutdown(timeout=0.05)
        with pytest.raises(ActorStopped):
            await asker
        assert sorted(repr(letter.message) for letter in system.dead_letters.recent) == ["1", "2"]
        assert system.dead_letters.count == 2
        assert sorted(stops) == ["inner", "outer"]
