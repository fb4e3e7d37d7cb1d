"""Location transparency across processes: ``RemoteActorRef`` and ``ActorServer`` (Phase 2).

A ``RemoteActorRef[M]`` is an ``ActorRef[M]`` whose actor lives at the other end of a duplex
transport (a :class:`~mycelium.transport.unix.UnixSocketTransport`); an ``ActorServer`` at that
other end decodes what arrives and delivers it to a local ``ActorRef``. Code holding the ref
cannot tell it from a local one: ``send``, ``try_send`` and ``ask`` keep their meaning, and
errors map onto the same classes (plus ``TransportClosed`` when the other process is gone).

The runtime knows no message schema: both sides are given the message type (a msgspec-encodable
class, or a union of tagged ``msgspec.Struct``), and messages travel as msgpack.

Wire envelope (version 1), one per transport frame, a msgpack array
``[version, kind, id, payload]``:

* ``TELL`` (1): ``payload`` is the message; ``id`` is 0. No answer, unless it is refused.
* ``ASK`` (2): ``payload`` is the message; ``id`` (>= 1) names the question.
* ``REPLY`` (3): ``payload`` is what the handler returned for question ``id``.
* ``ERROR`` (4): ``payload`` is ``[code, type_name, message, traceback]``: the handler raised
  (code 1), the message was refused (code 2: undecodable or of the wrong type), or the actor
  was stopped (code 3). ``id`` 0 reports a refused ``TELL``, which has no question to answer.

Readers ignore extra trailing array items, so later versions can add fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import traceback
from types import UnionType
from typing import Any, Final, Generic, TypeVar, final, overload

import msgspec

from ._message_type import MessageCheck, _describe, _runtime_classes  # pyright: ignore
from .actor_ref import ActorId, ActorRef
from .errors import (
    ActorStopped,
    AskTimeout,
    MailboxFull,
    MessageTypeError,
    RemoteError,
    TransportClosed,
)
from .local_ref import Ask, LocalActorRef
from .message import ActorMessage
from .transport.base import Transport

__all__ = ["ENVELOPE_VERSION", "ActorServer", "RemoteActorRef", "serve"]

log = logging.getLogger("mycelium")

M = TypeVar("M", contravariant=True)
S = TypeVar("S")

ENVELOPE_VERSION: Final = 1
"""Version of the envelope; a frame with another version is refused (and answered)."""

_TELL: Final = 1
_ASK: Final = 2
_REPLY: Final = 3
_ERROR: Final = 4

_RAISED: Final = 1
_REFUSED: Final = 2
_STOPPED: Final = 3

_MAX_TRACEBACK: Final = 4000


class _Envelope(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One frame's content, as read. Written as a plain tuple (same msgpack array)."""

    version: int
    kind: int
    id: int
    payload: msgspec.Raw


class _Failure(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """The payload of an ``ERROR`` envelope."""

    code: int
    type_name: str
    message: str
    traceback: str = ""


_ENVELOPE_DECODER: Final = msgspec.msgpack.Decoder(_Envelope)
_FAILURE_DECODER: Final = msgspec.msgpack.Decoder(_Failure)


def _message_check(message_type: object, owner: str) -> MessageCheck:
    try:
        classes = _runtime_classes(message_type, RemoteActorRef)
    except TypeError as exc:
        raise TypeError(
            f"{owner}: message_type {message_type!r} cannot be checked at runtime; give a class "
            "or a union of classes (e.g. a union of tagged msgspec Structs)"
        ) from exc
    return MessageCheck(classes, _describe(message_type))


def _decoder(message_type: object, owner: str) -> msgspec.msgpack.Decoder[Any]:
    try:
        return msgspec.msgpack.Decoder(message_type)
    except TypeError as exc:
        raise TypeError(
            f"{owner}: msgspec cannot decode message_type {message_type!r}: {exc}"
        ) from exc


@final
class RemoteActorRef(ActorRef[M]):
    """A ref to an actor served by an :class:`ActorServer` at the other end of ``transport``.

    ``RemoteActorRef(transport, MarketMessage, name="signal")`` checks every message against
    ``message_type`` at the sender (``MessageTypeError``, nothing sent), encodes it with msgpack
    and sends it as one frame. The ref owns the transport: it is the only reader of its replies
    (a reader task started here, so build the ref inside a running event loop), and
    ``close()``/``aclose()`` close the transport.

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
        "_reader",
        "_reply_decoder",
        "_send_nowait",
        "_stopped",
        "_transport",
        "dropped",
        "last_rejection",
        "rejected",
    )

    @overload
    def __init__(
        self: RemoteActorRef[S],
        transport: Transport,
        message_type: type[S],
        *,
        name: str | None = None,
        reply_type: object = Any,
    ) -> None: ...
    @overload
    def __init__(
        self: RemoteActorRef[Any],
        transport: Transport,
        message_type: UnionType,
        *,
        name: str | None = None,
        reply_type: object = Any,
    ) -> None: ...
    def __init__(
        self,
        transport: Transport,
        message_type: object,
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
        self._check = _message_check(message_type, "RemoteActorRef")
        self._reply_decoder = _decoder(reply_type, "RemoteActorRef")
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._send_nowait = getattr(transport, "send_nowait", None)
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
    def id(self) -> ActorId:
        return ActorId(self._id)

    @property
    def name(self) -> str | None:
        return self._name

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
            send_nowait(ActorMessage.serialized(self._encode((ENVELOPE_VERSION, _TELL, 0, msg))))
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
        frame = ActorMessage.serialized(self._encode((ENVELOPE_VERSION, _TELL, 0, msg)))
        send_nowait = self._send_nowait
        if send_nowait is not None:
            try:
                send_nowait(frame)
            except asyncio.QueueFull:
                pass
            else:
                return
        await self._transport.send(frame)

    async def ask(self, msg: M, /, *, timeout: float | None = 5.0) -> Any:
        """Send ``msg`` and return the remote handler's answer, decoded as ``reply_type``.

        The timeout covers the wait for room in the transport as well as the wait for the
        answer (a question that timed out before it was sent is not sent). A late answer is
        discarded. Cancelled: the question may still be
        handled remotely; its answer is discarded.

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
        frame = ActorMessage.serialized(self._encode((ENVELOPE_VERSION, _ASK, question, msg)))
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

    async def _send_before(self, frame: ActorMessage, reply: asyncio.Future[Any]) -> None:
        """Send ``frame``, waiting for room, unless ``reply`` fails first (the ask timed out).

        If ``reply`` fails first the send is cancelled: the question was never sent.
        """
        sending = self._loop.create_task(self._transport.send(frame))
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
        recv = self._transport.recv
        why = "the connection closed"
        try:
            while (frame := await recv()) is not None:
                self._on_frame(frame)
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

    def _on_frame(self, frame: ActorMessage) -> None:
        try:
            envelope = _ENVELOPE_DECODER.decode(frame.data)
        except msgspec.DecodeError as exc:
            log.error("remote ref %s: undecodable frame from the server: %s", self.label, exc)
            return
        entry = self._pending.get(envelope.id) if envelope.id else None
        if envelope.kind == _REPLY and entry is not None:
            reply = entry[0]
            if reply.done():
                return
            try:
                reply.set_result(self._reply_decoder.decode(envelope.payload))
            except msgspec.DecodeError as exc:
                reply.set_exception(exc)
        elif envelope.kind == _ERROR:
            try:
                failure = _FAILURE_DECODER.decode(envelope.payload)
            except msgspec.DecodeError as exc:
                failure = _Failure(_RAISED, "DecodeError", f"unreadable error report: {exc}")
            if failure.code == _STOPPED:
                self._stopped = f"remote: {failure.message}"
            if entry is None:
                self.rejected += 1
                self.last_rejection = (
                    f"refused (the remote actor handles {failure.type_name}): {failure.message}"
                    if failure.code == _REFUSED
                    else f"{failure.type_name}: {failure.message}"
                )
                log.warning(
                    "remote actor %s refused a message: %s", self.label, self.last_rejection
                )
            elif not entry[0].done():
                entry[0].set_exception(self._error(failure, entry[1]))

    def _error(self, failure: _Failure, msg: object) -> Exception:
        if failure.code == _STOPPED:
            return ActorStopped(self.label, msg, reason=f"remote: {failure.message}")
        if failure.code == _REFUSED:
            error = MessageTypeError(self.label, f"{failure.type_name} (remote)", msg)
            error.add_note(f"the remote side refused it: {failure.message}")
            return error
        return RemoteError(self.label, failure.type_name, failure.message, failure.traceback)


def _expire(reply: asyncio.Future[Any], label: str, timeout: float, msg: object) -> None:
    if not reply.done():
        reply.set_exception(AskTimeout(label, timeout, msg))


@final
class ActorServer(Generic[S]):
    """Serves one local actor to the ``RemoteActorRef`` at the other end of ``transport``.

    Each frame is decoded as ``message_type`` and delivered with ``await ref.send(msg)`` (or
    asked), one at a time in arrival order, so the order of the remote sender is kept and a full
    mailbox stops reading, which fills the socket and makes the remote ``send`` wait
    (backpressure end to end). Answers go back as they are ready, in any order.

    Nothing is ignored silently. A frame that cannot be decoded (garbage, a wrong envelope
    version, a message not of ``message_type``) or that the actor refuses (its own type check)
    is counted in ``rejected``, logged, and answered with an error (for a tell, a notice that
    the remote ref counts). A message the actor no longer accepts (stopped) is counted in
    ``undelivered`` and answered likewise. Answers that cannot be sent back (the connection is
    gone) are counted in ``unanswered``.

    The server runs in a task started here (build it inside a running loop); it ends when the
    transport ends: ``await server.wait_closed()``. ``close()`` closes the transport. Messages
    the server already passed to the actor are the actor's: they are handled, or counted as
    dead letters by the actor's system.

    With a local ref (from ``spawn``) an ask is enqueued in order with the tells and costs no
    task; with any other ref each ask runs in its own task, so a tell that follows it may be
    enqueued first.
    """

    __slots__ = (
        "_decoder",
        "_encode",
        "_late",
        "_loop",
        "_ref",
        "_task",
        "_transport",
        "answered",
        "delivered",
        "error",
        "failed",
        "name",
        "rejected",
        "unanswered",
        "undelivered",
    )

    def __init__(
        self,
        transport: Transport,
        ref: ActorRef[S],
        message_type: type[S] | UnionType,
        *,
        name: str | None = None,
    ) -> None:
        """Start serving ``ref`` over ``transport``.

        Raises:
            TypeError: msgspec cannot decode ``message_type``.
            RuntimeError: no running event loop.
        """
        self._decoder = _decoder(message_type, "ActorServer")
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._ref = ref
        self._encode = msgspec.msgpack.Encoder().encode
        self.name = name or f"server:{ref!r}"
        self.delivered = 0
        self.answered = 0
        self.failed = 0
        self.rejected = 0
        self.undelivered = 0
        self.unanswered = 0
        self.error: TransportClosed | None = None
        # Answers waiting for room in the transport (kept here: the loop holds tasks weakly).
        self._late: set[asyncio.Task[None]] = set()
        self._task = self._loop.create_task(self._run(), name=f"mycelium-{self.name}")

    @property
    def closed(self) -> bool:
        """True once the server has stopped reading."""
        return self._task.done()

    def close(self) -> None:
        """Close the transport; the server stops once it has read what had arrived."""
        self._transport.close()

    async def wait_closed(self) -> None:
        """Wait until the transport has ended and every frame read from it was delivered."""
        await asyncio.shield(self._task)

    # -------------------------------------------------------------------------- internals

    async def _run(self) -> None:
        recv = self._transport.recv
        decode_envelope = _ENVELOPE_DECODER.decode
        decode = self._decoder.decode
        ref = self._ref
        try:
            while (frame := await recv()) is not None:
                question = 0
                try:
                    envelope = decode_envelope(frame.data)
                    question = envelope.id if envelope.kind == _ASK else 0
                    if envelope.version != ENVELOPE_VERSION or envelope.kind not in (_TELL, _ASK):
                        raise msgspec.DecodeError(
                            f"unknown envelope (version {envelope.version}, kind "
                            f"{envelope.kind}); this side speaks version {ENVELOPE_VERSION}"
                        )
                    msg = decode(envelope.payload)
                except (msgspec.DecodeError, TypeError) as exc:
                    self._refuse(question, exc)
                    continue
                if question:
                    await self._deliver_ask(question, msg)
                    continue
                try:
                    await ref.send(msg)
                except MessageTypeError as exc:
                    self._refuse(0, exc)
                except ActorStopped as exc:
                    self.undelivered += 1
                    self._report(0, _STOPPED, exc)
                else:
                    self.delivered += 1
        except TransportClosed as exc:
            self.error = exc
            log.warning("%s: %s", self.name, exc)
        finally:
            self._transport.close()

    async def _deliver_ask(self, question: int, msg: object) -> None:
        ref = self._ref
        if isinstance(ref, LocalActorRef):
            reply: asyncio.Future[Any] = self._loop.create_future()
            try:
                if type(msg) not in ref.accepts:
                    ref.admit(msg)
                # A friend of LocalActorRef: enqueue the question in order with the tells,
                # waiting for room (backpressure), without a task per question.
                await ref._enqueue(Ask(msg, reply), msg)  # pyright: ignore[reportPrivateUsage]
            except MessageTypeError as exc:
                self._refuse(question, exc)
                return
            except ActorStopped as exc:
                self.undelivered += 1
                self._report(question, _STOPPED, exc)
                return
        else:
            reply = self._loop.create_task(ref.ask(msg, timeout=None))  # pyright: ignore[reportArgumentType]
        self.delivered += 1
        reply.add_done_callback(functools.partial(self._answer, question))

    def _answer(self, question: int, reply: asyncio.Future[Any]) -> None:
        if reply.cancelled():
            self._report(question, _STOPPED, asyncio.CancelledError("the handler was cancelled"))
            return
        exc = reply.exception()
        if exc is None:
            try:
                data = self._encode((ENVELOPE_VERSION, _REPLY, question, reply.result()))
            except Exception as error:  # TypeError, OverflowError, EncodeError...
                self._report(question, _RAISED, error, "the answer cannot be encoded: ")
                return
            self.answered += 1
            self._send_back(data)
        elif isinstance(exc, ActorStopped):
            self._report(question, _STOPPED, exc)
        elif isinstance(exc, MessageTypeError):
            self._refuse(question, exc)
        else:
            self._report(question, _RAISED, exc)

    def _refuse(self, question: int, exc: BaseException) -> None:
        self.rejected += 1
        log.warning("%s refused a message: %s", self.name, exc)
        self._report(question, _REFUSED, exc)

    def _report(self, question: int, code: int, exc: BaseException, prefix: str = "") -> None:
        if code == _RAISED:
            self.failed += 1
            tb = "".join(traceback.format_exception(exc))[-_MAX_TRACEBACK:]
            failure = (code, type(exc).__qualname__, prefix + str(exc), tb)
        elif code == _REFUSED:
            failure = (code, self._expected(), str(exc), "")
        else:
            failure = (code, type(exc).__qualname__, str(exc), "")
        self._send_back(self._encode((ENVELOPE_VERSION, _ERROR, question, failure)))

    def _expected(self) -> str:
        check = getattr(self._ref, "check", None)
        expected = getattr(check, "expected", None)
        return expected if isinstance(expected, str) else "its message type"

    def _send_back(self, data: bytes) -> None:
        transport = self._transport
        frame = ActorMessage.serialized(data)
        send_nowait = getattr(transport, "send_nowait", None)
        try:
            if send_nowait is None:
                raise asyncio.QueueFull
            send_nowait(frame)
        except asyncio.QueueFull:
            task = self._loop.create_task(self._send_later(frame))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
        except TransportClosed:
            self.unanswered += 1

    async def _send_later(self, frame: ActorMessage) -> None:
        try:
            await self._transport.send(frame)
        except TransportClosed:
            self.unanswered += 1

    def __repr__(self) -> str:
        state = "closed" if self.closed else "serving"
        return (
            f"<ActorServer {self.name} {state} delivered={self.delivered} "
            f"answered={self.answered} rejected={self.rejected}>"
        )


def serve(
    transport: Transport,
    ref: ActorRef[S],
    message_type: type[S] | UnionType,
    *,
    name: str | None = None,
) -> ActorServer[S]:
    """Serve ``ref`` over ``transport``: ``ActorServer(transport, ref, message_type)``."""
    return ActorServer(transport, ref, message_type, name=name)
