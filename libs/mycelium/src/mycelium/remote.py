"""``RemoteActorRef``: an ``ActorRef`` to an actor in another process (Phase 2).

A ``RemoteActorRef[M]`` sends through a duplex transport (a
:class:`~mycelium.transport.unix.UnixSocketTransport`) to an
:class:`~mycelium.server.ActorServer`, which delivers to the actor on the other side. Code
holding the ref cannot tell it from a local one: ``send``, ``try_send`` and ``ask`` keep their
meaning, and errors map onto the same classes, plus ``TransportClosed`` when the other process
is gone.

The runtime knows no message schema: the message type (a msgspec-encodable class, or a union
of tagged ``msgspec.Struct``) is given to both sides, and messages travel as msgpack in the
envelope described in ``_wire.py``.

Relay example: the signal actor in one process, its sender in another::

    # process B: serves the actor
    async with ActorSystem() as system, await UnixSocketTransport.listen(path) as listener:
        signals = await system.spawn(SignalActor())
        server = serve(await listener.accept(), signals, SignalMessage)
        await server.wait_closed()          # until A closes the connection

    # process A: sends to it as to any ActorRef
    ref: ActorRef[SignalMessage] = RemoteActorRef(
        await UnixSocketTransport.connect(path), SignalMessage, name="signals"
    )
    await ref.send(signal)
    await ref.aclose()                      # everything sent is written, then EOF
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import TYPE_CHECKING, Any, TypeVar, final

import msgspec

from ._wire import (
    ASK,
    ENVELOPE_DECODER,
    ENVELOPE_VERSION,
    ERROR,
    FAILURE_DECODER,
    RAISED,
    REFUSED,
    REPLY,
    STOPPED,
    TELL,
    Failure,
    Pipe,
    decoder_for,
    message_check,
)
from .actor_ref import ActorId, ActorRef
from .errors import (
    ActorStopped,
    AskTimeout,
    MailboxFull,
    MessageTypeError,
    RemoteError,
    TransportClosed,
)
from .transport.base import Transport

if TYPE_CHECKING:
    from typing_extensions import TypeForm

__all__ = ["RemoteActorRef"]

log = logging.getLogger("mycelium")

M = TypeVar("M", contravariant=True)
S = TypeVar("S")


@final
class RemoteActorRef(ActorRef[M]):
    """A ref to an actor served by an ``ActorServer`` at the other end of ``transport``.

    ``RemoteActorRef(transport, MarketMessage, name="signal")`` checks every message against
    ``message_type`` at the sender (``MessageTypeError``, nothing sent), encodes it with msgpack
    and sends it as one frame. The ref owns the transport: it is the only reader of its replies
    (a reader task started here, so build the ref inside a running event loop), and
    ``close()``/``aclose()`` close the transport. The ref's type follows ``message_type``, a
    union alias too (``RemoteActorRef(t, MarketMessage)`` is a
    ``RemoteActorRef[MarketMessage]``, typed with ``TypeForm``), so a type checker checks
    every send through it. A ref is always true (``ref or fallback`` keeps the ref).

    Ordering: messages sent through one ref are delivered to the remote actor in the order sent
    (``send``, ``try_send`` and ``ask`` alike).
    Delivery: at most once. ``send``/``try_send`` return once the frame is in the transport's
    buffer: they do not wait for the remote mailbox. A message the remote side refuses
    (undecodable, of the wrong type there, or the actor stopped) is answered with an error: for
    an ``ask`` it is raised by ``ask``; for a tell it is counted in ``rejected`` and logged, and
    an actor reported stopped makes later calls raise ``ActorStopped``. When the connection
    breaks, frames still buffered are counted by the transport (``undelivered``), pending asks
    raise ``TransportClosed`` and so do later calls. Only ``ask`` confirms delivery.
    Backpressure: ``send`` waits while the transport is full (the remote mailbox full, then the
    socket, then the transport's buffer); ``try_send`` raises ``MailboxFull`` instead and counts
    the message in ``dropped``.
    Threads: loop-affine.
    """

    __slots__ = (
        "_check",
        "_encode",
        "_id",
        "_loop",
        "_name",
        "_next_question",
        "_pending",
        "_pipe",
        "_reader",
        "_reply_decoder",
        "_send_nowait",
        "_stopped",
        "_transport",
        "dropped",
        "last_rejection",
        "rejected",
    )

    def __init__(
        self: RemoteActorRef[S],
        transport: Transport,
        message_type: TypeForm[S],
        *,
        name: str | None = None,
        reply_type: object = Any,
    ) -> None:
        """Wrap ``transport``, whose other end is served by an ``ActorServer``.

        ``message_type`` is what the remote actor handles; ``reply_type`` is the type answers to
        ``ask`` are decoded as (default: plain msgpack values, e.g. a Struct comes back as a
        dict or list; give its class to get it back typed).

        Raises:
            TypeError: ``message_type`` cannot be checked at runtime or decoded by msgspec.
            RuntimeError: no running event loop.
        """
        self._check = message_check(message_type, "RemoteActorRef")
        self._reply_decoder = decoder_for(reply_type, "RemoteActorRef")
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._pipe = Pipe(transport)
        self._send_nowait = self._pipe.send_nowait
        self._encode = msgspec.msgpack.Encoder().encode
        self._id = ActorId.next_value()
        self._name = name
        self._next_question = itertools.count(1).__next__
        # Invariant: every pending question's future is in _pending until ask returns; the
        # reader fails them all when the transport ends.
        self._pending: dict[int, tuple[asyncio.Future[Any], object]] = {}
        self._stopped: str | None = None
        self.dropped = 0
        self.rejected = 0
        self.last_rejection: str | None = None
        self._reader = self._loop.create_task(self._read(), name=f"mycelium-remote-{self.label}")

    # ------------------------------------------------------------------------- the ActorRef

    @property
    def is_alive(self) -> bool:
        """True until the transport closes or the remote side reports the actor stopped."""
        return self._stopped is None and not self._transport.closed

    @property
    def label(self) -> str:
        """How logs and errors name this ref: ``name#id``, or ``remote#id``."""
        return f"{self._name or 'remote'}#{self._id}"

    @property
    def transport(self) -> Transport:
        """The transport this ref sends through."""
        return self._transport

    def try_send(self, msg: M, /) -> None:
        """Send ``msg`` without waiting (see the class docstring for what it guarantees).

        Raises:
            MessageTypeError: ``msg`` is not of the message type; nothing was sent.
            MailboxFull: the transport is full; counted in ``dropped``.
            ActorStopped: the remote side reported the actor stopped.
            TransportClosed: the connection is closed.
            TypeError: the transport has no ``send_nowait``.
        """
        if type(msg) not in self._check.accepted:
            self._admit(msg)
        if self._stopped is not None:
            raise ActorStopped(self.label, msg, reason=self._stopped)
        send_nowait = self._send_nowait
        if send_nowait is None:
            raise TypeError(f"{self._transport!r} cannot send without waiting; use `await send`")
        try:
            send_nowait(self._encode((ENVELOPE_VERSION, TELL, 0, msg)))
        except asyncio.QueueFull:
            self.dropped += 1
            raise MailboxFull(self.label, getattr(self._transport, "capacity", 0), msg) from None

    tell = try_send

    async def send(self, msg: M, /) -> None:
        """Send ``msg``, waiting while the transport is full.

        Returns once the frame is accepted by the transport. Cancelled while waiting: nothing
        was sent.

        Raises:
            MessageTypeError: ``msg`` is not of the message type; nothing was sent.
            ActorStopped: the remote side reported the actor stopped.
            TransportClosed: the connection is closed (also while waiting).
        """
        if type(msg) not in self._check.accepted:
            self._admit(msg)
        if self._stopped is not None:
            raise ActorStopped(self.label, msg, reason=self._stopped)
        frame = self._encode((ENVELOPE_VERSION, TELL, 0, msg))
        send_nowait = self._send_nowait
        if send_nowait is not None:
            try:
                send_nowait(frame)
            except asyncio.QueueFull:
                pass
            else:
                return
        await self._pipe.send(frame)

    async def ask(self, msg: M, /, *, timeout: float | None = 5.0) -> Any:
        """Send ``msg`` and return the remote handler's answer, decoded as ``reply_type``.

        The timeout covers the wait for room in the transport as well as the wait for the
        answer (a question that timed out before it was sent is not sent). A late answer is
        discarded. Cancelled: the question may still be handled remotely; its answer is
        discarded.

        Raises:
            AskTimeout: no answer within ``timeout`` seconds (``None``: wait forever).
            MessageTypeError: ``msg`` is not of the message type (nothing sent), or the remote
                side could not decode it as its own message type.
            ActorStopped: the remote actor is stopped, or stopped before answering.
            RemoteError: the remote handler raised; carries its type name and message.
            TransportClosed: the connection closed before the answer arrived.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 or None, got {timeout}")
        if type(msg) not in self._check.accepted:
            self._admit(msg)
        if self._stopped is not None:
            raise ActorStopped(self.label, msg, reason=self._stopped)
        loop = self._loop
        question = self._next_question()
        frame = self._encode((ENVELOPE_VERSION, ASK, question, msg))
        reply: asyncio.Future[Any] = loop.create_future()
        expiry = (
            None
            if timeout is None
            else loop.call_later(timeout, _expire, reply, self.label, timeout, msg)
        )
        self._pending[question] = (reply, msg)
        try:
            send_nowait = self._send_nowait
            try:
                if send_nowait is None:
                    raise asyncio.QueueFull
                send_nowait(frame)
            except asyncio.QueueFull:
                await self._send_before(frame, reply)
            return await reply
        finally:
            del self._pending[question]
            if expiry is not None:
                expiry.cancel()

    async def _send_before(self, frame: bytes, reply: asyncio.Future[Any]) -> None:
        """Send ``frame``, waiting for room, unless ``reply`` fails first (the ask timed out).

        If ``reply`` fails first the send is cancelled: the question was never sent.
        """
        sending = self._loop.create_task(self._pipe.send(frame))
        await asyncio.wait((sending, reply), return_when=asyncio.FIRST_COMPLETED)
        if not sending.done():
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
        else:
            sending.result()  # raises what the send raised

    # ----------------------------------------------------------------------------- closing

    def close(self) -> None:
        """Close the transport (buffered frames are still written). Idempotent.

        Pending asks then raise ``TransportClosed``; later calls raise it too.
        """
        self._transport.close()

    async def aclose(self) -> None:
        """Close, then wait until the reader has finished and the transport is closed."""
        self.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._reader)
        wait_closed = getattr(self._transport, "wait_closed", None)
        if wait_closed is not None:
            await wait_closed()

    # -------------------------------------------------------------------------- internals

    def _admit(self, msg: object) -> None:
        check = self._check
        if not check.admits(msg):
            raise MessageTypeError(self.label, check.expected, msg)

    async def _read(self) -> None:
        """Take every frame the server sends back: answers and refusal notices."""
        recv_batch = self._pipe.recv_batch
        on_frame = self._on_frame
        why = "the connection closed"
        try:
            while batch := await recv_batch():
                for frame in batch:
                    on_frame(frame)
            why = getattr(self._transport, "close_reason", "") or why
        except TransportClosed as exc:
            why = str(exc)
        except Exception as exc:
            log.exception("remote ref %s: reader failed", self.label)
            why = f"the reader failed ({exc!r})"
        finally:
            self._transport.close()
            for reply, _msg in self._pending.values():
                if not reply.done():
                    reply.set_exception(TransportClosed(repr(self._transport), why))

    def _on_frame(self, frame: bytes) -> None:
        try:
            envelope = ENVELOPE_DECODER.decode(frame)
        except msgspec.DecodeError as exc:
            log.error("remote ref %s: undecodable frame from the server: %s", self.label, exc)
            return
        entry = self._pending.get(envelope.id) if envelope.id else None
        if envelope.kind == REPLY and entry is not None:
            reply = entry[0]
            if reply.done():
                return
            try:
                reply.set_result(self._reply_decoder.decode(envelope.payload))
            except msgspec.DecodeError as exc:
                reply.set_exception(exc)
        elif envelope.kind == ERROR:
            try:
                failure = FAILURE_DECODER.decode(envelope.payload)
            except msgspec.DecodeError as exc:
                failure = Failure(RAISED, "DecodeError", f"unreadable error report: {exc}")
            if failure.code == STOPPED:
                self._stopped = f"remote: {failure.message}"
            if entry is None:
                self.rejected += 1
                self.last_rejection = (
                    f"refused (the remote actor handles {failure.type_name}): {failure.message}"
                    if failure.code == REFUSED
                    else f"{failure.type_name}: {failure.message}"
                )
                log.warning(
                    "remote actor %s refused a message: %s", self.label, self.last_rejection
                )
            elif not entry[0].done():
                entry[0].set_exception(self._error(failure, entry[1]))

    def _error(self, failure: Failure, msg: object) -> Exception:
        if failure.code == STOPPED:
            return ActorStopped(self.label, msg, reason=f"remote: {failure.message}")
        if failure.code == REFUSED:
            error = MessageTypeError(self.label, f"{failure.type_name} (remote)", msg)
            error.add_note(f"the remote side refused it: {failure.message}")
            return error
        return RemoteError(self.label, failure.type_name, failure.message, failure.traceback)


def _expire(reply: asyncio.Future[Any], label: str, timeout: float, msg: object) -> None:
    if not reply.done():
        reply.set_exception(AskTimeout(label, timeout, msg))
