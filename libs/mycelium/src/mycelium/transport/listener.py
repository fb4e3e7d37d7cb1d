"""Listening on a Unix socket: the socket file, who may connect, and taking connections.

:class:`SocketListener` is the listener of ``UnixSocketTransport`` without the transport: it
creates the socket file (``mode``), takes connections from the kernel only in ``accept()``
(those not accepted yet wait in the kernel's listen queue, at most ``backlog``), refuses peers
whose uid (``SO_PEERCRED``) is not in ``allowed_uids``, and hands each admitted connection to
:meth:`SocketListener._open`, which makes one end of a connection of it (``unix.py``'s
``UnixSocketListener`` makes a ``UnixSocketTransport``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import stat
import struct
from collections import deque
from collections.abc import Awaitable, Iterable
from typing import Final, Generic, Protocol, Self, TypeVar

from mycelium.errors import TransportClosed

from ._socket_path import bind_unix_socket, identity
from ._waiters import wake_all, wake_first

__all__ = ["DEFAULT_BACKLOG", "DEFAULT_MODE", "SocketListener", "check_uids", "listening_socket"]

log = logging.getLogger("mycelium")

DEFAULT_MODE: Final = 0o600
"""Mode of a listener's socket file: read and write for its owner only."""

DEFAULT_BACKLOG: Final = 100
"""Connections that may wait in the kernel for ``accept()``; the kernel refuses more."""

_SO_PEERCRED: Final[int | None] = getattr(socket, "SO_PEERCRED", None)
_PEERCRED: Final = struct.Struct("3i")  # struct ucred: pid, uid, gid


class _End(Protocol):
    """What a listener needs of the ends it makes: closing one nobody will take."""

    def close(self) -> None: ...


E = TypeVar("E", bound=_End)


def listening_socket(path: str, *, replace: bool, backlog: int, mode: int) -> socket.socket:
    """A non-blocking socket listening at ``path``, its file created with ``mode``.

    Raises:
        SocketPathInUse, SocketPathError: see ``bind_unix_socket``.
        ValueError: ``backlog`` or ``mode`` out of range.
    """
    if isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 1:
        raise ValueError(f"backlog must be an int >= 1, got {backlog!r}")
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
        raise ValueError(f"mode must be permission bits in [0, 0o777], got {mode!r}")
    sock = bind_unix_socket(path, replace=replace)
    try:
        # Before listen(): until then every connection attempt is refused, so nobody can
        # connect through the umask's wider mode.
        os.chmod(path, mode)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return sock


def check_uids(allowed_uids: Iterable[int] | None) -> frozenset[int]:
    """``allowed_uids`` as a set, checked; ``None`` is this process's effective uid.

    Raises:
        TypeError: not an iterable of ints.
        ValueError: a negative uid.
    """
    if allowed_uids is None:
        return frozenset((os.geteuid(),))
    if isinstance(allowed_uids, (str, bytes)) or not isinstance(allowed_uids, Iterable):
        raise TypeError(
            f"allowed_uids must be an iterable of uids (ints), got {type(allowed_uids).__name__}"
        )
    uids = frozenset(allowed_uids)
    for uid in uids:
        if isinstance(uid, bool) or not isinstance(uid, int):
            raise TypeError(f"allowed_uids must hold ints, got {uid!r}")
        if uid < 0:
            raise ValueError(f"a uid is >= 0, got {uid} in allowed_uids")
    return uids


class SocketListener(Generic[E]):
    """A listening Unix socket; each accepted connection becomes an ``E`` made by ``_open``.

    Connections are taken from the kernel only by ``accept()``, one per call, so those not
    accepted yet cost this process nothing: they wait in the kernel's listen queue, at most
    ``backlog`` of them. Use it as an async context manager, or call ``close()``: it stops
    listening, closes connections not yet accepted, and unlinks the socket file (unless
    another file has replaced it since).

    Counters: ``accepted`` (connections ``accept()`` returned), ``refused`` (peers closed at
    once because their uid is not in ``allowed_uids``; each is logged with the reason).

    Subclasses implement ``_open``.
    """

    __slots__ = (
        "_closed",
        "_count",
        "_identity",
        "_loop",
        "_ready",
        "_sock",
        "_waiters",
        "_watching",
        "accepted",
        "allowed_uids",
        "path",
        "refused",
    )

    def __init__(self, path: str, sock: socket.socket, *, allowed_uids: frozenset[int]) -> None:
        """Listen with ``sock``, listening at ``path`` (see ``listening_socket``)."""
        self.path = path
        self.allowed_uids = allowed_uids
        self.accepted = 0
        self.refused = 0
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        self._identity = identity(path)
        # Connections set up for an accept() that was cancelled meanwhile: the next one takes
        # them. Invariant: empty once closed.
        self._ready: deque[E] = deque()
        # Invariant: the socket is watched for readability exactly while accept() calls wait.
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._watching = False
        self._closed = False
        self._count = 0
        if _SO_PEERCRED is None:  # pragma: no cover - Linux has it
            log.warning(
                "%r: this platform cannot tell the uid of a peer (no SO_PEERCRED); only the "
                "socket file's mode (%o) limits who may connect",
                self,
                stat.S_IMODE(os.stat(path).st_mode),
            )

    def _open(self, conn: socket.socket, name: str) -> tuple[E, Awaitable[object]]:
        """The end made of the accepted ``conn`` (named ``name``), and the set-up to await
        before it is usable; on an ``OSError`` of the set-up the listener closes ``conn``."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    async def accept(self) -> E:
        """The next connection from an allowed peer, waiting for one.

        Peers whose uid is not allowed are closed, logged and counted in ``refused`` on the
        way. Cancelled: no connection was taken (one being set up is kept for the next call).

        Raises:
            TransportClosed: the listener is closed.
            OSError: the kernel refused to hand over a connection (e.g. too many open files).
        """
        while True:
            if self._closed:
                raise TransportClosed(f"{type(self).__name__}({self.path!r})", "listener closed")
            if self._ready:
                self.accepted += 1
                return self._ready.popleft()
            conn = self._take()
            if conn is None:
                await self._wait_for_a_connection()
                continue
            self._count += 1
            end, opening = self._open(conn, f"{self.path}#{self._count}")
            setup = asyncio.ensure_future(opening)
            try:
                await asyncio.shield(setup)
            except asyncio.CancelledError:
                setup.add_done_callback(functools.partial(self._keep, end))
                raise
            except OSError:
                conn.close()
                raise
            if self._closed:
                end.close()
                continue
            self.accepted += 1
            return end

    def _take(self) -> socket.socket | None:
        """A connection from an allowed peer, if the kernel has one ready; never waits."""
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return None
            refusal = self._refusal(conn)
            if refusal is None:
                conn.setblocking(False)
                return conn
            conn.close()
            self.refused += 1
            log.warning("%r refused a connection: %s", self, refusal)

    def _refusal(self, conn: socket.socket) -> str | None:
        """Why the peer of ``conn`` may not connect, or None when it may."""
        if _SO_PEERCRED is None:  # pragma: no cover - Linux has it
            return None
        try:
            raw = conn.getsockopt(socket.SOL_SOCKET, _SO_PEERCRED, _PEERCRED.size)
        except OSError as exc:
            return f"the peer's credentials cannot be read ({exc.strerror})"
        pid, uid, _gid = _PEERCRED.unpack(raw)
        if uid in self.allowed_uids:
            return None
        return (
            f"the peer (pid {pid}) runs as uid {uid}, which is not in allowed_uids "
            f"{sorted(self.allowed_uids)}; pass allowed_uids=... to listen() to admit it"
        )

    async def _wait_for_a_connection(self) -> None:
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        self._watch()
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            if self._waiters and not self._closed:
                self._watch()  # pass a wake-up on: another accept() may find a connection too
            else:
                self._unwatch()

    def _watch(self) -> None:
        if not self._watching:
            self._watching = True
            self._loop.add_reader(self._sock.fileno(), self._on_readable)

    def _unwatch(self) -> None:
        if self._watching:
            self._watching = False
            self._loop.remove_reader(self._sock.fileno())

    def _on_readable(self) -> None:
        """A connection waits in the kernel: wake one accept() to take it."""
        self._unwatch()
        wake_first(self._waiters)

    def _keep(self, end: E, setup: asyncio.Future[object]) -> None:
        """Done callback of a set-up whose accept() was cancelled: keep its connection."""
        if setup.cancelled() or setup.exception() is not None:
            return
        if self._closed:
            end.close()
        else:
            self._ready.append(end)
            wake_all(self._waiters)

    def close(self) -> None:
        """Stop listening, close connections not yet accepted, unlink the socket. Idempotent.

        Connections still waiting in the kernel are reset by the kernel.
        """
        if self._closed:
            return
        self._closed = True
        self._unwatch()
        self._sock.close()
        while self._ready:
            self._ready.popleft().close()
        with contextlib.suppress(OSError):
            if identity(self.path) == self._identity:
                os.unlink(self.path)
        wake_all(self._waiters)

    async def wait_closed(self) -> None:
        """Wait until the listening socket is closed (call ``close()`` first).

        ``close()`` closes it at once: this returns without waiting.
        """

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "listening"
        return (
            f"<{type(self).__name__} {self.path!r} {state} accepted={self.accepted} "
            f"refused={self.refused}>"
        )
