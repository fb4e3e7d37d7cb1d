"""Fault tolerance figures: what supervision costs, a restart, and how late a timer fires.

* ``SupervisedRuntime``: our runtime with every actor spawned from a factory under
  ``Supervision.restart(...)``. ``send_ns`` and ``throughput_msgs_per_s`` run on it as the
  extra design ``supervised``, taking turns with the others in the same run: supervision must
  not cost the hot path (nothing of it runs until a handler fails).
* ``restart_us``: a handler raises; the time until the next message is handled by the new
  instance (ours: ``Supervision.restart()``; naive: the actor's task catches the exception and
  builds a new actor from the factory; floor: ``except`` and call the factory, in a plain loop).
* ``timer_fire_jitter_us``: a 1 ms periodic timer; how long after each deadline its message is
  handled (ours: ``self.timers.send_every``; naive: a task sleeping until the next deadline
  then putting the tick in the actor's queue; floor: ``loop.call_at`` chained on the same
  grid, the callback itself). uvloop's timers have a resolution of 1 ms, which bounds all three.
"""

from __future__ import annotations

import asyncio
from time import monotonic, perf_counter_ns
from typing import Any, Final, TypeVar, final

import msgspec

from mycelium import Actor, ActorRef, ActorSystem, Supervision

from .naive import NaiveSystem
from .runtimes import Asked, Handle, Runtime
from .workload import Tick

__all__ = [
    "SupervisedRuntime",
    "floor_restart_us",
    "floor_timer_jitter_us",
    "naive_restart_us",
    "naive_timer_jitter_us",
    "ours_restart_us",
    "ours_timer_jitter_us",
]

M = TypeVar("M")

BOOM: Final = Tick(-1)
PING: Final = Tick(0)
TIMER_INTERVAL_S: Final = 0.001
_WARMUP_TICKS: Final = 10


@final
class SupervisedRuntime(Runtime):
    """Our runtime, each actor spawned from a factory under ``Supervision.restart()``."""

    name = "supervised"

    __slots__ = ("system",)

    def __init__(self) -> None:
        self.system = ActorSystem("bench-supervised")

    async def spawn(self, actor: Actor[M], *, capacity: int) -> Handle[M]:
        ref = await self.system.spawn(
            lambda: actor, capacity=capacity, supervision=Supervision.restart()
        )
        return Handle(ref.try_send, ref.send, ref.ask)

    async def spawn_idle(self, actor: Actor[Any]) -> None:
        await self.system.spawn(lambda: actor, supervision=Supervision.restart())

    async def spawn_ref(self, actor: Actor[M]) -> ActorRef[M]:
        return await self.system.spawn(lambda: actor, supervision=Supervision.restart())

    async def stop(self, ref: Asked[Any]) -> None:
        if not isinstance(ref, ActorRef):
            raise TypeError(f"not a ref of this runtime: {ref!r}")
        await self.system.stop(ref)  # pyright: ignore[reportUnknownArgumentType]

    async def close(self) -> None:
        await self.system.shutdown()


# ------------------------------------------------------------------------------ restarts


@final
class _RestartProbe:
    """Stamps the failure; the new instance's first message records the restart, in µs."""

    __slots__ = ("failed_ns", "samples", "waiter")

    def __init__(self) -> None:
        self.failed_ns = 0
        self.samples: list[float] = []
        self.waiter: asyncio.Future[None] | None = None

    def failing(self) -> None:
        self.failed_ns = perf_counter_ns()

    def handled(self) -> None:
        self.samples.append((perf_counter_ns() - self.failed_ns) / 1000)
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Failure(Exception):
    pass


@final
class Crashy(Actor[Tick]):
    """Raises on ``BOOM``; records a restart on the first message after one."""

    __slots__ = ("probe",)

    def __init__(self, probe: _RestartProbe) -> None:
        self.probe = probe

    async def handle(self, msg: Tick) -> None:
        if msg.seq < 0:
            self.probe.failing()
            raise _Failure("on purpose")
        self.probe.handled()

    def on_message(self, msg: Tick) -> None:
        """The floor's twin of ``handle``."""
        if msg.seq < 0:
            self.probe.failing()
            raise _Failure("on purpose")
        self.probe.handled()


async def _restarts(send: Any, probe: _RestartProbe, restarts: int) -> list[float]:
    loop = asyncio.get_running_loop()
    for _ in range(restarts):
        waiter: asyncio.Future[None] = loop.create_future()
        probe.waiter = waiter
        send(BOOM)
        send(PING)
        await waiter
    return probe.samples


async def ours_restart_us(restarts: int) -> list[float]:
    """``restarts`` samples of fail -> next message handled by the new instance, µs."""
    import logging  # noqa: PLC0415 - the failures are on purpose: keep them out of the log

    logger = logging.getLogger("mycelium")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    probe = _RestartProbe()
    try:
        async with ActorSystem("bench-restart") as system:
            supervision = Supervision.restart(max_restarts=restarts + 1, within=3600.0)
            ref = await system.spawn(lambda: Crashy(probe), supervision=supervision)
            return await _restarts(ref.try_send, probe, restarts)
    finally:
        logger.setLevel(level)


async def naive_restart_us(restarts: int) -> list[float]:
    """The naive design with a hand-written restart: its task catches the failure, runs the
    old actor's ``on_stop``, builds a new one and its ``on_start``, and goes on with the
    queue."""
    probe = _RestartProbe()
    queue: asyncio.Queue[Tick] = asyncio.Queue(1000)

    async def run() -> None:
        actor = Crashy(probe)
        await actor.on_start()
        while True:
            msg = await queue.get()
            try:
                await actor.handle(msg)
            except _Failure:
                await actor.on_stop()
                actor = Crashy(probe)
                await actor.on_start()

    task = asyncio.get_running_loop().create_task(run())
    try:
        return await _restarts(queue.put_nowait, probe, restarts)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def floor_restart_us(restarts: int) -> list[float]:
    """The floor: a plain loop that catches the failure and calls the factory."""
    probe = _RestartProbe()
    actor = Crashy(probe)
    for _ in range(restarts):
        try:
            actor.on_message(BOOM)
        except _Failure:
            actor = Crashy(probe)
        actor.on_message(PING)
    return probe.samples


# ------------------------------------------------------------------------------ timers


@final
class _Grid:
    """Records how far from its deadline (the loop's clock, which ``time.monotonic`` reads
    too) each tick is handled, µs; ``ticks`` of them."""

    __slots__ = ("interval", "samples", "skip", "ticks", "waiter")

    def __init__(self, ticks: int, waiter: asyncio.Future[None]) -> None:
        self.interval = TIMER_INTERVAL_S
        self.samples: list[float] = []
        self.ticks = ticks
        self.waiter = waiter
        # The first ticks are not kept: the first deadline is set from the loop's clock as of
        # the start of its turn, which may lag, and the grid catches up over the next ticks.
        self.skip = _WARMUP_TICKS

    def tick(self, deadline: float) -> bool:
        """Record the tick due at ``deadline``; True once enough were seen."""
        if self.skip:
            self.skip -= 1
            return False
        late = monotonic() - deadline
        self.samples.append(abs(late) * 1e6)  # early (the loop's ms rounding) counts too
        if len(self.samples) >= self.ticks and not self.waiter.done():
            self.waiter.set_result(None)
            return True
        return False


@final
class Due(msgspec.Struct, frozen=True, gc=False):
    """A naive timer's tick, carrying its deadline (the loop's clock)."""

    deadline: float


@final
class Ticker(Actor[Tick]):
    """Starts its own periodic timer on ``PING``; records each tick on its grid."""

    __slots__ = ("grid",)

    def __init__(self, grid: _Grid) -> None:
        self.grid = grid

    async def handle(self, msg: Tick) -> None:
        grid = self.grid
        timers = self.timers
        if msg.seq == 0:
            timers.send_every(grid.interval, Tick(1), key="tick")
            return
        due = timers.next_deadline("tick")  # the one after this tick's
        if due is not None and grid.tick(due - grid.interval):
            timers.cancel("tick")


async def ours_timer_jitter_us(ticks: int) -> list[float]:
    """``ticks`` samples of how late a ``send_every(1 ms)`` message is handled, µs."""
    loop = asyncio.get_running_loop()
    grid = _Grid(ticks, loop.create_future())
    async with ActorSystem("bench-timers") as system:
        ref = await system.spawn(Ticker(grid))
        ref.try_send(PING)
        await grid.waiter
    return grid.samples


async def naive_timer_jitter_us(ticks: int) -> list[float]:
    """The naive design: a task sleeps until each deadline and puts a tick in the queue."""
    loop = asyncio.get_running_loop()
    grid = _Grid(ticks, loop.create_future())

    class Sink(Actor[Due]):
        async def handle(self, msg: Due) -> None:
            grid.tick(msg.deadline)

    system = NaiveSystem()
    ref = await system.spawn(Sink())

    async def clock() -> None:
        deadline = loop.time()
        while not grid.waiter.done():
            deadline += grid.interval
            await asyncio.sleep(max(deadline - loop.time(), 0))
            ref.try_send(Due(deadline))

    task = loop.create_task(clock())
    try:
        await grid.waiter
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await system.shutdown()
    return grid.samples


async def floor_timer_jitter_us(ticks: int) -> list[float]:
    """The floor: ``loop.call_at`` on the same grid; the callback records the tick itself."""
    loop = asyncio.get_running_loop()
    grid = _Grid(ticks, loop.create_future())

    def fire(deadline: float) -> None:
        if not grid.tick(deadline):
            loop.call_at(deadline + grid.interval, fire, deadline + grid.interval)

    first = loop.time() + grid.interval
    loop.call_at(first, fire, first)
    await grid.waiter
    return grid.samples
