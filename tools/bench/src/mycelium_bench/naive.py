"""The naive baseline: the seed's literal design, one task and one bounded queue per actor.

Each actor gets an ``asyncio.Queue(maxsize=capacity)`` and an ``asyncio.Task`` that loops
``msg = await queue.get(); await actor.handle(msg)``. ``send`` is ``queue.put`` itself (awaited:
it waits while the queue is full), ``try_send`` is ``queue.put_nowait``; an ask puts an envelope
carrying a future and awaits it, with the same default timeout as Mycelium's ``ask``. It runs
the very same ``Actor`` objects and handlers as our runtime. It is a fair baseline, not a straw
man: the hot calls are the queue's own bound methods, with no wrapper in between.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, Final, Generic, TypeVar, final

from mycelium import Actor

from .runtimes import Asked, Handle, Runtime

__all__ = ["NaiveRef", "NaiveRuntime", "NaiveSystem"]

M = TypeVar("M")

DEFAULT_CAPACITY: Final = 1000


@final
class _Ask:
    __slots__ = ("msg", "reply")

    def __init__(self, msg: Any, reply: asyncio.Future[Any]) -> None:
        self.msg: Any = msg  # an M of the actor that receives the ask
        self.reply = reply


_STOP: Final = object()


def _expire(reply: asyncio.Future[Any], timeout: float) -> None:
    if not reply.done():
        reply.set_exception(TimeoutError(f"no answer within {timeout} s"))


@final
class NaiveRef(Generic[M]):
    """One actor of the naive design: its queue, its task, and the queue's bound methods."""

    __slots__ = ("_loop", "_queue", "actor", "send", "task", "try_send")

    def __init__(self, actor: Actor[M], capacity: int, loop: asyncio.AbstractEventLoop) -> None:
        queue: asyncio.Queue[object] = asyncio.Queue(capacity)
        self._queue = queue
        self._loop = loop
        self.actor = actor
        self.send: Callable[[M], Awaitable[None]] = queue.put
        self.try_send: Callable[[M], None] = queue.put_nowait
        self.task = loop.create_task(self._run())

    async def ask(self, msg: M, *, timeout: float | None = 5.0) -> Any:
        """Put ``msg`` with a reply future and wait for the handler's return value."""
        loop = self._loop
        reply: asyncio.Future[Any] = loop.create_future()
        await self._queue.put(_Ask(msg, reply))
        if timeout is None:
            return await reply
        expiry = loop.call_later(timeout, _expire, reply, timeout)
        try:
            return await reply
        finally:
            expiry.cancel()

    async def stop(self) -> None:
        """Let the actor handle what it holds, run ``on_stop``, and end its task."""
        await self._queue.put(_STOP)
        await self.task

    async def _run(self) -> None:
        get = self._queue.get
        handle = self.actor.handle
        while True:
            item = await get()
            if type(item) is _Ask:
                reply = item.reply
                try:
                    result = await handle(item.msg)
                except BaseException as exc:
                    if not reply.done():
                        reply.set_exception(exc)
                    raise
                if not reply.done():
                    reply.set_result(result)
            elif item is _STOP:
                break
            else:
                # Anything that is neither an ask nor the stop mark is an M.
                await handle(item)  # pyright: ignore[reportArgumentType]
        await self.actor.on_stop()


@final
class NaiveSystem:
    """Spawns naive actors and keeps them in a registry, as the seed's system does."""

    __slots__ = ("_ids", "_refs")

    def __init__(self) -> None:
        self._refs: dict[int, NaiveRef[Any]] = {}
        self._ids = itertools.count(1)

    async def spawn(self, actor: Actor[M], *, capacity: int = DEFAULT_CAPACITY) -> NaiveRef[M]:
        """Run ``on_start``, then give the actor its queue and its task."""
        await actor.on_start()
        ref = NaiveRef(actor, capacity, asyncio.get_running_loop())
        self._refs[next(self._ids)] = ref
        return ref

    async def stop(self, ref: NaiveRef[Any]) -> None:
        """Stop one actor (it handles what it holds first) and forget it."""
        await ref.stop()
        for key, known in self._refs.items():
            if known is ref:
                del self._refs[key]
                break

    async def shutdown(self) -> None:
        """Stop every actor (each handles what it holds first)."""
        refs = list(self._refs.values())
        self._refs.clear()
        await asyncio.gather(*(ref.stop() for ref in refs))


@final
class NaiveRuntime(Runtime):
    """The naive design behind the figures' ``Runtime`` interface."""

    name = "naive"

    __slots__ = ("system",)

    def __init__(self) -> None:
        self.system = NaiveSystem()

    async def spawn(self, actor: Actor[M], *, capacity: int) -> Handle[M]:
        ref = await self.system.spawn(actor, capacity=capacity)
        return Handle(ref.try_send, ref.send, ref.ask)

    async def spawn_idle(self, actor: Actor[Any]) -> None:
        await self.system.spawn(actor)

    async def spawn_ref(self, actor: Actor[M]) -> NaiveRef[M]:
        return await self.system.spawn(actor)

    async def stop(self, ref: Asked[Any]) -> None:
        if not isinstance(ref, NaiveRef):
            raise TypeError(f"not a ref of this runtime: {ref!r}")
        await self.system.stop(ref)  # pyright: ignore[reportUnknownArgumentType]

    async def close(self) -> None:
        await self.system.shutdown()
