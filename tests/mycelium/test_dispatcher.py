"""``dispatcher.py``: one message at a time per actor, fairness between actors, same-turn hops."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from mycelium import Actor, ActorRef, ActorSystem
from mycelium.local_ref import LocalActorRef


class Logger(Actor[int]):
    """Appends (name, msg) to a shared log."""

    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        self.name = name
        self.log = log

    async def handle(self, msg: int) -> int:
        self.log.append((self.name, msg))
        return msg


def _longest_run(names: list[str]) -> int:
    return max(len(list(group)) for _, group in itertools.groupby(names))


async def test_two_busy_actors_interleave_with_a_small_throughput() -> None:
    log: list[tuple[str, int]] = []
    async with ActorSystem(throughput=2) as system:
        a = await system.spawn(Logger("a", log))
        b = await system.spawn(Logger("b", log))
        for i in range(20):
            a.tell(i)
            b.tell(i)
        await asyncio.gather(a.ask(20), b.ask(20))
    names = [name for name, _ in log]
    assert _longest_run(names) <= 2  # neither waits for the other to finish its backlog
    assert [msg for name, msg in log if name == "a"] == list(range(21))
    assert [msg for name, msg in log if name == "b"] == list(range(21))


async def test_a_large_throughput_handles_a_backlog_in_one_run() -> None:
    log: list[tuple[str, int]] = []
    async with ActorSystem(throughput=100) as system:
        a = await system.spawn(Logger("a", log))
        b = await system.spawn(Logger("b", log))
        for i in range(20):
            a.tell(i)
            b.tell(i)
        await asyncio.gather(a.ask(20), b.ask(20))
    names = [name for name, _ in log]
    assert names[:20] == ["a"] * 20


class SelfTeller(Actor[int]):
    """Keeps telling itself until ``stop`` is set; counts its rounds."""

    def __init__(self) -> None:
        self.stop = False
        self.rounds = 0
        self.done = asyncio.Event()

    async def handle(self, msg: int) -> None:
        self.rounds += 1
        if self.stop:
            self.done.set()
        else:
            self.ref.tell(msg + 1)


async def test_a_busy_actor_does_not_starve_other_actors() -> None:
    log: list[tuple[str, int]] = []
    async with ActorSystem(throughput=2) as system:
        busy = SelfTeller()
        busy_ref = await system.spawn(busy)
        other = await system.spawn(Logger("other", log))
        busy_ref.tell(0)
        other.tell(1)
        assert await other.ask(2) == 2
        busy.stop = True
        await busy.done.wait()
    assert log == [("other", 1), ("other", 2)]


async def test_a_busy_actor_does_not_starve_the_event_loop(system: ActorSystem) -> None:
    busy = SelfTeller()
    ref = await system.spawn(busy)
    ref.tell(0)

    def stop() -> None:
        busy.stop = True

    asyncio.get_running_loop().call_soon(stop)
    await busy.done.wait()
    assert busy.rounds >= 1


class Relay(Actor[int]):
    """Logs its name and tells ``next`` (if any); sets ``done`` when it is the last."""

    def __init__(self, name: str, log: list[str], next_ref: ActorRef[int] | None) -> None:
        self.name = name
        self.log = log
        self.next = next_ref
        self.done = asyncio.Event()

    async def handle(self, msg: int) -> None:
        self.log.append(self.name)
        if self.next is None:
            self.done.set()
        else:
            self.next.tell(msg)


async def test_an_actor_to_actor_hop_happens_in_the_same_loop_turn(system: ActorSystem) -> None:
    log: list[str] = []
    c_actor = Relay("C", log, None)
    c = await system.spawn(c_actor)
    b = await system.spawn(Relay("B", log, c))
    a = await system.spawn(Relay("A", log, b))
    a.tell(1)
    asyncio.get_running_loop().call_soon(log.append, "callback")
    await c_actor.done.wait()
    assert log == ["A", "B", "C", "callback"]


class Player(Actor[int]):
    """Ping-pong: sends n + 1 to the partner until ``rounds``; then sets ``done``."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.partner: ActorRef[int] | None = None
        self.seen: list[int] = []
        self.done = asyncio.Event()

    async def handle(self, msg: int) -> None:
        self.seen.append(msg)
        if msg >= self.rounds:
            self.done.set()
            return
        assert self.partner is not None
        self.partner.tell(msg + 1)


@pytest.mark.parametrize("capacity", [1, 1000])
async def test_actors_telling_each_other_in_a_cycle_do_not_deadlock(
    system: ActorSystem, capacity: int
) -> None:
    rounds = 1000
    ping, pong = Player(rounds), Player(rounds)
    ping_ref = await system.spawn(ping, capacity=capacity)
    pong_ref = await system.spawn(pong, capacity=capacity)
    ping.partner, pong.partner = pong_ref, ping_ref
    ping_ref.tell(0)
    await ping.done.wait()  # ping sees the even numbers, so it sees `rounds` last
    assert ping.seen == list(range(0, rounds + 1, 2))
    assert pong.seen == list(range(1, rounds, 2))
    assert ping_ref.is_alive
    assert pong_ref.is_alive


class Ring(Actor[int]):
    """A ring of actors passing a counter by ``send``; the one that sees 0 sets ``done``."""

    def __init__(self) -> None:
        self.next: ActorRef[int] | None = None
        self.done = asyncio.Event()
        self.handled = 0

    async def handle(self, msg: int) -> None:
        self.handled += 1
        if msg == 0:
            self.done.set()
            return
        assert self.next is not None
        await self.next.send(msg - 1)


async def test_a_ring_of_actors_sending_with_backpressure_completes(system: ActorSystem) -> None:
    actors = [Ring() for _ in range(5)]
    refs = [await system.spawn(actor, capacity=1) for actor in actors]
    for actor, next_ref in zip(actors, refs[1:] + refs[:1], strict=True):
        actor.next = next_ref
    refs[0].tell(99)
    await actors[4].done.wait()  # 99 hops: the 100th message (0) lands on the fifth actor
    assert sum(actor.handled for actor in actors) == 100


class TaskProbe(Actor[int]):
    """Records the current task before and after an optional suspension."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[object] | None] = []

    async def handle(self, msg: int) -> int:
        self.tasks.append(asyncio.current_task())
        if msg:
            await asyncio.sleep(0)
            self.tasks.append(asyncio.current_task())
        return msg


async def test_a_handler_continues_in_the_task_it_saw_at_its_first_line(
    system: ActorSystem,
) -> None:
    probe = TaskProbe()
    ref = await system.spawn(probe)
    ref.tell(0)
    ref.tell(1)
    await ref.ask(0)
    first, before, after, last = probe.tasks
    assert isinstance(first, asyncio.Task)
    assert isinstance(last, asyncio.Task)
    assert before is after  # the handler that suspended continues in the task it saw
    # Each of these handlers kept its task (in the list): none shares it with another.
    assert len({id(first), id(before), id(last)}) == 3
    assert first.done()  # like the task of a handler that returned


class Overlap(Actor[tuple[int, int]]):
    """Tracks how many handlers run at once; some suspend, some do not."""

    def __init__(self) -> None:
        self.running = 0
        self.most_running = 0
        self.log: list[tuple[int, int]] = []

    async def handle(self, msg: tuple[int, int]) -> None:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        sender, seq = msg
        if (sender + seq) % 2:
            await asyncio.sleep(0)
        self.log.append(msg)
        self.running -= 1


async def test_several_senders_to_a_suspending_actor_keep_order_without_overlap(
    system: ActorSystem,
) -> None:
    actor = Overlap()
    ref = await system.spawn(actor, capacity=4)

    async def sender(who: int) -> None:
        for seq in range(25):
            await ref.send((who, seq))
            if seq % 3 == who % 3:
                await asyncio.sleep(0)

    await asyncio.gather(*(sender(who) for who in range(4)))
    await system.stop(ref)
    assert actor.most_running == 1
    assert len(actor.log) == 100
    for who in range(4):
        assert [seq for sender, seq in actor.log if sender == who] == list(range(25))


class ParksOnce(Actor[int]):
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.stopped = asyncio.Event()

    async def handle(self, msg: int) -> None:
        self.entered.set()
        await asyncio.Event().wait()  # parks for good

    async def on_stop(self) -> None:
        self.stopped.set()


async def test_a_parked_handler_cancelled_before_its_task_ran_stops_the_actor_cleanly(
    system: ActorSystem,
) -> None:
    actor = ParksOnce()
    ref = await system.spawn(actor)
    assert isinstance(ref, LocalActorRef)
    ref.tell(1)
    ref.tell(2)
    await actor.entered.wait()  # woken before the parked handler's task takes its first step
    task = ref.task
    assert task is not None
    task.cancel()
    await actor.stopped.wait()
    assert not ref.is_alive
    assert ref.task is None
    # The 1 its handler was cancelled in, and the 2 that was still queued.
    assert [letter.message for letter in system.dead_letters.recent] == [1, 2]
    assert ref.dispatcher.idle  # nothing counted as parked any more


class RaisesBaseAfterSuspending(Actor[int]):
    class Boom(BaseException):
        pass

    def __init__(self) -> None:
        self.stopped = asyncio.Event()

    async def handle(self, msg: int) -> None:
        await asyncio.sleep(0)
        raise self.Boom("not an Exception")

    async def on_stop(self) -> None:
        self.stopped.set()


async def test_a_base_exception_after_suspending_stops_the_actor(system: ActorSystem) -> None:
    actor = RaisesBaseAfterSuspending()
    ref = await system.spawn(actor)
    assert isinstance(ref, LocalActorRef)
    ref.tell(1)
    await actor.stopped.wait()
    assert not ref.is_alive
    assert ref.dispatcher.idle


class Slow(Actor[int]):
    """Busy for ``SLOW_S`` seconds per message (no await: the turn cannot yield meanwhile)."""

    def __init__(self, calls: list[int]) -> None:
        self.calls = calls

    async def handle(self, msg: int) -> int:
        self.calls[0] += 1
        end = time.perf_counter() + SLOW_S
        while time.perf_counter() < end:
            pass
        return msg


SLOW_S = 0.0002


@pytest.mark.parametrize("how", ["tell", "ask"])
async def test_a_turn_of_slow_handlers_ends_after_its_budget_plus_one_handler(
    system: ActorSystem, how: str
) -> None:
    # 8 actors with 16 messages each, 200 us a message: a turn has a 250 us budget, so it may
    # run 2 handlers (the second ends past the budget) before the loop turns again. The loop
    # turns are counted by a callback that schedules itself: the count of handlers that ran
    # between two of its calls is what one turn ran.
    calls = [0]
    refs = [await system.spawn(Slow(calls)) for _ in range(8)]
    loop = asyncio.get_running_loop()
    seen_at_turns: list[int] = []
    finished = False

    def probe() -> None:
        seen_at_turns.append(calls[0])
        if not finished:
            loop.call_soon(probe)

    probe()
    if how == "tell":
        for ref in refs:
            for i in range(16):
                ref.tell(i)
        await asyncio.gather(*(ref.ask(-1) for ref in refs))
    else:
        await asyncio.gather(*(ref.ask(i) for ref in refs for i in range(16)))
    finished = True
    per_turn = [b - a for a, b in itertools.pairwise(seen_at_turns)]
    assert sum(per_turn) == calls[0] - seen_at_turns[0]
    assert max(per_turn) <= 2, per_turn
