"""``UnixSocketTransport``: ``ActorMessage`` frames over a Unix domain socket (Phase 2).

The first transport that crosses a process boundary, behind the same ``Transport`` protocol as
``LocalTransport``. It carries *serialized* envelopes only: encode first (``RemoteActorRef``
does, with msgspec msgpack).

Wire format (``framing.py``, which encodes and decodes it without a socket): each side first
writes an 8-byte greeting, ``b"MYCF"`` then the big-endian ``u16`` frame-protocol version and
two reserved zero bytes; then frames, each a 4-byte big-endian payload length followed by the
payload (the ``ActorMessage.data`` bytes). A peer that does not greet correctly, announces a
frame above ``max_frame_size`` or ends the stream inside a frame breaks the connection: this
side's ``recv`` returns every complete frame that arrived before the fault, then raises
``TransportClosed`` with a detail saying what was wrong.

Batching: frames sent during one loop turn are coalesced in this side's buffer and written
with one ``write`` at the end of the turn (or at once when the buffer passes
:data:`FLUSH_BYTES` or ``capacity`` frames); every chunk read from the socket is parsed whole,
so one wake-up of ``recv`` can hand out many frames without waiting again, and ``recv_batch``
takes them all at once.

Fast path: ``send_bytes``/``send_bytes_nowait``/``recv_batch`` (the ``FrameTransport``
protocol of ``base.py``) move payload ``bytes`` without building an ``ActorMessage`` per frame
(``RemoteActorRef`` and ``ActorServer`` use them); the ``Transport`` methods
``send``/``send_nowait``/``recv`` wrap the same frames in envelopes.

Flow control, end to end, counted in bytes as well as frames: when the peer reads too slowly,
the kernel buffer and the event loop's write buffer fill, frames collect in this side's
buffer, and once ``max_buffered_bytes`` bytes or ``capacity`` frames wait there ``send`` waits
and ``send_nowait`` raises ``TransportFull``. On the receiving side, reading from the
socket pauses while ``max_buffered_bytes`` bytes or ``capacity`` frames received wait for
``recv``, and resumes when both are back under half. So each side of a connection holds, per
direction, at most about ``max_buffered_bytes`` plus the event loop's own buffers (a read chunk
of up to 256 KiB; a write buffer of 64 KiB plus one write, up to ``FLUSH_BYTES`` or one frame)
and one frame, whatever the frame size (``send_buffer_bytes`` and ``recv_buffer_bytes`` tell
how much it holds now).

Who may connect (``listen``, implemented by ``listener.py``): the socket file is created with
``mode`` (default ``0o600``, owner only), and every connection's peer uid (``SO_PEERCRED``)
must be in ``allowed_uids`` (default: this process's effective uid); other peers are closed at
once, logged and counted in the listener's ``refused``. Connections are taken from the kernel
only by ``accept()``: those not accepted yet wait in the kernel's listen queue, at most
``backlog`` of them; beyond that the kernel refuses new connections (the connecting side gets
an error saying the queue is full).

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
import errno
import itertools
import logging
import os
import socket
from collections import deque
from collections.abc import Awaitable, Iterable
from typing import Final, cast, final

from mycelium.errors import FrameTooLarge, TransportClosed, TransportFull
from mycelium.message import ActorMessage

from ._waiters import wake_all, wake_first
from .framing import GREETING, MAX_FRAME_LIMIT, PROTOCOL_VERSION, FrameDecoder, frame_header
from .listener import (
    DEFAULT_BACKLOG,
    DEFAULT_MODE,
    SocketListener,
    check_uids,
    listening_socket,
)

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_CAPACITY",
    "DEFAULT_MAX_BUFFERED_BYTES",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MODE",
    "FLUSH_BYTES",
    "PROTOCOL_VERSION",
    "UnixSocketListener",
    "UnixSocketTransport",
]

log = logging.getLogger("mycelium")

DEFAULT_MAX_FRAME_SIZE: Final = 4 * 1024 * 1024
"""Largest payload accepted by default, in bytes (4 MiB)."""

DEFAULT_CAPACITY: Final = 1024
"""Frames that may wait in each direction's buffer before ``send`` waits / reading pauses."""

DEFAULT_MAX_BUFFERED_BYTES: Final = 1024 * 1024
"""Bytes that may wait in each direction's buffer before ``send`` waits / reading pauses."""

FLUSH_BYTES: Final = 256 * 1024
"""Buffered bytes above which frames are written at once instead of at the end of the turn."""


@final
class UnixSocketTransport:
    """One end of a framed, ordered, bounded connection over a Unix domain socket.

    Build one with :meth:`connect` (client), :meth:`UnixSocketListener.accept` (server, from
    :meth:`listen`) or :meth:`pair` (two connected ends in this process).

    ``send`` waits only while ``max_buffered_bytes`` bytes or ``capacity`` frames already wait
    for a backed-up socket; ``send_nowait`` raises ``TransportFull`` instead. Both raise
    ``TransportClosed`` once the transport is closed (by ``close()``, or because the peer is
    gone), ``TypeError`` for a local ``ActorMessage`` (encode first) and ``FrameTooLarge`` for
    a payload above ``max_frame_size`` (nothing is written; the transport stays open).

    ``recv`` returns the next frame in order, waiting for one; once the connection has ended
    it returns the frames that had fully arrived, then ``None``. If the connection ended
    because the peer broke the protocol (garbage, a truncated or oversized frame) that last
    ``recv`` raises ``TransportClosed`` with the detail once instead, then returns ``None``.
    After this side's ``close()``, frames already received are still returned, then ``None``.

    Counters, for metrics: ``sent`` (frames accepted), ``received`` (complete frames read),
    ``undelivered`` (accepted but still in this side's buffer when the connection broke),
    ``oversized`` (frames refused for their size, in either direction); and what it holds now:
    ``send_buffer_bytes``, ``recv_buffer_bytes``.
    """

    __slots__ = (
        "_closed",
        "_decoder",
        "_detail",
        "_error",
        "_flush_handle",
        "_getters",
        "_inbox",
        "_inbox_bytes",
        "_link",
        "_loop",
        "_lost",
        "_paused",
        "_reading_paused",
        "_resume_at",
        "_resume_bytes",
        "_room",
        "_wbuf",
        "_wframes",
        "capacity",
        "max_buffered_bytes",
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
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
    ) -> None:
        """Not connected yet: use :meth:`connect`, :meth:`listen` or :meth:`pair`."""
        _check_limits(max_frame_size, capacity, max_buffered_bytes)
        self.name = name
        self.max_frame_size = max_frame_size
        self.capacity = capacity
        self.max_buffered_bytes = max_buffered_bytes
        self.sent = 0
        self.received = 0
        self.undelivered = 0
        self.oversized = 0
        self._loop = asyncio.get_running_loop()
        self._link: asyncio.Transport | None = None
        # Invariant: _wframes is the number of frames in _wbuf; _wbuf is never handed to the
        # event loop while _paused (it is swapped for a fresh one when it is). While _paused,
        # a payload is accepted only if _wbuf holds < max_buffered_bytes and < capacity frames.
        self._wbuf = bytearray()
        self._wframes = 0
        self._flush_handle: asyncio.Handle | None = None
        self._paused = False
        self._room: deque[asyncio.Future[None]] = deque()
        self._decoder = FrameDecoder(max_frame_size, describe=self._describe())
        # Invariant: _inbox_bytes is the sum of the payload sizes in _inbox; reading is paused
        # once it reaches max_buffered_bytes or _inbox holds capacity frames, and resumes when
        # both are back under half.
        self._inbox: deque[bytes] = deque()
        self._inbox_bytes = 0
        self._getters: deque[asyncio.Future[None]] = deque()
        self._reading_paused = False
        self._resume_at = capacity // 2
        self._resume_bytes = max_buffered_bytes // 2
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
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        name: str | None = None,
    ) -> UnixSocketTransport:
        """Connect to the listener at ``path``.

        A listener that refuses this process (its ``allowed_uids``) closes the connection at
        once: the first ``recv`` then returns ``None`` and sends raise ``TransportClosed``
        saying the peer closed before greeting.

        Raises:
            FileNotFoundError: nothing listens at ``path`` (the message names it).
            ConnectionRefusedError: the socket file exists but no process listens on it (a
                stale socket left by a dead process).
            BlockingIOError: the listener's queue of connections not yet accepted is full
                (its ``backlog``); retry later.
            PermissionError: the socket file's mode does not let this process connect.
            OSError: any other failure to connect, naming ``path``.
            ValueError: ``max_frame_size``, ``capacity`` or ``max_buffered_bytes`` out of range.
        """
        where = os.fspath(path)
        transport = cls(
            name=name or where,
            max_frame_size=max_frame_size,
            capacity=capacity,
            max_buffered_bytes=max_buffered_bytes,
        )
        try:
            await transport._loop.create_unix_connection(lambda: _Link(transport), where)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                hint = (
                    "the listener's queue of connections not yet accepted is full (its "
                    "backlog); it is not accepting: retry later"
                )
            elif exc.errno in (errno.EACCES, errno.EPERM):
                hint = (
                    "the socket file's mode does not let this user connect (listeners "
                    "create it owner-only unless given mode=...)"
                )
            else:
                hint = "is a listener running there?"
            raise OSError(
                exc.errno, f"cannot connect to Unix socket: {exc.strerror}; {hint}", where
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
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        backlog: int = DEFAULT_BACKLOG,
        mode: int = DEFAULT_MODE,
        allowed_uids: Iterable[int] | None = None,
    ) -> UnixSocketListener:
        """Listen at ``path``; connections are taken with ``await listener.accept()``.

        An existing file at ``path`` is an error unless ``replace`` is True, in which case an
        existing *socket* file is unlinked first (never another kind of file). The listener
        unlinks its socket file when it is closed.

        Who may connect: the socket file gets ``mode`` (default ``0o600``: only this user may
        connect; e.g. ``0o660`` lets the file's group connect too), and ``accept()`` admits
        only peers whose uid (``SO_PEERCRED``) is in ``allowed_uids`` (default: this process's
        effective uid; list every uid you widen ``mode`` for). Other peers are closed at once,
        logged with the reason and counted in ``listener.refused``.

        Connections wait in the kernel until ``accept()`` takes them, at most ``backlog`` of
        them (also capped by the kernel's ``net.core.somaxconn``); while that queue is full the
        kernel refuses new ones (``connect`` raises ``BlockingIOError``).

        Raises:
            SocketPathInUse: ``path`` exists (also a ``FileExistsError``).
            SocketPathError: the directory is missing or not writable, or the path is too long
                for a Unix socket (also an ``OSError``).
            ValueError: ``max_frame_size``, ``capacity``, ``max_buffered_bytes``, ``backlog``,
                ``mode`` or a uid out of range.
            TypeError: ``allowed_uids`` is not an iterable of ints.
        """
        _check_limits(max_frame_size, capacity, max_buffered_bytes)
        uids = check_uids(allowed_uids)
        where = os.fspath(path)
        sock = listening_socket(where, replace=replace, backlog=backlog, mode=mode)
        try:
            return UnixSocketListener(
                where,
                sock,
                allowed_uids=uids,
                max_frame_size=max_frame_size,
                capacity=capacity,
                max_buffered_bytes=max_buffered_bytes,
            )
        except BaseException:
            sock.close()
            with contextlib.suppress(OSError):
                os.unlink(where)
            raise

    @classmethod
    async def pair(
        cls,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        capacity: int = DEFAULT_CAPACITY,
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        name: str = "pair",
    ) -> tuple[UnixSocketTransport, UnixSocketTransport]:
        """Two connected ends over ``socket.socketpair``, for tests and in-process use."""
        _check_limits(max_frame_size, capacity, max_buffered_bytes)
        loop = asyncio.get_running_loop()
        ends: list[UnixSocketTransport] = []
        socks = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            for side, sock in zip("ab", socks, strict=True):
                end = cls(
                    name=f"{name}.{side}",
                    max_frame_size=max_frame_size,
                    capacity=capacity,
                    max_buffered_bytes=max_buffered_bytes,
                )
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
            TransportFull: ``capacity`` frames or ``max_buffered_bytes`` bytes already wait for
                a backed-up socket; nothing was accepted.
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
        if self._paused and self._full():
            raise TransportFull(
                self._describe(),
                self.capacity,
                f"{self._wframes} frames, {len(self._wbuf)} bytes wait for a backed-up socket; "
                f"capacity={self.capacity}, max_buffered_bytes={self.max_buffered_bytes}",
            )
        self._append(data, size)

    async def send_bytes(self, data: bytes, /) -> None:
        """``send`` of a payload, without the ``ActorMessage`` envelope (the fast path).

        Raises what ``send`` raises (``TypeError`` if ``data`` is not ``bytes``).
        """
        size = self._check_payload(data)
        while self._paused and self._full():
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

    def _full(self) -> bool:
        """True when this side's buffer holds as much as it may while the socket is backed up."""
        return self._wframes >= self.capacity or len(self._wbuf) >= self.max_buffered_bytes

    @property
    def close_reason(self) -> str:
        """Why the transport is closed (``""`` while it is open)."""
        return self._detail

    @property
    def send_buffer_bytes(self) -> int:
        """Bytes accepted and not yet handed to the kernel (this side's buffer and the event
        loop's write buffer)."""
        link = self._link
        waiting = 0 if link is None or link.is_closing() else link.get_write_buffer_size()
        return len(self._wbuf) + waiting

    @property
    def recv_buffer_bytes(self) -> int:
        """Bytes read from the socket and not yet taken by ``recv`` (complete frames' payloads
        and the incomplete frame being read)."""
        return self._inbox_bytes + self._decoder.buffered

    def _append(self, data: bytes, size: int) -> None:
        wbuf = self._wbuf
        wbuf += frame_header(size)
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
        self._inbox_bytes -= len(data)
        if self._reading_paused:
            self._maybe_resume_reading()
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
            self._inbox_bytes = 0
        else:
            popleft = inbox.popleft
            batch = [popleft() for _ in range(limit)]
            self._inbox_bytes -= sum(map(len, batch))
        if self._reading_paused:
            self._maybe_resume_reading()
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
                    wake_all(self._getters)
                raise
        return True

    def _maybe_resume_reading(self) -> None:
        if len(self._inbox) <= self._resume_at and self._inbox_bytes <= self._resume_bytes:
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
        link.write(GREETING)

    def _on_data(self, data: bytes) -> None:
        if self._closed:
            return
        inbox = self._inbox
        before = len(inbox)
        try:
            size = self._decoder.feed(data, inbox.append)
        except TransportClosed as error:
            taken = list(itertools.islice(inbox, before, None))  # the frames before the fault
            self.received += len(taken)
            self._inbox_bytes += sum(map(len, taken))
            if isinstance(error.__cause__, FrameTooLarge):
                self.oversized += 1
            self._fail(error)
            return
        count = len(inbox) - before
        if count:
            self.received += count
            self._inbox_bytes += size
            wake_first(self._getters)
            if not self._reading_paused and (
                len(inbox) >= self.capacity or self._inbox_bytes >= self.max_buffered_bytes
            ):
                self._reading_paused = True
                if self._link is not None:
                    self._link.pause_reading()

    def _on_eof(self) -> None:
        if self._closed:
            return  # after our close(): the peer has closed too; the loop closes the socket
        try:
            self._decoder.end()
        except TransportClosed as error:
            self._fail(error)
            return
        self._mark_ended(self._why_ended(None))

    def _on_lost(self, exc: Exception | None) -> None:
        if not self._closed:
            self._mark_ended(self._why_ended(exc))
        self._drop_unsent()
        self._paused = False
        if not self._lost.done():
            self._lost.set_result(None)

    def _pause_writing(self) -> None:
        self._paused = True

    def _resume_writing(self) -> None:
        self._paused = False
        self._flush()
        wake_all(self._room)

    # -------------------------------------------------------------------------- internals

    def _why_ended(self, exc: Exception | None) -> str:
        if not self._decoder.greeted:
            cause = "" if exc is None else f" ({exc})"
            return (
                f"the peer closed the connection before greeting{cause}; a listener closes "
                "connections from users not in its allowed_uids at once (see its log)"
            )
        if exc is None:
            return "the peer closed the connection"
        return f"the connection was lost ({exc})"

    def _fail(self, error: TransportClosed) -> None:
        """The peer broke the protocol: end the connection; ``recv`` reports it once."""
        self._error = error
        self._mark_ended(error.detail)
        log.warning("transport %s closed: %s", self._describe(), error.detail)
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

    def _wake_everyone(self) -> None:
        wake_all(self._getters)
        wake_all(self._room)

    def _describe(self) -> str:
        return f"UnixSocketTransport({self.name!r})"

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<{self._describe()} {state} sent={self.sent} received={self.received} "
            f"undelivered={self.undelivered} inbox={len(self._inbox)}>"
        )


@final
class UnixSocketListener(SocketListener[UnixSocketTransport]):
    """A listening Unix socket; each accepted connection is a :class:`UnixSocketTransport`.

    Made by :meth:`UnixSocketTransport.listen` (see it for ``mode``, ``allowed_uids`` and
    ``backlog``); ``listener.py`` holds how it listens and accepts (see ``SocketListener``:
    ``accept``, ``close``, the counters ``accepted`` and ``refused``). Each accepted end gets
    this listener's ``max_frame_size``, ``capacity`` and ``max_buffered_bytes``.
    """

    __slots__ = ("capacity", "max_buffered_bytes", "max_frame_size")

    def __init__(
        self,
        path: str,
        sock: socket.socket,
        *,
        allowed_uids: frozenset[int],
        max_frame_size: int,
        capacity: int,
        max_buffered_bytes: int,
    ) -> None:
        """Made by :meth:`UnixSocketTransport.listen`, with ``sock`` listening at ``path``."""
        self.max_frame_size = max_frame_size
        self.capacity = capacity
        self.max_buffered_bytes = max_buffered_bytes
        super().__init__(path, sock, allowed_uids=allowed_uids)

    def _open(
        self, conn: socket.socket, name: str
    ) -> tuple[UnixSocketTransport, Awaitable[object]]:
        end = UnixSocketTransport(
            name=name,
            max_frame_size=self.max_frame_size,
            capacity=self.capacity,
            max_buffered_bytes=self.max_buffered_bytes,
        )
        return end, self._loop.connect_accepted_socket(lambda: _Link(end), conn)


class _Link(asyncio.Protocol):
    """Forwards the event loop's protocol callbacks to a :class:`UnixSocketTransport`."""

    def __init__(self, end: UnixSocketTransport) -> None:
        self.end = end
        self.data_received = end._on_data  # type: ignore[method-assign]  # one hop less

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but implement it.
        self.end._on_made(cast("asyncio.Transport", transport))

    def eof_received(self) -> bool:
        self.end._on_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.end._on_lost(exc)

    def pause_writing(self) -> None:
        self.end._pause_writing()

    def resume_writing(self) -> None:
        self.end._resume_writing()


def _not_serialized(msg: object) -> TypeError:
    if isinstance(msg, ActorMessage):
        return TypeError(
            "UnixSocketTransport carries serialized messages only; encode first: "
            "ActorMessage.serialized(encoder.encode(obj)), or use RemoteActorRef"
        )
    return TypeError(f"a transport carries ActorMessage, got {type(msg).__name__}")


def _check_limits(max_frame_size: int, capacity: int, max_buffered_bytes: int) -> None:
    if not 1 <= max_frame_size <= MAX_FRAME_LIMIT:
        raise ValueError(f"max_frame_size must be in [1, 2**32 - 1], got {max_frame_size}")
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
    if max_buffered_bytes < 1:
        raise ValueError(f"max_buffered_bytes must be >= 1, got {max_buffered_bytes}")
