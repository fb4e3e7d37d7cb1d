"""``as_frame_transport``: the :class:`FrameTransport` of any :class:`Transport`.

``RemoteActorRef`` and ``ActorServer`` speak :class:`~mycelium.transport.base.FrameTransport`.
Both transports of the runtime are one already; a transport that moves ``ActorMessage``
envelopes only (a third party's, a test's) is wrapped in :class:`EnvelopeFrames`, which puts
each payload in ``ActorMessage.serialized`` and takes one message per receive.
"""

from __future__ import annotations

import asyncio
from typing import final

from mycelium.errors import TransportFull
from mycelium.message import ActorMessage

from .base import FrameTransport, Transport

__all__ = ["EnvelopeFrames", "as_frame_transport"]


def as_frame_transport(transport: FrameTransport | Transport) -> FrameTransport:
    """``transport`` itself when it is a ``FrameTransport``, else its ``EnvelopeFrames``.

    The one place a transport's kind is told, by the protocol it declares (checked by pyright
    for the callers, at run time here once per ref or server).
    """
    if isinstance(transport, FrameTransport):
        return transport
    return EnvelopeFrames(transport)


@final
class EnvelopeFrames:
    """A ``FrameTransport`` over a ``Transport`` of envelopes (see the module docstring).

    What the envelope protocol does not tell is answered plainly: ``capacity`` is 0 (unknown),
    ``max_frame_size`` is ``None`` (no limit), ``close_reason`` is ``""``, and ``wait_closed``
    returns at once. A received local envelope has no bytes: its payload is ``b""``, which
    the reader refuses and reports. A plain ``asyncio.QueueFull`` of the wrapped transport is
    raised as ``TransportFull``.
    """

    __slots__ = ("transport",)

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @property
    def closed(self) -> bool:
        return self.transport.closed

    @property
    def close_reason(self) -> str:
        return ""

    @property
    def capacity(self) -> int:
        return 0

    @property
    def max_frame_size(self) -> int | None:
        return None

    def send_bytes_nowait(self, data: bytes, /) -> None:
        try:
            self.transport.send_nowait(ActorMessage.serialized(data))
        except TransportFull:
            raise
        except asyncio.QueueFull:
            raise TransportFull(repr(self.transport), 0) from None

    async def send_bytes(self, data: bytes, /) -> None:
        await self.transport.send(ActorMessage.serialized(data))

    async def recv_batch(self) -> list[bytes]:
        msg = await self.transport.recv()
        if msg is None:
            return []
        return [b"" if msg.is_local else msg.data]

    def close(self) -> None:
        self.transport.close()

    async def wait_closed(self) -> None:
        return

    def __repr__(self) -> str:
        return f"<EnvelopeFrames of {self.transport!r}>"
