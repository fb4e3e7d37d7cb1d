"""``ActorServer``: serves a local actor to a ``RemoteActorRef`` in another process (Phase 2).

The receiving half of location transparency: frames arriving on a transport are decoded as
the message type given here and delivered to a local ``ActorRef``; questions are answered
through the same transport. See ``remote.py`` for the sending half and ``_wire.py`` for the
envelope.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import traceback
from types import UnionType
from typing import Any, Final, Generic, TypeVar, final

import msgspec

from ._wire import (
    ASK,
    ENVELOPE_DECODER,
    ENVELOPE_VERSION,
    ERROR,
    RAISED,
    REFUSED,
    REPLY,
    STOPPED,
    TELL,
    Pipe,
    decoder_for,
    describe_type,
    typed_envelope_decoder,
)
from .actor_ref import ActorRef
from .errors import ActorStopped, MessageTypeError, TransportClosed
from .local_ref import Ask, LocalActorRef
from .transport.base import Transport

__all__ = ["ActorServer", "serve"]

log = logging.getLogger("mycelium")

S = TypeVar("S")

_MAX_TRACEBACK: Final = 4000
"""Characters of a remote traceback sent back with an error (its end, where the raise is)."""


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
        "_decode_envelope",
        "_decoder",
        "_encode",
        "_expected",
        "_late",
        "_loop",
        "_pipe",
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
        self._decoder = decoder_for(message_type, "ActorServer")
        self._expected = describe_type(message_type)
        self._decode_envelope = typed_envelope_decoder(message_type).decode
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._pipe = Pipe(transport)
        self._ref = ref
        self._encode = msgspec.msgpack.Encoder().encode
        self.name = name or f"ActorServer({ref.name or ref.id})"
        self.delivered = 0
        self.answered = 0
        self.failed = 0
        self.rejected = 0
        self.undelivered = 0
        self.unanswered = 0
        self.error: TransportClosed | None = None
        # Answers waiting for room in the transport (kept here: the loop holds tasks weakly).
        self._late: set[asyncio.Task[None]] = set()
        self._task = self._loop.create_task(self._run(), name=self.name)

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
        recv_batch = self._pipe.recv_batch
        decode = self._decode_envelope
        ref = self._ref
        try:
            while batch := await recv_batch():
                for frame in batch:
                    try:
                        envelope = decode(frame)
                    except msgspec.DecodeError:
                        self._refuse_frame(frame)
                        continue
                    kind = envelope.kind
                    if envelope.version != ENVELOPE_VERSION or kind not in (TELL, ASK):
                        self._refuse_frame(frame)
                    elif kind == TELL:
                        try:
                            await ref.send(envelope.payload)
                        except MessageTypeError as exc:
                            self._refuse(0, exc)
                        except ActorStopped as exc:
                            self.undelivered += 1
                            self._report(0, STOPPED, exc)
                        else:
                            self.delivered += 1
                    else:
                        await self._deliver_ask(envelope.id, envelope.payload)
        except TransportClosed as exc:
            self.error = exc
            log.warning("%s: %s", self.name, exc)
        finally:
            self._transport.close()

    def _refuse_frame(self, frame: bytes) -> None:
        """Refuse a frame that did not decode as a message envelope, saying precisely why."""
        question = 0
        try:
            envelope = ENVELOPE_DECODER.decode(frame)
            question = envelope.id if envelope.kind == ASK else 0
            if envelope.version != ENVELOPE_VERSION or envelope.kind not in (TELL, ASK):
                raise msgspec.DecodeError(
                    f"unknown envelope (version {envelope.version}, kind {envelope.kind}); "
                    f"this side speaks version {ENVELOPE_VERSION}"
                )
            self._decoder.decode(envelope.payload)  # raises the error, with the field's path
            raise msgspec.DecodeError("the envelope does not decode")  # pragma: no cover
        except msgspec.DecodeError as exc:
            self._refuse(question, exc)

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
                self._report(question, STOPPED, exc)
                return
        else:
            reply = self._loop.create_task(ref.ask(msg, timeout=None))  # pyright: ignore[reportArgumentType]
        self.delivered += 1
        reply.add_done_callback(functools.partial(self._answer, question))

    def _answer(self, question: int, reply: asyncio.Future[Any]) -> None:
        if reply.cancelled():
            self._report(question, STOPPED, asyncio.CancelledError("the handler was cancelled"))
            return
        exc = reply.exception()
        if exc is None:
            try:
                data = self._encode((ENVELOPE_VERSION, REPLY, question, reply.result()))
            except Exception as error:  # TypeError, OverflowError, EncodeError...
                self._report(question, RAISED, error, "the answer cannot be encoded: ")
                return
            self.answered += 1
            self._send_back(data)
        elif isinstance(exc, ActorStopped):
            self._report(question, STOPPED, exc)
        elif isinstance(exc, MessageTypeError):
            self._refuse(question, exc)
        else:
            self._report(question, RAISED, exc)

    def _refuse(self, question: int, exc: BaseException) -> None:
        self.rejected += 1
        log.warning("%s refused a message: %s", self.name, exc)
        self._report(question, REFUSED, exc)

    def _report(self, question: int, code: int, exc: BaseException, prefix: str = "") -> None:
        if code == RAISED:
            self.failed += 1
            tb = "".join(traceback.format_exception(exc))[-_MAX_TRACEBACK:]
            failure = (code, type(exc).__qualname__, prefix + str(exc), tb)
        elif code == REFUSED:
            expected = exc.expected if isinstance(exc, MessageTypeError) else self._expected
            failure = (code, expected, str(exc), "")
        else:
            failure = (code, type(exc).__qualname__, str(exc), "")
        self._send_back(self._encode((ENVELOPE_VERSION, ERROR, question, failure)))

    def _send_back(self, data: bytes) -> None:
        """Send an answer or a notice without waiting, or in a task when the transport is full
        (answers may overtake one another; each names its question)."""
        send_nowait = self._pipe.send_nowait
        try:
            if send_nowait is None:
                raise asyncio.QueueFull
            send_nowait(data)
        except asyncio.QueueFull:
            task = self._loop.create_task(self._send_later(data))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
        except TransportClosed:
            self.unanswered += 1

    async def _send_later(self, data: bytes) -> None:
        try:
            await self._pipe.send(data)
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
