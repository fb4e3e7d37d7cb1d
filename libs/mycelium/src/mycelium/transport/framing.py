"""The frame protocol of ``UnixSocketTransport``, with no socket: encoding and decoding.

A stream starts with an 8-byte greeting, ``b"MYCF"`` then the big-endian ``u16`` protocol
version and two reserved zero bytes; then frames, each a 4-byte big-endian payload length
followed by the payload. :class:`FrameDecoder` turns the chunks of such a stream, however
they are split, into the payloads of its frames, and says precisely how a stream that breaks
the protocol is broken; :func:`encode_frame` and :data:`GREETING` write it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Final, final

from mycelium.errors import FrameTooLarge, TransportClosed

__all__ = [
    "GREETING",
    "GREETING_SIZE",
    "HEADER_SIZE",
    "MAX_FRAME_LIMIT",
    "PROTOCOL_VERSION",
    "FrameDecoder",
    "encode_frame",
    "encode_frames",
    "frame_header",
]

PROTOCOL_VERSION: Final = 1
"""Version of the frame protocol, sent in the greeting; a peer with another version is refused."""

MAGIC: Final = b"MYCF"
GREETING: Final = MAGIC + struct.pack(">HH", PROTOCOL_VERSION, 0)
"""What each side writes first."""
GREETING_SIZE: Final = len(GREETING)

_HEADER: Final = struct.Struct(">I")
HEADER_SIZE: Final = _HEADER.size
"""Bytes of a frame's length prefix."""

MAX_FRAME_LIMIT: Final = 2**32 - 1
"""The largest payload a length prefix can announce."""

frame_header: Final[Callable[[int], bytes]] = _HEADER.pack
"""The length prefix of a payload of ``size`` bytes (``size`` <= ``MAX_FRAME_LIMIT``)."""


def encode_frame(payload: bytes) -> bytes:
    """One frame: the length prefix, then ``payload``."""
    return frame_header(len(payload)) + payload


def encode_frames(payloads: Iterable[bytes], *, greeting: bool = False) -> bytes:
    """The frames of ``payloads`` in order, after the greeting when ``greeting`` is True."""
    parts = [GREETING] if greeting else []
    for payload in payloads:
        parts += (frame_header(len(payload)), payload)
    return b"".join(parts)


@final
class FrameDecoder:
    """The payloads of the frames of a byte stream, fed in chunks split anywhere.

    ``feed(chunk, append)`` calls ``append`` with the payload of every frame the chunk
    completes, in stream order, and keeps the incomplete tail for the next chunk; the greeting
    is checked first (unless built with ``greeting=False``). Any split of a stream into chunks
    yields the same payloads. ``frames`` and ``payload_bytes`` count what was handed out,
    ``buffered`` the bytes held of the incomplete greeting or frame.

    A stream that breaks the protocol (a wrong greeting, a length prefix above
    ``max_frame_size``) raises ``TransportClosed`` naming ``describe`` and saying what was
    wrong; the frames complete before the fault have been handed out already. A decoder that
    raised must not be fed again: the stream cannot be resynchronised. At the end of the
    stream, ``end()`` raises likewise if it stopped inside a greeting or a frame.
    """

    __slots__ = (
        "_greeted",
        "_need",
        "_rest",
        "describe",
        "frames",
        "max_frame_size",
        "payload_bytes",
    )

    def __init__(
        self, max_frame_size: int, *, describe: str = "a frame stream", greeting: bool = True
    ) -> None:
        if not 1 <= max_frame_size <= MAX_FRAME_LIMIT:
            raise ValueError(f"max_frame_size must be in [1, 2**32 - 1], got {max_frame_size}")
        self.max_frame_size = max_frame_size
        self.describe = describe
        self.frames = 0
        self.payload_bytes = 0
        self._greeted = not greeting
        # Invariant: _rest holds the bytes of an incomplete greeting or frame, and _need the
        # total size it must reach before anything more can be parsed.
        self._rest = bytearray()
        self._need = HEADER_SIZE if self._greeted else GREETING_SIZE

    @property
    def greeted(self) -> bool:
        """True once a correct greeting was read (or none was expected)."""
        return self._greeted

    @property
    def buffered(self) -> int:
        """Bytes held of the incomplete greeting or frame."""
        return len(self._rest)

    def feed(self, data: bytes, append: Callable[[bytes], object]) -> int:
        """Hand ``append`` the payload of every frame ``data`` completes, in order; return
        the payload bytes handed out.

        Raises:
            TransportClosed: the stream breaks the protocol (the detail says how; for a length
                prefix above ``max_frame_size`` its cause is a ``FrameTooLarge``).
        """
        rest = self._rest
        if rest:
            rest += data
            if len(rest) < self._need:
                return 0
            data = bytes(rest)
            rest.clear()
        if not self._greeted:
            if len(data) < GREETING_SIZE:
                rest += data
                return 0
            self._check_greeting(data[:GREETING_SIZE])
            data = data[GREETING_SIZE:]
        end_of_data = len(data)
        limit = self.max_frame_size
        unpack = _HEADER.unpack_from
        start = 0
        count = 0
        try:
            while end_of_data - start >= HEADER_SIZE:
                (size,) = unpack(data, start)
                if size > limit:
                    error = TransportClosed(
                        self.describe, f"the peer announced a frame of {size} bytes"
                    )
                    error.__cause__ = FrameTooLarge(self.describe, size, limit)
                    raise error
                end = start + HEADER_SIZE + size
                if end > end_of_data:
                    break
                append(data[start + HEADER_SIZE : end])
                start = end
                count += 1
        finally:
            size = start - count * HEADER_SIZE
            self.frames += count
            self.payload_bytes += size
        if start < end_of_data:
            rest += data[start:]
            if end_of_data - start >= HEADER_SIZE:
                self._need = HEADER_SIZE + unpack(data, start)[0]
            else:
                self._need = HEADER_SIZE
        return size

    def end(self) -> None:
        """The stream has ended: check that it did not stop inside a greeting or a frame.

        Raises:
            TransportClosed: it did; the detail says how many bytes of what had arrived.
        """
        if self._rest:
            what = "greeting" if not self._greeted else "frame"
            raise TransportClosed(
                self.describe,
                f"the stream ended inside a {what} ({len(self._rest)} of {self._need} bytes "
                "arrived); the peer died or wrote a truncated frame",
            )

    def _check_greeting(self, greeting: bytes) -> None:
        if greeting[:4] != MAGIC:
            raise TransportClosed(
                self.describe,
                f"the peer did not greet as a Mycelium frame transport (got {greeting!r}); is "
                "something else connected to this socket?",
            )
        (version,) = struct.unpack_from(">H", greeting, 4)
        if version != PROTOCOL_VERSION:
            raise TransportClosed(
                self.describe,
                f"the peer speaks frame protocol version {version}, this side "
                f"{PROTOCOL_VERSION}; run the same Mycelium version on both sides",
            )
        self._greeted = True
        self._need = HEADER_SIZE

    def __repr__(self) -> str:
        return (
            f"<FrameDecoder {self.describe} frames={self.frames} buffered={len(self._rest)} "
            f"greeted={self._greeted}>"
        )
