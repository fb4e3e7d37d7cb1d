"""``UnixSocketTransport``: ``ActorMessage`` frames over a Unix domain socket (Phase 2).

The first transport that crosses a process boundary, behind the same ``Transport`` protocol as
``LocalTransport``. It carries *serialized* envelopes only: encode first (``RemoteActorRef``
does, with msgspec msgpack).

Wire format: each side first writes an 8-byte greeting, ``b"MYCF"`` then the big-endian
``u16`` frame-protocol version and two reserved zero bytes; then frames, each a 4-byte
big-endian payload length followed by the payload (the ``ActorMessage.data`` bytes). A peer
that does not greet correctly, announces a frame above ``max_frame_size`` or ends the stream
inside a frame breaks the connection: this side's ``recv`` returns every complete frame that
arrived before the fault, then raises ``TransportClosed`` with a detail saying what was wrong.

Batching: frames sent during one loop turn are coalesced in this side's buffer and written
with one ``write`` at the end of the turn (or at once when the buffer passes
:data:`FLUSH_BYTES` or ``capacity`` frames); every chunk read from the socket is parsed whole,
so one wake-up of ``recv`` can hand out many frames without waiting again, and ``recv_batch``
takes them all at once.

Fast path: ``send_bytes``/``send_bytes_nowait``/``recv_batch`` move payload ``bytes`` without
building an ``ActorMessage`` per frame (``RemoteActorRef`` and ``ActorServer`` use them); the
``Transport`` methods ``send``/``send_nowait``/``recv`` wrap the same frames in envelopes.

Flow control, end to end: when the peer reads too slowly, the kernel buffer and the event
loop's write buffer fill, frames collect in this side's buffer, and once ``capacity`` of them
wait there ``send`` waits and ``send_nowait`` raises ``asyncio.QueueFull``. On the receiving
side, reading from the socket pauses while ``capacity`` received frames wait for ``recv``.

Invariants, for every connection:

* Ordering: frames are received in the order ``send``/``send_nowait`` accepted them.
* Delivery: at most once. Every frame accepted before a graceful ``close()`` is written before
  the socket closes. When the connection breaks (the peer dies, ``abort()``), frames still in
  this side's buffer are counted in ``undelivered``; frames already handed to the kernel may be
  lost too without anyone being able to count them (ask for an answer when you need to know).
* A cancelled ``send`` has not accepted its frame; a cancelled ``recv`` has not taken one.
* Threads: loop-affine; use a transport from the event loop that created it.
"""

# pyright: reportPrivateUsage=false
# (_Link is a friend of UnixSocketTransport: it forwards the event loop's callbacks to it)

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Final, cast, final

from mycelium.errors import FrameTooLarge, TransportClosed
from mycelium.message import ActorMessage

from ._socket_path import bind_unix_socket, identity

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_MAX_FRAME_SIZE",
    "FLUSH_BYTES",
    "PROTOCOL_VERSION",
    "UnixSocketListener",
    "UnixSocketTransport",
]

log = logging.getLogger("mycelium")

PROTOCOL_VERSION: Final = 1
"""Version of the frame protocol, sent in the greeting; a peer with another version is refused."""

DEFAULT_MAX_FRAME_SIZE: Final = 4 * 1024 * 1024
"""Largest payload accepted by default, in bytes (4 MiB)."""

DEFAULT_CAPACITY: Final = 1024
"""Frames that may wait in each direction's buffer before ``send`` waits / reading pauses."""

FLUSH_BYTES: Final = 256 * 1024
"""Buffered bytes above which frames are written at once instead of at the end of the turn."""

_MAGIC: Final = b"MYCF"
_GREETING: Final = _MAGIC + struct.pack(">HH", PROTOCOL_VERSION, 0)
_GREETING_SIZE: Final = len(_GREETING)
_HEADER: Final = struct.Struct(">I")
_HEADER_SIZE: Final = _HEADER.size
_MAX_FRAME_LIMIT: Final = 2**32 - 1


@final
class UnixSocketTransport:
    """One end of a framed, ordered, bounded connection over a Unix domain socket.

    Build one with :meth:`connect` (client), :meth:`UnixSocketListener.accept` (server, from
    :meth:`listen`) or :meth:`pair` (two connected ends in this process).

    ``send`` waits only while ``capacity`` frames already wait for a backed-up socket;
    ``send_nowait`` raises ``asyncio.QueueFull`` instead. Both raise ``TransportClosed`` once
    the transport is closed (by ``close()``, or because the peer is gone), ``TypeError`` for a
    local ``ActorMessage`` (encode first) and ``FrameTooLarge`` for a payload above
    ``max_frame_size`` (nothing is written; the transport stays open).

    ``recv`` returns the next frame in order, waiting for one; once the connection has ended
    it returns the frames that had fully arrived, then ``None``. If the connection ended
    because the peer broke the protocol (garbage, a truncated or oversized frame) that last
    ``recv`` raises ``TransportClosed`` with the detail once instead, then returns ``None``.
    After this side's ``close()``, frames already received are still returned, then ``None``.

    Counters, for metrics: ``sent`` (frames accepted), ``received`` (complete frames read),
    ``undelivered`` (accepted but still in this side's buffer when the connection broke),
    ``oversized`` (frames refused for their size, in either direction).
    """

    __slots__ = (
        "_closed",
        "_detail",
        "_error",
        "_flush_handle",
        "_getters",
        "_greeted",
        "_inbox",
        "_link",
        "_loop",
        "_lost",
        "_need",
        "_paused",
        "_reading_paused",
        "_rest",
        "_resume_at",
        "_room",
        "_wbuf",
        "_wframes",
        "capacity",
        "max_frame_size",
        "name",
        "oversized",
        "received",
        "sent",
        "undelivered",
    )

    def __init__(
        self,
        *,
        name: str,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        """Not connected yet: use :meth:`connect`, :meth:`listen` or :meth:`pair`."""
        _check_limits(max_frame_size, capacity)
        self.name = name
        self.max_frame_size = max_frame_size
        self.capacity = capacity
        self.sent = 0
        self.received = 0
        self.undelivered = 0
        self.oversized = 0
        self._loop = asyncio.get_running_loop()
        self._link: asyncio.Transport | None = None
        # Invariant: _wframes is the number of frames in _wbuf; _wbuf is never handed to the
        # event loop while _paused (it is swapped for a fresh one when it is).
        self._wbuf = bytearray()
        self._wframes = 0
        self._flush_handle: asyncio.Handle | None = None
        self._paused = False
        self._room: deque[asyncio.Future[None]] = deque()
        # Invariant: _rest holds the bytes of an incomplete greeting or frame, and _need the
        # total size it must reach before anything more can be parsed.
        self._greeted = False
        self._rest = bytearray()
        self._need = _GREETING_SIZE
        self._inbox: deque[bytes] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._reading_paused = False
        self._resume_at = capacity // 2
        # Invariant: once _closed, no frame is accepted and no byte is read any more.
        self._closed = False
        self._detail = ""
        self._error: TransportClosed | None = None
        self._lost: asyncio.Future[None] = self._loop.create_future()

    # ------------------------------------------------------------------------ constructors

    @classmethod
    async def connect(
        cls,
        path: str | os.PathLike[str],
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        capacity: int = DEFAULT_CAPACITY,
        name: str | None = None,
    ) -> UnixSocketTransport:
        """Connect to the listener at ``path``.

        Raises:
            FileNotFoundError: nothing listens at ``path`` (the message names it).
            ConnectionRefusedError: the socket file exists but no process listens on it (a
                stale socket left by a dead process).
            OSError: any other failure to connect, naming ``path``.
            ValueError: ``max_frame_size`` or ``capacity`` out of range.
        """
        where = os.fspath(path)
        transport = cls(name=name or where, max_frame_size=max_frame_size, capacity=capacity)
        try:
            await transport._loop.create_unix_connection(lambda: _Link(transport), where)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot connect to Unix socket: {exc.strerror}; is a listener running there?",
                where,
            ) from exc
        return transport

    @classmethod
    async def listen(
        cls,
        path: str | os.PathLike[str],
        *,
        replace: bool = False,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        capacity: int = DEFAULT_CAPACITY,
        backlog: int = 100,
    ) -> UnixSocketListener:
        """Listen at ``path``; connections are taken with ``await listener.accept()``.

        An existing file at ``path`` is an error unless ``replace`` is True, in which case an
        existing *socket* file is unlinked first (never another kind of file). The listener
        unlinks its socket file when it is closed.

        Raises:
            SocketPathInUse: ``path`` exists (also a ``FileExistsError``).
            SocketPathError: the directory is missing or not writable, or the path is too long
                for a Unix socket (also an ``OSError``).
            ValueError: ``max_frame_size`` or ``capacity`` out of range.
        """
        _check_limits(max_frame_size, capacity)
        where = os.fspath(path)
        sock = bind_unix_socket(where, replace=replace)
        try:
            listener = UnixSocketListener(where, identity(where), max_frame_size, capacity)
            listener.server = await asyncio.get_running_loop().create_unix_server(
                listener._make_link, sock=sock, backlog=backlog
            )
        except BaseException:
            sock.close()
            with contextlib.suppress(OSError):
                os.unlink(where)
            raise
        return listener

    @classmethod
    async def pair(
        cls,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        capacity: int = DEFAULT_CAPACITY,
        name: str = "pair",
    ) -> tuple[UnixSocketTransport, UnixSocketTransport]:
        """Two connected ends over ``socket.socketpair``, for tests and in-process use."""
        _check_limits(max_frame_size, capacity)
        loop = asyncio.get_running_loop()
        ends: list[UnixSocketTransport] = []
        socks = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            for side, sock in zip("ab", socks, strict=True):
                end = cls(name=f"{name}.{side}", max_frame_size=max_frame_size, capacity=capacity)
                await loop.create_unix_connection(lambda end=end: _Link(end), sock=sock)
                ends.append(end)
        except BaseException:
            for end in ends:
                end.abort()
            for sock in socks:
                sock.close()
            raise
        return ends[0], ends[1]

    # ----------------------------------------------------------------------------- sending

    @property
    def closed(self) -> bool:
        """True once closed by this side, or once the connection has ended."""
        return self._closed

    def send_nowait(self, msg: ActorMessage, /) -> None:
        """Accept ``msg`` for sending without waiting; it is written at the end of this turn.

        Raises:
            TransportClosed: the transport is closed.
            asyncio.QueueFull: ``capacity`` frames already wait for a backed-up socket.
            TypeError: ``msg`` is not a serialized ``ActorMessage``.
            FrameTooLarge: the payload exceeds ``max_frame_size``; nothing was written.
        """
        if type(msg) is not ActorMessage or msg.is_local:
            raise _not_serialized(msg)
        self.send_bytes_nowait(msg.data)

    async def send(self, msg: ActorMessage, /) -> None:
        """Accept ``msg`` for sending, waiting while ``capacity`` frames wait for the socket.

        Returns once the frame is in this side's buffer (it does not wait for the peer).
        Cancelled while waiting: the frame was not accepted.

        Raises:
            TransportClosed: the transport is closed, or closes while waiting.
            TypeError: ``msg`` is not a serialized ``ActorMessage``.
            FrameTooLarge: the payload exceeds ``max_frame_size``; nothing was written.
        """
        if type(msg) is not ActorMessage or msg.is_local:
            raise _not_serialized(msg)
        await self.send_bytes(msg.data)

    def send_bytes_nowait(self, data: bytes, /) -> None:
        """``send_nowait`` of a payload, without the ``ActorMessage`` envelope (the fast path).

        Raises what ``send_nowait`` raises (``TypeError`` if ``data`` is not ``bytes``).
        """
        size = self._check_payload(data)
        if self._paused and self._wframes >= self.capacity:
            raise asyncio.QueueFull
        self._append(data, size)

    async def send_bytes(self, data: bytes, /) -> None:
        """``send`` of a payload, without the ``ActorMessage`` envelope (the fast path).

        Raises what ``send`` raises (``TypeError`` if ``data`` is not ``bytes``).
        """
        size = self._check_payload(data)
        while self._paused and self._wframes >= self.capacity:
            room: asyncio.Future[None] = self._loop.create_future()
            self._room.append(room)
            try:
                await room
            except asyncio.CancelledError:
                with contextlib.suppress(ValueError):
                    self._room.remove(room)
                raise
            if self._closed:
                raise TransportClosed(self._describe(), self._detail)
        self._append(data, size)

    def _check_payload(self, data: bytes) -> int:
        """The checks every send makes before accepting a payload; returns its size."""
        if self._closed:
            raise TransportClosed(self._describe(), self._detail)
        if type(data) is not bytes:
            raise TypeError(f"a frame's payload must be bytes, got {type(data).__name__}")
        size = len(data)
        if size > self.max_frame_size:
            self.oversized += 1
            raise FrameTooLarge(self._describe(), size, self.max_frame_size)
        return size

    def _append(self, data: bytes, size: int) -> None:
        wbuf = self._wbuf
        wbuf += _HEADER.pack(size)
        wbuf += data
        self._wframes += 1
        self.sent += 1
        if self._paused:
            return
        if len(wbuf) >= FLUSH_BYTES or self._wframes >= self.capacity:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Hand the buffered frames to the event loop, in one write."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        link = self._link
        if self._paused or not self._wframes or link is None:
            return
        buf, self._wbuf, self._wframes = self._wbuf, bytearray(), 0
        link.write(buf)

    # --------------------------------------------------------------------------- receiving

    async def recv(self) -> ActorMessage | None:
        """The next frame, waiting for one; ``None`` once the connection has ended and every
        frame received before is taken.

        Raises:
            TransportClosed: once, after the last good frame, if the peer broke the protocol
                (garbage, a frame above ``max_frame_size``, a stream cut inside a frame); the
                detail says which. Later calls return ``None``.
        """
        inbox = self._inbox
        if not inbox and not await self._wait_for_frames():
            return None
        data = inbox.popleft()
        if self._reading_paused and len(inbox) <= self._resume_at:
            self._resume_reading()
        return ActorMessage.serialized(data)

    async def recv_batch(self, limit: int = DEFAULT_CAPACITY) -> list[bytes]:
        """The payloads of up to ``limit`` received frames, in order, waiting for at least one
        (the fast path: no ``ActorMessage`` per frame, one wait for many frames).

        Returns an empty list once the connection has ended and every frame is taken. Raises
        like ``recv``. Cancelled: nothing was taken.
        """
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        inbox = self._inbox
        if not inbox and not await self._wait_for_frames():
            return []
        if len(inbox) <= limit:
            batch = list(inbox)
            inbox.clear()
        else:
            popleft = inbox.popleft
            batch = [popleft() for _ in range(limit)]
        if self._reading_paused and len(inbox) <= self._resume_at:
            self._resume_reading()
        return batch

    async def _wait_for_frames(self) -> bool:
        """Wait until a frame is in the inbox (True) or the connection has ended (False)."""
        inbox = self._inbox
        while not inbox:
            error = self._error
            if error is not None:
                self._error = None
                raise error
            if self._closed:
                return False
            getter: asyncio.Future[None] = self._loop.create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if inbox:
                    _wake_all(self._getters)
                raise
        return True

    def _resume_reading(self) -> None:
        self._reading_paused = False
        if self._link is not None and not self._closed:
            self._link.resume_reading()

    def __len__(self) -> int:
        """Frames received and not yet taken by ``recv``."""
        return len(self._inbox)

    # ----------------------------------------------------------------------------- closing

    def close(self) -> None:
        """Refuse further sends, write what is buffered, then close the socket. Idempotent.

        Frames already received can still be taken with ``recv``; nothing more is taken in.
        The close is a half-close: what is buffered is written, then an end of stream, and the
        socket closes once the peer has closed its side too (its transport does on our end of
        stream), reading on meanwhile and discarding what comes. Closing at once instead would
        let a peer that had not yet taken the connection, or that writes to us (a greeting, an
        answer), fail its write and drop what we sent before it could read it.
        Never raises.
        """
        if self._closed:
            return
        self._closed = True
        self._detail = "closed by this side"
        link = self._link
        if link is not None:
            if self._wframes:
                buf, self._wbuf, self._wframes = self._wbuf, bytearray(), 0
                link.write(buf)  # the event loop writes its buffer out before the end
            if link.can_write_eof():
                link.write_eof()
                if self._reading_paused:  # read on (discarding) to see the peer's end
                    self._reading_paused = False
                    link.resume_reading()
            else:
                link.close()
        elif not self._lost.done():
            self._lost.set_result(None)
        self._wake_everyone()

    def abort(self) -> None:
        """Close at once, dropping what is not written yet (counted in ``undelivered``)."""
        if not self._closed:
            self._closed = True
            self._detail = "aborted by this side"
        self._drop_unsent()
        if self._link is not None:
            self._link.abort()
        self._wake_everyone()

    async def wait_closed(self) -> None:
        """Wait until the socket is closed.

        After ``close()`` that is once the buffered frames are written and the peer has closed
        its side (see ``close``): if the peer has stopped reading but not died, that never
        happens; ``abort()`` then closes at once.
        """
        await asyncio.shield(self._lost)

    # -------------------------------------------------------------------- protocol events

    def _on_made(self, link: asyncio.Transport) -> None:
        self._link = link
        link.write(_GREETING)

    def _on_data(self, data: bytes) -> None:
        if self._closed:
            return
        rest = self._rest
        if rest:
            rest += data
            if len(rest) < self._need:
                return
            data = bytes(rest)
            rest.clear()
        if not self._greeted:
            if len(data) < _GREETING_SIZE:
                rest += data
                return
            if not self._check_greeting(data[:_GREETING_SIZE]):
                return
            data = data[_GREETING_SIZE:]
        self._parse(data)

    def _check_greeting(self, greeting: bytes) -> bool:
        if greeting[:4] != _MAGIC:
            self._fail(
                f"the peer did not greet as a Mycelium frame transport (got {greeting!r}); is "
                "something else connected to this socket?"
            )
            return False
        (version,) = struct.unpack_from(">H", greeting, 4)
        if version != PROTOCOL_VERSION:
            self._fail(
                f"the peer speaks frame protocol version {version}, this side "
                f"{PROTOCOL_VERSION}; run the same Mycelium version on both sides"
            )
            return False
        self._greeted = True
        self._need = _HEADER_SIZE
        return True

    def _parse(self, data: bytes) -> None:
        """Queue every complete frame of ``data``; keep the incomplete tail in ``_rest``."""
        end_of_data = len(data)
        limit = self.max_frame_size
        unpack = _HEADER.unpack_from
        append = self._inbox.append
        start = 0
        count = 0
        while end_of_data - start >= _HEADER_SIZE:
            (size,) = unpack(data, start)
            if size > limit:
                self.received += count
                self.oversized += 1
                cause = FrameTooLarge(self._describe(), size, limit)
                self._fail(f"the peer announced a frame of {size} bytes", cause)
                return
            end = start + _HEADER_SIZE + size
            if end > end_of_data:
                break
            append(data[start + _HEADER_SIZE : end])
            start = end
            count += 1
        if start < end_of_data:
            self._rest += data[start:]
            if end_of_data - start >= _HEADER_SIZE:
                self._need = _HEADER_SIZE + unpack(data, start)[0]
            else:
                self._need = _HEADER_SIZE
        if count:
            self.received += count
            self._wake_one()
            if len(self._inbox) >= self.capacity and not self._reading_paused:
                self._reading_paused = True
                if self._link is not None:
                    self._link.pause_reading()

    def _on_eof(self) -> None:
        if self._closed:
            return  # after our close(): the peer has closed too; the loop closes the socket
        if self._rest:
            what = "greeting" if not self._greeted else "frame"
            self._fail(
                f"the stream ended inside a {what} ({len(self._rest)} of {self._need} bytes "
                "arrived); the peer died or wrote a truncated frame"
            )
            return
        self._mark_ended("the peer closed the connection")

    def _on_lost(self, exc: Exception | None) -> None:
        if not self._closed:
            if exc is None:
                self._mark_ended("the peer closed the connection")
            else:
                self._mark_ended(f"the connection was lost ({exc})")
        self._drop_unsent()
        self._paused = False
        if not self._lost.done():
            self._lost.set_result(None)

    def _pause_writing(self) -> None:
        self._paused = True

    def _resume_writing(self) -> None:
        self._paused = False
        self._flush()
        _wake_all(self._room)

    # -------------------------------------------------------------------------- internals

    def _fail(self, detail: str, cause: BaseException | None = None) -> None:
        """The peer broke the protocol: end the connection; ``recv`` reports it once."""
        error = TransportClosed(self._describe(), detail)
        error.__cause__ = cause
        self._error = error
        self._mark_ended(detail)
        log.warning("transport %s closed: %s", self._describe(), detail)
        self.abort()

    def _mark_ended(self, detail: str) -> None:
        self._closed = True
        self._detail = detail
        self._drop_unsent()
        self._wake_everyone()

    def _drop_unsent(self) -> None:
        if self._wframes:
            self.undelivered += self._wframes
            self._wbuf, self._wframes = bytearray(), 0
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

    def _wake_one(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    def _wake_everyone(self) -> None:
        _wake_all(self._getters)
        _wake_all(self._room)

    def _describe(self) -> str:
        return f"UnixSocketTransport({self.name!r})"

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<{self._describe()} {state} sent={self.sent} received={self.received} "
            f"undelivered={self.undelivered} inbox={len(self._inbox)}>"
        )


@final
class UnixSocketListener:
    """A listening Unix socket; each accepted connection is a :class:`UnixSocketTransport`.

    Made by :meth:`UnixSocketTransport.listen`. Use it as an async context manager, or call
    ``close()``: it stops listening, closes connections not yet accepted, and unlinks the
    socket file (unless another file has replaced it since).
    """

    __slots__ = (
        "_accepted",
        "_closed",
        "_count",
        "_identity",
        "_waiters",
        "capacity",
        "max_frame_size",
        "path",
        "server",
    )

    def __init__(
        self, path: str, file_id: tuple[int, int], max_frame_size: int, capacity: int
    ) -> None:
        """Made by :meth:`UnixSocketTransport.listen`."""
        self.path = path
        self.max_frame_size = max_frame_size
        self.capacity = capacity
        self.server: asyncio.Server | None = None
        self._identity = file_id
        self._accepted: deque[UnixSocketTransport] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self._count = 0

    def _make_link(self) -> asyncio.Protocol:
        """Protocol factory for the event loop's server."""
        self._count += 1
        end = UnixSocketTransport(
            name=f"{self.path}#{self._count}",
            max_frame_size=self.max_frame_size,
            capacity=self.capacity,
        )
        return _Link(end, self._on_connection)

    def _on_connection(self, end: UnixSocketTransport) -> None:
        if self._closed:
            end.close()
            return
        self._accepted.append(end)
        _wake_all(self._waiters)

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    async def accept(self) -> UnixSocketTransport:
        """The next connection, waiting for one. Cancelled: no connection was taken.

        Raises:
            TransportClosed: the listener is closed.
        """
        while not self._accepted:
            if self._closed:
                raise TransportClosed(f"UnixSocketListener({self.path!r})", "listener closed")
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
        return self._accepted.popleft()

    def close(self) -> None:
        """Stop listening, close connections not yet accepted, unlink the socket. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.server is not None:
            self.server.close()
        while self._accepted:
            self._accepted.popleft().close()
        with contextlib.suppress(OSError):
            if identity(self.path) == self._identity:
                os.unlink(self.path)
        _wake_all(self._waiters)

    async def wait_closed(self) -> None:
        """Wait until the listening socket is closed (call ``close()`` first)."""
        if self.server is not None:
            await self.server.wait_closed()

    async def __aenter__(self) -> UnixSocketListener:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "listening"
        return f"<UnixSocketListener {self.path!r} {state} pending={len(self._accepted)}>"


class _Link(asyncio.Protocol):
    """Forwards the event loop's protocol callbacks to a :class:`UnixSocketTransport`."""

    def __init__(
        self,
        end: UnixSocketTransport,
        on_made: Callable[[UnixSocketTransport], None] | None = None,
    ) -> None:
        self.end = end
        self.on_made = on_made
        self.data_received = end._on_data  # type: ignore[method-assign]  # one hop less

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but implement it.
        self.end._on_made(cast("asyncio.Transport", transport))
        if self.on_made is not None:
            self.on_made(self.end)

    def eof_received(self) -> bool:
        self.end._on_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.end._on_lost(exc)

    def pause_writing(self) -> None:
        self.end._pause_writing()

    def resume_writing(self) -> None:
        self.end._resume_writing()


def _wake_all(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)


def _not_serialized(msg: object) -> TypeError:
    if isinstance(msg, ActorMessage):
        return TypeError(
            "UnixSocketTransport carries serialized messages only; encode first: "
            "ActorMessage.serialized(encoder.encode(obj)), or use RemoteActorRef"
        )
    return TypeError(f"a transport carries ActorMessage, got {type(msg).__name__}")


def _check_limits(max_frame_size: int, capacity: int) -> None:
    if not 1 <= max_frame_size <= _MAX_FRAME_LIMIT:
        raise ValueError(f"max_frame_size must be in [1, 2**32 - 1], got {max_frame_size}")
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
