"""``Transport``: how ``ActorMessage`` envelopes move between two endpoints (seed MVP-005).

A transport is a bounded, ordered pipe of :class:`~mycelium.message.ActorMessage`. The local
transport moves objects in memory; the Unix-socket transport of Phase 2 moves serialized bytes
between processes behind the very same protocol.

Contract for every implementation:

* ``send`` waits while the transport is full and raises ``TransportClosed`` once it is closed
  (by ``close()`` on this side, or because the peer is gone).
* ``recv`` returns the next message in send order, waits while there is none, and returns
  ``None`` once the transport is closed *and* drained: messages sent before ``close()`` are
  still received.
* ``close`` is idempotent and never raises.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mycelium.message import ActorMessage

__all__ = ["Transport"]


@runtime_checkable
class Transport(Protocol):
    """An ordered, bounded pipe of ``ActorMessage`` envelopes."""

    async def send(self, msg: ActorMessage, /) -> None:
        """Send ``msg``, waiting for room. Raises ``TransportClosed`` once closed."""
        ...

    async def recv(self) -> ActorMessage | None:
        """The next message, or ``None`` once closed and drained."""
        ...

    def close(self) -> None:
        """Refuse further sends; pending messages can still be received. Idempotent."""
        ...

    @property
    def closed(self) -> bool:
        """True once the transport is closed."""
        ...
