"""What a bundle's child process tells its parent, and the accounts both sides keep.

Channel: the child's standard output (the child moves its own ``print`` output to stderr first),
carrying frames of a 4-byte big-endian length and a msgpack :data:`ChildEvent`. Exactly one of
:class:`Ready` or :class:`Failed` comes first; after ``Ready``, one :class:`Report` comes when
the child has stopped. The parent asks for that by writing, on the child's standard input, how
many connections to its actor it must have accepted before it stops accepting (one decimal
number and a newline), then closing it; an input that ends without a number (the parent died)
means: stop now.
"""

from __future__ import annotations

import asyncio
import os
import struct
from typing import Literal, TypeAlias, final

import msgspec

__all__ = [
    "ChildEvent",
    "EndpointStats",
    "Failed",
    "Ready",
    "RefStats",
    "Report",
    "read_event",
    "write_event",
]

_LENGTH = struct.Struct(">I")
_MAX_EVENT = 256 * 1024 * 1024


@final
class RefStats(msgspec.Struct, frozen=True):
    """The sending side of one wire that crossed a process boundary, when it was closed.

    Attributes:
        source: the actor that held the ref (``"<bundle>"`` for a ref of the bundle itself).
        target: the actor it reached.
        sent: frames the transport accepted.
        undelivered: accepted frames still in this side's buffer when the connection broke.
        rejected: tells the other side refused (undecodable, wrong type, actor stopped).
        dropped: ``try_send`` calls refused because the transport was full.
    """

    source: str
    target: str
    sent: int
    undelivered: int
    rejected: int
    dropped: int


@final
class EndpointStats(msgspec.Struct, frozen=True):
    """The receiving side of one actor served at a socket, summed over its connections.

    Attributes:
        actor: the served actor.
        connections: connections accepted.
        delivered: frames passed to the actor.
        rejected: frames refused (undecodable, or of the wrong type).
        undelivered: frames the actor no longer accepted (stopped).
        unanswered: answers to asks that could not be sent back.
        cut: connections that were still open when the endpoint had to close them.
        missing: connections the owner expected that were never accepted.
    """

    actor: str
    connections: int
    delivered: int
    rejected: int
    undelivered: int
    unanswered: int
    cut: int
    missing: int


@final
class Ready(msgspec.Struct, frozen=True, tag="ready"):
    """The child's actor is spawned and served at its socket."""

    pid: int


@final
class Failed(msgspec.Struct, frozen=True, tag="failed"):
    """The child could not start its actor; ``kind`` says whose fault it is."""

    kind: Literal["config", "start"]
    where: str
    detail: str


@final
class Report(msgspec.Struct, frozen=True, tag="report"):
    """What the child's actor did, once it has stopped.

    Attributes:
        report: the actor's ``report()``, msgpack-encoded, or ``None`` if it has none.
        report_error: why ``report()`` could not be had (it raised, or is not encodable).
        refs: the child's wires to other processes.
        endpoint: its actor's served side.
        dead_letters: messages its system accepted but never handled.
    """

    report: bytes | None
    report_error: str | None
    refs: list[RefStats]
    endpoint: EndpointStats | None
    dead_letters: int


ChildEvent: TypeAlias = Ready | Failed | Report

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(ChildEvent)


def write_event(fd: int, event: ChildEvent) -> None:
    """Write one frame to ``fd`` (blocking; the parent reads as it waits for it)."""
    payload = _ENCODER.encode(event)
    data = memoryview(_LENGTH.pack(len(payload)) + payload)
    while data:
        written = os.write(fd, data)
        data = data[written:]


async def read_event(stream: asyncio.StreamReader) -> ChildEvent | None:
    """The next frame, or ``None`` at the end of the stream (the child exited).

    Raises:
        ValueError: the stream holds something else than frames (the message says what).
    """
    try:
        header = await stream.readexactly(_LENGTH.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ValueError("the child's control stream ended inside a frame") from exc
        return None
    (size,) = _LENGTH.unpack(header)
    if size > _MAX_EVENT:
        raise ValueError(f"the child announced a control frame of {size} bytes")
    try:
        payload = await stream.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise ValueError("the child's control stream ended inside a frame") from exc
    try:
        return _DECODER.decode(payload)
    except msgspec.DecodeError as exc:
        raise ValueError(f"the child sent an unreadable control frame: {exc}") from exc
