"""The transport contracts: what moves envelopes and frames between two endpoints (MVP-005).

Two protocols, both implemented in full by :class:`~mycelium.transport.LocalTransport` and
:class:`~mycelium.transport.UnixSocketTransport`; a new transport (NATS, say) implements both
too, or :class:`Transport` only (then ``as_frame_transport`` adapts it, without the fast path).

* :class:`Transport`: a bounded, ordered pipe of :class:`~mycelium.message.ActorMessage`
  envelopes. The local transport moves objects in memory; the Unix-socket transport moves
  serialized bytes between processes behind the very same methods.
* :class:`FrameTransport`: the same pipe seen as payload ``bytes``, one frame per message, with
  what ``RemoteActorRef`` and ``ActorServer`` need and nothing else: a non-waiting send, a send
  that waits for room, a receive of many frames at once, the limits (``capacity``,
  ``max_frame_size``) and the end of the connection (``close``, ``wait_closed``,
  ``close_reason``). It is the fast path: no envelope object per frame, one wait for many
  frames.

Contract of every method of both, for every implementation:

* Ordering: frames (messages) are received in the order the sends accepted them, whichever
  method accepted them (``send``/``send_nowait``/``send_bytes``/``send_bytes_nowait``).
* Full: a non-waiting send raises :class:`~mycelium.errors.TransportFull` and accepts nothing;
  a waiting send waits for room (the order of waiting senders is kept). Neither waits for the
  peer to take the frame: accepted means in this side's buffer.
* Closed: once ``close()`` was called on this side, or the peer is gone, every send raises
  :class:`~mycelium.errors.TransportClosed` (also a send that was waiting for room), and
  ``closed`` is True. ``close()`` is idempotent and never raises. What was accepted before a
  graceful ``close()`` is still delivered (written out before the connection ends); what was
  received before it can still be taken (``recv``/``recv_batch`` return it, then ``None``/``[]``).
  ``wait_closed()`` returns once the connection has ended (at once for a transport that has
  nothing to wait for); ``close_reason`` then says why.
* Cancellation: a cancelled send has not accepted its frame; a cancelled receive has not taken
  one.
* Threads: loop-affine; use a transport from the event loop that created it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mycelium.message import ActorMessage

__all__ = ["FrameTransport", "Transport"]


@runtime_checkable
class Transport(Protocol):
    """An ordered, bounded pipe of ``ActorMessage`` envelopes (see the module's contract)."""

    async def send(self, msg: ActorMessage, /) -> None:
        """Send ``msg``, waiting for room.

        Returns once the transport accepted it (in order after every message accepted
        before). Cancelled while waiting: ``msg`` was not accepted.

        Raises:
            TransportClosed: the transport is closed, or closes while waiting.
        """
        ...

    def send_nowait(self, msg: ActorMessage, /) -> None:
        """Send ``msg`` without waiting.

        Raises:
            TransportFull: no room; nothing was accepted, the transport stays open.
            TransportClosed: the transport is closed.
        """
        ...

    async def recv(self) -> ActorMessage | None:
        """The next message in send order, waiting for one; ``None`` once closed and drained.

        Cancelled while waiting: no message was taken.
        """
        ...

    def close(self) -> None:
        """Refuse further sends; pending messages can still be received. Idempotent."""
        ...

    @property
    def closed(self) -> bool:
        """True once the transport is closed (by this side, or because the peer is gone)."""
        ...


@runtime_checkable
class FrameTransport(Protocol):
    """Payload ``bytes`` over a transport, one frame each: what ``RemoteActorRef`` and
    ``ActorServer`` use of it (see the module's contract)."""

    @property
    def closed(self) -> bool:
        """True once the transport is closed (by this side, or because the peer is gone)."""
        ...

    @property
    def close_reason(self) -> str:
        """Why the transport is closed, for error messages (``""`` while it is open)."""
        ...

    @property
    def capacity(self) -> int:
        """Frames this side's send buffer holds before a non-waiting send raises
        ``TransportFull`` (``0`` when the transport cannot tell); errors quote it."""
        ...

    @property
    def max_frame_size(self) -> int | None:
        """Largest payload a frame may carry, in bytes; ``None`` when there is no limit (the
        frame is not serialized). A server checks its answers against it before sending."""
        ...

    def send_bytes_nowait(self, data: bytes, /) -> None:
        """Accept ``data`` as the next frame without waiting.

        Raises:
            TransportFull: no room; nothing was accepted, the transport stays open.
            TransportClosed: the transport is closed.
            FrameTooLarge: ``data`` is above ``max_frame_size``; nothing was accepted, the
                transport stays open.
            TypeError: ``data`` is not ``bytes``.
        """
        ...

    async def send_bytes(self, data: bytes, /) -> None:
        """Accept ``data`` as the next frame, waiting for room.

        Returns once the frame is in this side's buffer (it does not wait for the peer).
        Cancelled while waiting: the frame was not accepted.

        Raises:
            TransportClosed: the transport is closed, or closes while waiting.
            FrameTooLarge, TypeError: as ``send_bytes_nowait``.
        """
        ...

    async def recv_batch(self) -> list[bytes]:
        """The payloads of the frames received so far, in order, waiting for at least one.

        Returns ``[]`` once the connection has ended and every frame received is taken.
        Cancelled while waiting: nothing was taken.

        Raises:
            TransportClosed: once, after the last good frame, if the peer broke the protocol;
                later calls return ``[]``.
        """
        ...

    def close(self) -> None:
        """Refuse further sends, deliver what was accepted, then end the connection.

        Idempotent, never raises. Frames received before can still be taken.
        """
        ...

    async def wait_closed(self) -> None:
        """Wait until the connection has ended (after ``close()``: once what was accepted is
        delivered; at once for a transport with nothing to wait for). Cancelling the wait
        leaves the transport as it is."""
        ...
