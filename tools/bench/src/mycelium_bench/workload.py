"""The messages and the actors every design runs: the same objects, the same handler bodies.

Our runtime and the naive baseline drive the very same ``Actor`` subclasses through their
``async def handle``; the floor calls ``on_message``, the synchronous twin of each handler, with
the same body minus the ``await``. Messages are built once per run (``ticks``) and reused by
every design and every repeat, so no design pays for building them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Final, final

import msgspec

from mycelium import Actor

__all__ = ["Counter", "Latch", "Probe", "Relay", "Stamp", "Starter", "Tick", "ticks"]


@final
class Tick(msgspec.Struct, frozen=True, gc=False):
    """The benchmark message: a frozen Struct carrying its sequence number."""

    seq: int


def ticks(count: int) -> list[Tick]:
    """``count`` distinct messages, ``Tick(0)`` to ``Tick(count - 1)``."""
    return [Tick(i) for i in range(count)]


@final
class Latch:
    """Counts arrivals; at the last one, records the time and wakes whoever waits.

    ``finished_ns`` is ``perf_counter_ns()`` at the arrival that completed the latch: for a
    throughput figure, the moment the last message was handled.
    """

    __slots__ = ("_waiter", "finished_ns", "remaining")

    def __init__(self, parties: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.remaining = parties
        self.finished_ns = 0
        self._waiter: asyncio.Future[None] | None = loop.create_future() if loop else None

    def arrive(self) -> None:
        """One party is done; the last one stamps ``finished_ns`` and releases the waiter."""
        self.remaining -= 1
        if self.remaining == 0:
            self.finished_ns = perf_counter_ns()
            if self._waiter is not None:
                self._waiter.set_result(None)

    async def wait(self) -> int:
        """Wait until every party has arrived; return ``finished_ns``."""
        if self._waiter is not None:
            await self._waiter
        return self.finished_ns


_NEVER: Final = -1


@final
class Counter(Actor[Tick]):
    """The trivial handler: counts messages, and tells its latch when it has seen ``target``.

    ``handle`` answers an ``ask`` with the running count.
    """

    __slots__ = ("count", "latch", "target")

    def __init__(self) -> None:
        self.count = 0
        self.target = _NEVER
        self.latch = Latch(1)  # replaced by expect(); never reached before that

    def expect(self, messages: int, latch: Latch) -> None:
        """Arrive at ``latch`` once ``messages`` more messages have been handled."""
        self.target = self.count + messages
        self.latch = latch

    async def handle(self, msg: Tick) -> int:
        count = self.count + 1
        self.count = count
        if count == self.target:
            self.latch.arrive()
        return count

    def on_message(self, msg: Tick) -> int:
        """The floor's twin of ``handle``: the same body, called as a plain method."""
        count = self.count + 1
        self.count = count
        if count == self.target:
            self.latch.arrive()
        return count


@final
class Probe:
    """One latency sample at a time: the sender stamps ``sent_ns``, the sink records.

    ``samples`` holds ``perf_counter_ns()`` at handling minus ``sent_ns``, in ns.
    """

    __slots__ = ("samples", "sent_ns", "waiter")

    def __init__(self) -> None:
        self.sent_ns = 0
        self.samples: list[int] = []
        self.waiter: asyncio.Future[None] | None = None

    def record(self) -> None:
        """Record one sample now and wake the sender if it waits."""
        self.samples.append(perf_counter_ns() - self.sent_ns)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.set_result(None)


def _not_wired(msg: Tick) -> object:
    raise RuntimeError("Relay.call was not wired to the next actor")


async def _not_wired_async(msg: Tick) -> None:
    raise RuntimeError("Relay.forward was not wired to the next actor")


@final
class Relay(Actor[Tick]):
    """The first actor of a chain: forwards each message to the next actor.

    ``forward`` is the next actor's awaitable send (``ActorRef.send`` for our runtime,
    ``asyncio.Queue.put`` for the naive one); ``call`` is the floor's plain method call.
    """

    __slots__ = ("call", "forward")

    def __init__(
        self,
        forward: Callable[[Tick], Awaitable[None]] = _not_wired_async,
        call: Callable[[Tick], object] = _not_wired,
    ) -> None:
        self.forward = forward
        self.call = call

    async def handle(self, msg: Tick) -> None:
        await self.forward(msg)

    def on_message(self, msg: Tick) -> None:
        """The floor's twin of ``handle``."""
        self.call(msg)


@final
class Stamp(Actor[Tick]):
    """The last actor of a chain: records one latency sample per message on its probe."""

    __slots__ = ("probe",)

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    async def handle(self, msg: Tick) -> None:
        self.probe.record()

    def on_message(self, msg: Tick) -> None:
        """The floor's twin of ``handle``."""
        self.probe.record()


@final
class Starter(Actor[Tick]):
    """The actor of ``spawn_us``: ``on_start`` does a little real work (it sets a field the
    handler reads), and ``handle`` answers with it.

    ``begin`` and ``on_message`` are the floor's twins of ``on_start`` and ``handle``.
    """

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False

    async def on_start(self) -> None:
        self.started = True

    async def handle(self, msg: Tick) -> bool:
        return self.started

    def begin(self) -> None:
        """The floor's twin of ``on_start``."""
        self.started = True

    def on_message(self, msg: Tick) -> bool:
        """The floor's twin of ``handle``."""
        return self.started
