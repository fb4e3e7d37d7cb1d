"""``LocalTransport``: an in-memory, bounded, ordered transport (seed MVP-005).

The in-process counterpart of the seed's ``tokio::mpsc`` channel: envelopes are moved by
reference, never copied or serialized. Loop-affine: use it from one event loop. It implements
both contracts of ``transport/base.py``: ``Transport`` (envelopes) and ``FrameTransport``
(payload bytes, each carried in an ``ActorMessage.serialized`` envelope of the same queue).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final, final

from mycelium.errors import TransportClosed, TransportFull
from mycelium.message import ActorMessage

from ._waiters import wake_all, wake_first

__all__ = ["DEFAULT_BATCH", "LocalTransport"]

DEFAULT_BATCH: Final = 1024
"""Messages ``recv_batch`` takes at most, by default."""


@final
class LocalTransport:
    """A bounded FIFO of ``ActorMessage`` between coroutines of one event loop.

    Ordering: messages are received in the order ``send`` accepted them.
    Backpressure: ``send`` waits while ``capacity`` messages are queued; ``send_nowait`` raises
    ``TransportFull`` (an ``asyncio.QueueFull``) instead.
    Closing: after ``close()``, ``send`` raises ``TransportClosed`` (also senders that were
    waiting for room); ``recv`` returns the queued messages, then ``None``. Nothing is left to
    wait for: ``wait_closed`` returns once ``close()`` was called.
    Cancellation: a cancelled ``send`` has not enqueued its message; a cancelled ``recv`` has
    not taken one.
    Frames (``send_bytes``, ``send_bytes_nowait``, ``recv_batch``): the same queue, each payload
    in an ``ActorMessage.serialized`` envelope; ``max_frame_size`` is ``None`` (no limit). A
    local envelope received as a frame has no bytes: its payload is ``b""``.
    """

    __slots__ = ("_closed", "_ended", "_getters", "_putters", "_queue", "capacity", "name")

    def __init__(self, capacity: int = 1000, *, name: str = "local") -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.name = name
        self._queue: deque[ActorMessage] = deque()
        self._closed = False
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()
        self._ended: asyncio.Future[None] | None = None  # made by wait_closed, set by close

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def close_reason(self) -> str:
        """``"closed by this side"`` once closed, ``""`` while open."""
        return "closed by this side" if self._closed else ""

    @property
    def max_frame_size(self) -> None:
        """No limit: frames are not serialized."""
        return None

    def __len__(self) -> int:
        return len(self._queue)

    def send_nowait(self, msg: ActorMessage) -> None:
        """Enqueue ``msg`` without waiting.

        Raises:
            TransportClosed: the transport is closed.
            TransportFull: ``capacity`` messages are queued.
            TypeError: ``msg`` is not an ``ActorMessage``.
        """
        if self._closed:
            raise TransportClosed(self._describe(), "closed by this side")
        if not isinstance(msg, ActorMessage):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"a transport carries ActorMessage, got {type(msg).__name__}")
        if len(self._queue) >= self.capacity:
            raise TransportFull(self._describe(), self.capacity)
        self._queue.append(msg)
        wake_first(self._getters)

    def send_bytes_nowait(self, data: bytes, /) -> None:
        """``send_nowait`` of a payload, as a serialized envelope.

        Raises what ``send_nowait`` raises (``TypeError`` if ``data`` is not bytes-like).
        """
        self.send_nowait(ActorMessage.serialized(data))

    async def send(self, msg: ActorMessage, /) -> None:
        """Enqueue ``msg``, waiting for room. Raises ``TransportClosed`` once closed."""
        while not self._closed and len(self._queue) >= self.capacity:
            await _park(self._putters, lambda: not self._closed)
        self.send_nowait(msg)

    async def send_bytes(self, data: bytes, /) -> None:
        """``send`` of a payload, as a serialized envelope (raises what ``send`` raises)."""
        await self.send(ActorMessage.serialized(data))

    async def recv(self) -> ActorMessage | None:
        """The next message, waiting for one; ``None`` once closed and drained."""
        if not self._queue and not await self._wait_for_messages():
            return None
        msg = self._queue.popleft()
        wake_first(self._putters)
        return msg

    async def recv_batch(self, limit: int = DEFAULT_BATCH) -> list[bytes]:
        """The payloads of up to ``limit`` queued messages, in order, waiting for one; ``[]``
        once closed and drained. A local envelope's payload is ``b""``. Cancelled: nothing
        was taken."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        queue = self._queue
        if not queue and not await self._wait_for_messages():
            return []
        batch: list[bytes] = []
        while queue and len(batch) < limit:
            msg = queue.popleft()
            batch.append(b"" if msg.is_local else msg.data)
            wake_first(self._putters)
        return batch

    async def _wait_for_messages(self) -> bool:
        """Wait until a message is queued (True) or the transport is closed and drained."""
        while not self._queue:
            if self._closed:
                return False
            await _park(self._getters, lambda: bool(self._queue))
        return True

    def close(self) -> None:
        """Refuse further sends and wake every waiter. Idempotent."""
        if self._closed:
            return
        self._closed = True
        wake_all(self._getters)
        wake_all(self._putters)
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    async def wait_closed(self) -> None:
        """Wait until ``close()`` is called (at once if it was): nothing else is left to wait
        for. Cancelling the wait leaves the transport as it is."""
        if self._closed:
            return
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._ended)

    def _describe(self) -> str:
        return f"LocalTransport({self.name!r})"

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{self._describe()} {state} {len(self._queue)}/{self.capacity}>"


async def _park(waiters: deque[asyncio.Future[None]], pass_on: Callable[[], bool]) -> None:
    """Wait in ``waiters`` until woken. Cancelled: out of the queue, or, if it was woken for
    something it will not use (room, a message) and ``pass_on()`` says it is still there, the
    wake-up goes to the next waiter."""
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await waiter
    except asyncio.CancelledError:
        if waiter in waiters:
            waiters.remove(waiter)
        elif pass_on():
            wake_first(waiters)
        raise
