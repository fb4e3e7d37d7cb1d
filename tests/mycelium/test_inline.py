"""Inline runs: an idle actor's handler runs in its asker's stack (``ask``), or at the await of
the ``send`` that woke it, and keeps every guarantee a turn of the dispatcher gives.

What is pinned here: no loop turn for an ask or an awaited send to an idle actor (the speed-up
itself); one message at a time and per-sender order with queued and inline deliveries mixed;
cancelling an asker never cancels a handler already running; each run's own context and task;
a raising handler's accounting; the depth cap of nested inline runs; dead letters at a stop.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inline_actors import Fails, quiet

from mycelium import (
    Actor,
    ActorRef,
    ActorStopped,
    ActorSystem,
    Supervision,
    WouldDeadlock,
)
from mycelium.dispatcher import INLINE_SENDS_PER_TURN, MAX_INLINE_DEPTH, Dispatcher

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("test_inline_var", default="unset")


class _LoopTurns:
    """Counts loop turns: a callback that schedules itself again every time it runs."""

    def __init__(self) -> None:
        self.turns = 0
        self._loop = asyncio.get_running_loop()
        self._stopped = False
        self._loop.call_soon(self._tick)

    def _tick(self) -> None:
        if not self._stopped:
            self.turns += 1
            self._loop.call_soon(self._tick)

    def stop(self) -> None:
        self._stopped = True


async def _settled() -> _LoopTurns:
    """A turn counter, started once the loop has nothing else queued from before."""
    for _ in range(3):
        await asyncio.sleep(0)
    turns = _LoopTurns()
    await asyncio.sleep(0)  # its first tick has run
    return turns


class Echo(Actor[int]):
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, msg: int) -> int:
        self.seen.append(msg)
        return msg * 2


class Relay(Actor[int]):
    def __init__(self, forward: ActorRef[int]) -> None:
        self.forward = forward

    async def handle(self, msg: int) -> None:
        await self.forward.send(msg)


# ------------------------------------------------------------------------ the speed-up


async def test_an_ask_to_an_idle_actor_is_answered_without_a_loop_turn(
    system: ActorSystem,
) -> None:
    ref = await system.spawn(Echo())
    turns = await _settled()
    before = turns.turns
    for i in range(10):
        assert await ref.ask(i) == 2 * i
    assert turns.turns == before  # no ask suspended its asker
    turns.stop()
    assert ref.mailbox.handled == 10


async def test_an_awaited_send_from_outside_runs_an_idle_chain_at_once(
    system: ActorSystem,
) -> None:
    echo = Echo()
    sink = await system.spawn(echo)
    relay = await system.spawn(Relay(sink))
    turns = await _settled()
    before = turns.turns
    await relay.send(7)
    assert echo.seen == [7]  # A ran at the await, and B within A's own send
    assert turns.turns == before
    turns.stop()


async def test_a_burst_of_awaited_sends_still_queues_behind_the_first(
    system: ActorSystem,
) -> None:
    # The first awaited sends of a turn may run the handler at once; the rest of the burst is
    # queued, as before, and handled by the dispatcher in one batch.
    echo = Echo()
    ref = await system.spawn(echo, capacity=100)
    await _settled()
    for i in range(50):
        await ref.send(i)
    # At most INLINE_SENDS_PER_TURN ran inline (fewer when a loaded machine spends the turn's
    # time budget first; the first always does), and all the others wait in the mailbox.
    assert 1 <= len(echo.seen) <= INLINE_SENDS_PER_TURN
    assert len(ref.mailbox) == 50 - len(echo.seen)
    await quiet(system)
    assert echo.seen == list(range(50))


async def test_try_send_never_runs_a_handler(system: ActorSystem) -> None:
    echo = Echo()
    ref = await system.spawn(echo)
    await _settled()
    ref.try_send(1)
    ref.tell(2)
    assert echo.seen == []
    await quiet(system)
    assert echo.seen == [1, 2]


async def test_a_send_not_awaited_yet_is_handled_by_the_next_turn(system: ActorSystem) -> None:
    echo = Echo()
    ref = await system.spawn(echo)
    await _settled()
    pending = ref.send(1)  # accepted at the call: the actor is scheduled
    await quiet(system)
    assert echo.seen == [1]
    await pending  # finds its message handled already: nothing more runs
    assert echo.seen == [1]
    assert ref.mailbox.handled == 1


async def test_an_awaited_send_run_in_a_task_keeps_its_place(system: ActorSystem) -> None:
    echo = Echo()
    ref = await system.spawn(echo)
    await _settled()
    task = asyncio.ensure_future(ref.send(1))
    ref.try_send(2)
    await task
    await quiet(system)
    assert echo.seen == [1, 2]


def test_the_c_build_allows_as_many_inline_sends_per_turn() -> None:
    speedups = pytest.importorskip("mycelium._speedups")
    assert speedups.INLINE_SENDS_PER_TURN == INLINE_SENDS_PER_TURN


# ------------------------------------------------------------ one at a time, in order


class Recorder(Actor[tuple[int, int]]):
    """Records (sender, seq); checks it never runs two handlers at once."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []
        self.busy = False

    async def handle(self, msg: tuple[int, int]) -> int:
        assert not self.busy, "two handlers of one actor ran at once"
        self.busy = True
        try:
            if msg[1] % 3 == 0:
                await asyncio.sleep(0)  # some suspend: parked, then continued in their task
            self.seen.append(msg)
        finally:
            self.busy = False
        return msg[1]


_OPS = st.lists(st.sampled_from(["try_send", "send", "ask", "task_send", "yield"]), max_size=25)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=_OPS, second=_OPS)
def test_per_sender_order_holds_with_queued_and_inline_deliveries_mixed(
    first: list[str], second: list[str]
) -> None:
    async def sender(ref: ActorRef[tuple[int, int]], who: int, ops: list[str]) -> list[int]:
        sent: list[int] = []
        tasks: list[asyncio.Future[Any]] = []
        for seq, op in enumerate(ops):
            msg = (who, seq)
            if op == "yield":
                await asyncio.sleep(0)
                continue
            sent.append(seq)
            if op == "try_send":
                ref.try_send(msg)
            elif op == "send":
                await ref.send(msg)
            elif op == "ask":
                assert await ref.ask(msg) == seq
            else:
                tasks.append(asyncio.ensure_future(ref.send(msg)))
        await asyncio.gather(*tasks)
        return sent

    async def main() -> None:
        async with ActorSystem() as system:
            actor = Recorder()
            ref = await system.spawn(actor, capacity=1000)
            sent = await asyncio.gather(sender(ref, 0, first), sender(ref, 1, second))
            await quiet(system)
            for who in (0, 1):
                assert [seq for w, seq in actor.seen if w == who] == sent[who]
            assert ref.mailbox.handled == len(sent[0]) + len(sent[1])
            assert system.dead_letters.count == 0

    import uvloop  # the suite's loop, for a test that makes its own

    uvloop.run(main())


async def test_messages_sent_while_an_inline_handler_runs_queue_behind_it(
    system: ActorSystem,
) -> None:
    class SendsToItself(Actor[int]):
        def __init__(self) -> None:
            self.seen: list[int] = []

        async def handle(self, msg: int) -> int:
            self.seen.append(msg)
            if msg == 0:
                self.ref.try_send(1)
                await self.ref.send(2)  # queued: the actor is busy, nothing runs inline
                assert self.seen == [0]
            return msg

    actor = SendsToItself()
    ref = await system.spawn(actor)
    await _settled()
    assert await ref.ask(0) == 0
    assert actor.seen == [0]
    await quiet(system)
    assert actor.seen == [0, 1, 2]


# ----------------------------------------------------------------- cancellation


class Gate(Actor[int]):
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.done: list[int] = []
        self.cancelled = False

    async def handle(self, msg: int) -> int:
        self.entered.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.done.append(msg)
        return msg


async def test_cancelling_the_asker_leaves_a_suspended_inline_handler_running(
    system: ActorSystem,
) -> None:
    actor = Gate()
    ref = await system.spawn(actor)
    await _settled()
    asker = asyncio.ensure_future(ref.ask(1))
    await actor.entered.wait()  # it ran inline in the asker's task, then suspended
    asker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asker
    actor.gate.set()
    assert await ref.ask(2) == 2  # queued behind the first, which goes on to its end
    assert actor.done == [1, 2]
    assert not actor.cancelled
    assert ref.mailbox.handled == 2
    assert system.dead_letters.count == 0


async def test_an_ask_timeout_covers_a_handler_that_suspended_inline(
    system: ActorSystem,
) -> None:
    actor = Gate()
    ref = await system.spawn(actor)
    await _settled()
    with pytest.raises(TimeoutError):
        await ref.ask(1, timeout=0.01)
    assert not actor.cancelled  # the handler goes on
    actor.gate.set()
    await quiet(system)
    assert actor.done == [1]


# -------------------------------------------------------------- context and task


class Probe(Actor[str]):
    def __init__(self) -> None:
        self.saw: list[str] = []
        self.tasks: list[asyncio.Task[Any] | None] = []

    async def handle(self, msg: str) -> str:
        self.saw.append(VAR.get())
        self.tasks.append(asyncio.current_task())
        VAR.set(msg)
        if msg == "suspend":
            await asyncio.sleep(0)
            self.tasks.append(asyncio.current_task())
            self.saw.append(VAR.get())
        return VAR.get()


async def test_an_inline_handler_runs_in_a_context_of_its_own(system: ActorSystem) -> None:
    actor = Probe()
    ref = await system.spawn(actor)
    await _settled()
    VAR.set("asker")
    assert await ref.ask("first") == "first"
    assert await ref.ask("second") == "second"
    await ref.send("sent")
    await quiet(system)
    assert VAR.get() == "asker"  # nothing the handlers set leaks back
    assert actor.saw == ["unset", "unset", "unset"]  # nor the asker's value in


async def test_an_inline_handler_runs_in_a_task_that_is_not_the_askers(
    system: ActorSystem,
) -> None:
    actor = Probe()
    ref = await system.spawn(actor)
    await _settled()
    me = asyncio.current_task()
    assert await ref.ask("a") == "a"
    assert await ref.ask("suspend") == "suspend"
    first, second, resumed = actor.tasks
    assert first is not None
    assert first is not me
    assert second is not None
    assert second is not me
    assert resumed is second  # a handler that suspends continues in the task it saw
    assert actor.saw == ["unset", "unset", "suspend"]
    assert asyncio.current_task() is me


async def test_timeout_and_taskgroup_inside_an_inline_handler_behave_as_in_a_task(
    system: ActorSystem,
) -> None:
    class UsesAsyncio(Actor[int]):
        async def handle(self, msg: int) -> str:
            try:
                async with asyncio.timeout(0.01):
                    await asyncio.Event().wait()
            except TimeoutError:
                pass
            async with asyncio.TaskGroup() as group:
                child = group.create_task(asyncio.sleep(0, "child"))
            return child.result()

    ref = await system.spawn(UsesAsyncio())
    await _settled()
    me = asyncio.current_task()
    assert me is not None
    assert await ref.ask(1) == "child"
    assert me.cancelling() == 0  # the handler's timeout cancelled its own task only
    assert await ref.ask(2) == "child"


async def test_a_handler_that_keeps_its_task_gets_it_for_itself(system: ActorSystem) -> None:
    kept: list[asyncio.Task[Any] | None] = []

    class Keeps(Actor[int]):
        async def handle(self, msg: int) -> None:
            kept.append(asyncio.current_task())

    ref = await system.spawn(Keeps())
    await _settled()
    await ref.ask(1)
    await ref.ask(2)
    assert kept[0] is not kept[1]


# ------------------------------------------------------------------- failures


async def test_an_inline_ask_to_a_raising_handler_is_accounted_as_under_a_turn(
    system: ActorSystem,
) -> None:
    ref = await system.spawn(Fails())
    await _settled()
    assert await ref.ask(1) == 1
    with pytest.raises(ValueError, match="boom -1"):
        await ref.ask(-1)
    assert not ref.is_alive
    [letter] = system.dead_letters.recent
    assert letter.message == -1
    assert letter.reason == "handler raised ValueError: boom -1"
    assert isinstance(letter.error, ValueError)
    assert ref.mailbox.handled == 1
    with pytest.raises(ActorStopped):
        await ref.ask(2)


async def test_an_inline_send_to_a_raising_handler_does_not_raise_at_the_sender(
    system: ActorSystem,
) -> None:
    actor = Fails()
    ref = await system.spawn(actor, supervision=Supervision.resume())
    await _settled()
    await ref.send(-1)  # ran at the await; the failure is the actor's, not the sender's
    assert actor.seen == [-1]
    [letter] = system.dead_letters.recent
    assert letter.reason == "handler raised ValueError: boom -1"
    assert ref.is_alive  # resumed
    assert await ref.ask(3) == 3
    assert ref.mailbox.handled == 1


async def test_a_raising_inline_handler_under_restart_is_restarted(system: ActorSystem) -> None:
    made: list[Fails] = []

    def factory() -> Fails:
        made.append(Fails())
        return made[-1]

    ref = await system.spawn(factory, supervision=Supervision.restart())
    await _settled()
    with pytest.raises(ValueError, match="boom -2"):
        await ref.ask(-2)
    assert await ref.ask(5) == 5
    assert len(made) == 2
    assert made[1].seen == [5]
    assert system.dead_letters.count == 1


async def test_an_inline_handler_may_not_ask_its_own_actor(system: ActorSystem) -> None:
    class AsksItself(Actor[int]):
        async def handle(self, msg: int) -> str:
            try:
                await self.ref.ask(msg)
            except WouldDeadlock:
                return "refused"
            return "asked"

    ref = await system.spawn(AsksItself())
    await _settled()
    assert await ref.ask(1) == "refused"


# ---------------------------------------------------------------------- nesting


class Chain(Actor[int]):
    """Asks the next actor of the chain; the last one answers with the depth it saw."""

    def __init__(self, depths: list[int], dispatcher: Dispatcher) -> None:
        self.next: ActorRef[int, int] | None = None
        self.depths = depths
        self.dispatcher = dispatcher

    async def handle(self, msg: int) -> int:
        self.depths.append(self.dispatcher._inline_depth)  # pyright: ignore[reportPrivateUsage]
        if self.next is None:
            return msg
        return await self.next.ask(msg + 1)


async def test_nested_inline_runs_stop_at_the_depth_cap_and_still_answer(
    system: ActorSystem,
) -> None:
    depths: list[int] = []
    dispatcher = system._dispatcher  # pyright: ignore[reportPrivateUsage]
    assert dispatcher is not None
    actors = [Chain(depths, dispatcher) for _ in range(MAX_INLINE_DEPTH + 4)]
    refs: list[ActorRef[int, int]] = [await system.spawn(a) for a in actors]
    for actor, nxt in zip(actors, refs[1:], strict=False):
        actor.next = nxt
    await _settled()
    assert await refs[0].ask(0) == len(actors) - 1
    assert max(depths) == MAX_INLINE_DEPTH  # never deeper
    assert depths[:MAX_INLINE_DEPTH] == list(range(1, MAX_INLINE_DEPTH + 1))
    assert all(ref.mailbox.handled == 1 for ref in refs)


# ------------------------------------------------------------------- stopping


async def test_a_forced_stop_dead_letters_a_suspended_inline_handler(
    system: ActorSystem,
) -> None:
    actor = Gate()
    ref = await system.spawn(actor)
    await _settled()
    asker = asyncio.ensure_future(ref.ask(1))
    await actor.entered.wait()
    ref.try_send(2)  # queued behind the suspended handler
    await system.stop(ref, timeout=0)
    with pytest.raises(ActorStopped):
        await asker
    reasons = sorted((d.message, d.reason) for d in system.dead_letters.recent)
    assert reasons == [
        (1, "handler cancelled: the actor did not stop in time"),
        (2, "the actor did not stop in time"),
    ]
    assert ref.mailbox.handled == 0


async def test_a_graceful_stop_waits_for_a_suspended_inline_handler(system: ActorSystem) -> None:
    actor = Gate()
    ref = await system.spawn(actor)
    await _settled()
    asker = asyncio.ensure_future(ref.ask(1))
    await actor.entered.wait()
    ref.try_send(2)
    stopping = asyncio.ensure_future(system.stop(ref))
    await asyncio.sleep(0)
    actor.gate.set()
    assert await asker == 1
    await stopping
    assert actor.done == [1, 2]
    assert system.dead_letters.count == 0


async def test_a_handler_that_stops_its_actor_inline_finishes_the_stop(
    system: ActorSystem,
) -> None:
    stopped = asyncio.Event()

    class StopsItself(Actor[int]):
        async def handle(self, msg: int) -> int:
            await self.system.stop(self.ref)  # returns at once: the stop completes after
            return msg

        async def on_stop(self) -> None:
            stopped.set()

    ref = await system.spawn(StopsItself())
    await _settled()
    assert await ref.ask(4) == 4
    await stopped.wait()
    assert not ref.is_alive
