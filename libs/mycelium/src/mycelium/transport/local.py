"""``LocalTransport``: an in-memory, bounded, ordered transport (seed MVP-005).

The in-process counterpart of the seed's ``tokio::mpsc`` channel: envelopes are moved by
reference, never copied or serialized. Loop-affine: use it from one event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import final

from mycelium.errors import TransportClosed
from mycelium.message import ActorMessage

__all__ = ["LocalTransport"]


@final
class LocalTransport:
    """A bounded FIFO of ``ActorMessage`` between coroutines of one event loop.

    Ordering: messages are received in the order ``send`` accepted them.
    Backpressure: ``send`` waits while ``capacity`` messages are queued; ``send_nowait`` raises
    ``asyncio.QueueFull`` instead.
    Closing: after ``close()``, ``send`` raises ``TransportClosed`` (also senders that were
    waiting for room); ``recv`` returns the queued messages, then ``None``.
    Cancellation: a cancelled ``send`` has not enqueued its message; a cancelled ``recv`` has
    not taken one.
    """

    __slots__ = ("_closed", "_getters", "_putters", "_queue", "capacity", "name")

    def __init__(self, capacity: int = 1000, *, name: str = "local") -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.name = name
        self._queue: deque[ActorMessage] = deque()
        self._closed = False
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._queue)

    def send_nowait(self, msg: ActorMessage) -> None:
        """Enqueue ``msg`` without waiting.

        Raises:
            TransportClosed: the transport is closed.
            asyncio.QueueFull: ``capacity`` messages are queued.
            TypeError: ``msg`` is not an ``ActorMessage``.
        """
        if self._closed:
            raise TransportClosed(self._describe(), "closed by this side")
        if not isinstance(msg, ActorMessage):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"a transport carries ActorMessage, got {type(msg).__name__}")
        if len(self._queue) >= self.capacity:
            raise asyncio.QueueFull
        self._queue.append(msg)
        _wake_first(self._getters)

    async def send(self, msg: ActorMessage, /) -> None:
        """Enqueue ``msg``, waiting for room. Raises ``TransportClosed`` once closed."""
        while not self._closed and len(self._queue) >= self.capacity:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._putters:
                    self._putters.remove(waiter)
                elif not self._closed:  # we were woken for room we will not use: pass it on
                    _wake_first(self._putters)
                raise
        self.send_nowait(msg)

    async def recv(self) -> ActorMessage | None:
        """The next message, waiting for one; ``None`` once closed and drained."""
        while not self._queue:
            if self._closed:
                return None
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._getters:
                    self._getters.remove(waiter)
                elif self._queue:
                    _wake_first(self._getters)
                raise
        msg = self._queue.popleft()
        _wake_first(self._putters)
        return msg

    def close(self) -> None:
        """Refuse further sends and wake every waiter. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for waiters in (self._getters, self._putters):
            while waiters:
                _wake_first(waiters)

    def _describe(self) -> str:
        return f"LocalTransport({self.name!r})"

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{self._describe()} {state} {len(self._queue)}/{self.capacity}>"


def _wake_first(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return
