"""``ActorServer``: serves a local actor to a ``RemoteActorRef`` in another process (Phase 2).

The receiving half of location transparency: frames arriving on a transport are decoded as
the message type given here and delivered to a local ``ActorRef``; questions are answered
through the same transport. See ``remote.py`` for the sending half, ``_wire.py`` for the
envelope and ``_wire_errors.py`` for how exceptions become error reports. What the server uses
of its transport is ``transport.base.FrameTransport``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, final

import msgspec

from ._wire import (
    ASK,
    ENVELOPE_DECODER,
    ENVELOPE_VERSION,
    ERROR,
    RAISED,
    REFUSED,
    REPLY,
    TELL,
    Failure,
    decoder_for,
    describe_type,
    typed_envelope_decoder,
)
from ._wire_errors import outcome, raised, refused, shortened, stopped, too_large
from .actor_ref import ActorRef
from .errors import ActorStopped, FrameTooLarge, MessageTypeError, TransportClosed, TransportFull
from .local_ref import Ask, LocalActorRef
from .transport.adapter import as_frame_transport
from .transport.base import FrameTransport, Transport

if TYPE_CHECKING:
    from typing_extensions import TypeForm

__all__ = ["DEFAULT_MAX_PENDING", "DEFAULT_MAX_PENDING_BYTES", "ActorServer", "serve"]

log = logging.getLogger("mycelium")

S = TypeVar("S")

DEFAULT_MAX_PENDING: Final = 1024
"""Asks a server delivers and has not answered yet before it holds off reading."""

DEFAULT_MAX_PENDING_BYTES: Final = 1024 * 1024
"""Bytes of those asks' frames before a server holds off reading."""


@final
class ActorServer(Generic[S]):
    """Serves one local actor to the ``RemoteActorRef`` at the other end of ``transport``.

    Each frame is decoded as ``message_type`` and delivered with ``await ref.send(msg)`` (or
    asked), one at a time in arrival order, so the order of the remote sender is kept and a full
    mailbox stops reading, which fills the socket and makes the remote ``send`` wait
    (backpressure end to end). Answers go back as they are ready, in any order.

    Backpressure on the reply path: the server reads the next frame only while

    * no answer waits in the server for room in the transport (a peer that does not read its
      answers fills the transport's buffer, bounded in bytes; the next answer then waits here
      and the server stops reading that connection until the peer reads again),
    * fewer than ``max_pending`` asks are delivered and not yet answered, and
    * those asks' frames total less than ``max_pending_bytes`` bytes.

    So a client that writes questions and never reads its answers holds in the server at most
    the transport's buffers (see ``UnixSocketTransport``), one batch of frames taken from it,
    and the answers to the asks already delivered (at most ``max_pending`` of them); its
    socket fills and its own writes block. Answers that wait are sent in order by one task per
    stall, never one per answer; refusal notices for tells take the same path.
    ``pending``, ``pending_bytes``, ``backlog``, ``backlog_bytes``, ``reading`` and ``pauses``
    show where the server stands.

    Nothing is ignored silently. A frame that cannot be decoded (garbage, a wrong envelope
    version, a message not of ``message_type``) or that the actor refuses (its own type check)
    is counted in ``rejected``, logged, and answered with an error (for a tell, a notice that
    the remote ref counts). A message the actor no longer accepts (stopped) is counted in
    ``undelivered`` and answered likewise. An answer (or error report) too large for one frame
    of the transport is counted in ``oversized``, logged, and replaced by an error saying so,
    which the asker raises as ``RemoteError`` (type name ``FrameTooLarge`` for a return value).
    Answers that cannot be sent back (the connection is gone) are counted in ``unanswered``.

    The server runs in a task started here (build it inside a running loop); it ends when the
    transport ends: ``await server.wait_closed()``. ``close()`` closes the transport. Messages
    the server already passed to the actor are the actor's: they are handled, or counted as
    dead letters by the actor's system.

    With a local ref (from ``spawn``) an ask is enqueued in order with the tells and costs no
    task; with any other ref each ask runs in its own task (at most ``max_pending`` at once),
    so a tell that follows it may be enqueued first.
    """

    __slots__ = (
        "_backlog",
        "_closing",
        "_decode_envelope",
        "_decoder",
        "_encode",
        "_expected",
        "_frames",
        "_held",
        "_hold",
        "_loop",
        "_max_frame",
        "_ref",
        "_resume",
        "_task",
        "_writer",
        "answered",
        "backlog_bytes",
        "delivered",
        "error",
        "failed",
        "max_pending",
        "max_pending_bytes",
        "name",
        "oversized",
        "pauses",
        "pending",
        "pending_bytes",
        "rejected",
        "unanswered",
        "undelivered",
    )

    def __init__(
        self,
        transport: FrameTransport | Transport,
        ref: ActorRef[S],
        message_type: TypeForm[S],
        *,
        name: str | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
    ) -> None:
        """Start serving ``ref`` over ``transport``.

        Raises:
            TypeError: msgspec cannot decode ``message_type``.
            ValueError: ``max_pending`` or ``max_pending_bytes`` < 1.
            RuntimeError: no running event loop.
        """
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError(f"max_pending must be an int >= 1, got {max_pending!r}")
        if (
            isinstance(max_pending_bytes, bool)
            or not isinstance(max_pending_bytes, int)
            or max_pending_bytes < 1
        ):
            raise ValueError(f"max_pending_bytes must be an int >= 1, got {max_pending_bytes!r}")
        self._decoder = decoder_for(message_type, "ActorServer")
        self._expected = describe_type(message_type)
        self._decode_envelope = typed_envelope_decoder(message_type).decode
        self._loop = asyncio.get_running_loop()
        self._frames = frames = as_frame_transport(transport)
        self._max_frame = frames.max_frame_size
        self._ref = ref
        self._encode = msgspec.msgpack.Encoder().encode
        self.name = name or f"ActorServer({ref.name or ref.id})"
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.delivered = 0
        self.answered = 0
        self.failed = 0
        self.rejected = 0
        self.undelivered = 0
        self.unanswered = 0
        self.oversized = 0
        self.pauses = 0
        # Invariant: pending / pending_bytes count the asks delivered to the actor whose answer
        # has not come back yet, and their frames' sizes.
        self.pending = 0
        self.pending_bytes = 0
        # Invariant: _backlog holds, in order, the frames the transport had no room for;
        # backlog_bytes is their total size; _writer is the one task sending them, running
        # exactly while _backlog is not empty.
        self._backlog: deque[tuple[int, bytes]] = deque()
        self.backlog_bytes = 0
        self._writer: asyncio.Task[None] | None = None
        # Invariant: _hold is True exactly when the reader must not take the next frame: an
        # answer waits in _backlog, or pending/pending_bytes reached their maximum. _resume is
        # the reader's wait while it holds.
        self._hold = False
        self._resume: asyncio.Future[None] | None = None
        self._held: tuple[list[bytes], int] | None = None
        self._closing: asyncio.Task[None] | None = None
        self.error: TransportClosed | None = None
        self._task = self._loop.create_task(self._run(), name=self.name)

    @property
    def closed(self) -> bool:
        """True once the server has stopped reading."""
        return self._task.done()

    @property
    def reading(self) -> bool:
        """False while the server holds off reading: an answer waits for room in the transport,
        or ``max_pending`` asks (or ``max_pending_bytes`` of them) wait for their answers."""
        return self._resume is None

    @property
    def backlog(self) -> int:
        """Answers and notices waiting in the server for room in the transport."""
        return len(self._backlog)

    @property
    def buffered_bytes(self) -> int:
        """Bytes the server itself holds: answers waiting for room, and the frames of the batch
        it took from the transport and has not handled yet while it holds off reading."""
        held = 0
        if self._held is not None:
            batch, start = self._held
            held = sum(map(len, batch[start:]))
        return self.backlog_bytes + held

    def close(self) -> None:
        """Close the transport; the server stops once it has read what had arrived."""
        self._frames.close()

    async def wait_closed(self) -> None:
        """Wait until the transport has ended and every frame read from it was delivered."""
        await asyncio.shield(self._task)

    # -------------------------------------------------------------------------- internals

    async def _run(self) -> None:
        transport = self._frames
        recv_batch = transport.recv_batch
        decode = self._decode_envelope
        ref = self._ref
        try:
            while batch := await recv_batch():
                for index, frame in enumerate(batch):
                    if self._hold and not transport.closed:
                        await self._wait_for_room(batch, index)
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
                            self._report(0, refused(exc, self._expected))
                        except ActorStopped as exc:
                            self.undelivered += 1
                            self._report(0, stopped(exc))
                        else:
                            self.delivered += 1
                    else:
                        await self._deliver_ask(envelope.id, envelope.payload, len(frame))
        except TransportClosed as exc:
            self.error = exc
            log.warning("%s: %s", self.name, exc)
        finally:
            transport.close()
            if self._closing is not None:
                self._closing.cancel()

    async def _wait_for_room(self, batch: list[bytes], index: int) -> None:
        """Hold off reading until the reply path has room again, or the transport has ended
        (what had arrived is then delivered: its answers are counted in ``unanswered``)."""
        frames = self._frames
        if self._closing is None:
            self._closing = self._loop.create_task(frames.wait_closed())
            self._closing.add_done_callback(self._on_transport_closed)
        self.pauses += 1
        self._held = (batch, index)
        try:
            while self._hold and not frames.closed:
                resume: asyncio.Future[None] = self._loop.create_future()
                self._resume = resume
                await resume
        finally:
            self._resume = None
            self._held = None

    def _on_transport_closed(self, _task: asyncio.Task[None]) -> None:
        self._wake_reader()

    def _wake_reader(self) -> None:
        resume = self._resume
        if resume is not None and not resume.done():
            resume.set_result(None)

    def _update_hold(self) -> None:
        hold = (
            bool(self._backlog)
            or self.pending >= self.max_pending
            or self.pending_bytes >= self.max_pending_bytes
        )
        self._hold = hold
        if not hold:
            self._wake_reader()

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
            self._report(question, refused(exc, self._expected))

    async def _deliver_ask(self, question: int, msg: object, size: int) -> None:
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
                self._report(question, refused(exc, self._expected))
                return
            except ActorStopped as exc:
                self.undelivered += 1
                self._report(question, stopped(exc))
                return
        else:
            reply = self._loop.create_task(ref.ask(msg, timeout=None))  # pyright: ignore[reportArgumentType]
        self.delivered += 1
        self.pending += 1
        self.pending_bytes += size
        if self.pending >= self.max_pending or self.pending_bytes >= self.max_pending_bytes:
            self._hold = True
        reply.add_done_callback(functools.partial(self._answer, question, size))

    def _answer(self, question: int, size: int, reply: asyncio.Future[Any]) -> None:
        self.pending -= 1
        self.pending_bytes -= size
        failure = outcome(reply, self._expected)
        if failure is None:
            self._reply(question, reply.result())
        else:
            self._report(question, failure)
        if self._hold:
            self._update_hold()

    def _reply(self, question: int, result: object) -> None:
        try:
            data = self._encode((ENVELOPE_VERSION, REPLY, question, result))
        except Exception as error:  # TypeError, OverflowError, EncodeError...
            self._report(question, raised(error, "the answer cannot be encoded: "))
            return
        limit = self._max_frame
        if limit is not None and len(data) > limit:
            self.oversized += 1
            log.warning(
                "%s: the answer to question %d is %d bytes, above max_frame_size=%d of the "
                "transport; the asker gets a RemoteError instead",
                self.name,
                question,
                len(data),
                limit,
            )
            self._send_error(question, too_large(len(data), limit))
            return
        self.answered += 1
        self._send_back(question, data)

    def _report(self, question: int, failure: Failure) -> None:
        """Count and send the error report ``failure`` (``question`` 0: a refused tell)."""
        if failure.code == RAISED:
            self.failed += 1
        elif failure.code == REFUSED:
            self.rejected += 1
            log.warning("%s refused a message: %s", self.name, failure.message)
        self._send_error(question, failure)

    def _send_error(self, question: int, failure: Failure) -> None:
        """Send an error report; one too large for a frame is shortened, and says so."""
        data = self._encode((ENVELOPE_VERSION, ERROR, question, failure))
        limit = self._max_frame
        if limit is not None and len(data) > limit:
            self.oversized += 1
            log.warning(
                "%s: the error report for question %d (%s) is %d bytes, above "
                "max_frame_size=%d of the transport; it is shortened",
                self.name,
                question,
                failure.type_name,
                len(data),
                limit,
            )
            data = self._encode(
                (ENVELOPE_VERSION, ERROR, question, shortened(failure, len(data), limit))
            )
            if len(data) > limit:
                data = self._encode(
                    (ENVELOPE_VERSION, ERROR, question, Failure(failure.code, "", "", ""))
                )
            if len(data) > limit:  # pragma: no cover - smaller than any question that fit
                self.unanswered += 1
                log.error(
                    "%s: max_frame_size=%d is too small for any error report; question %d "
                    "gets no answer",
                    self.name,
                    limit,
                    question,
                )
                return
        self._send_back(question, data)

    def _send_back(self, question: int, data: bytes) -> None:
        """Send an answer or a notice without waiting; when the transport has no room it waits
        in the backlog, in order, and the reader holds off (answers may overtake one another;
        each names its question)."""
        if not self._backlog:
            try:
                self._frames.send_bytes_nowait(data)
            except TransportFull:
                pass
            except TransportClosed:
                self.unanswered += 1
                return
            except FrameTooLarge as exc:  # a transport that does not tell its limit
                self._lost_to_size(question, exc)
                return
            else:
                return
        self._backlog.append((question, data))
        self.backlog_bytes += len(data)
        self._hold = True
        if self._writer is None:
            self._writer = self._loop.create_task(self._write_backlog(), name=f"{self.name}.w")

    async def _write_backlog(self) -> None:
        """Send the backlog in order, waiting for room; the one task of a stall."""
        backlog = self._backlog
        send = self._frames.send_bytes
        try:
            while backlog:
                question, data = backlog[0]
                try:
                    await send(data)
                except FrameTooLarge as exc:
                    self._lost_to_size(question, exc)
                backlog.popleft()
                self.backlog_bytes -= len(data)
        except TransportClosed:
            pass  # what is left is counted below
        finally:
            self.unanswered += len(backlog)
            backlog.clear()
            self.backlog_bytes = 0
            self._writer = None
            self._update_hold()

    def _lost_to_size(self, question: int, exc: FrameTooLarge) -> None:
        self.oversized += 1
        self.unanswered += 1
        log.error("%s: question %d gets no answer: %s", self.name, question, exc)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "serving" if self.reading else "holding"
        return (
            f"<ActorServer {self.name} {state} delivered={self.delivered} "
            f"answered={self.answered} rejected={self.rejected} pending={self.pending} "
            f"backlog={len(self._backlog)}>"
        )


def serve(
    transport: FrameTransport | Transport,
    ref: ActorRef[S],
    message_type: TypeForm[S],
    *,
    name: str | None = None,
    max_pending: int = DEFAULT_MAX_PENDING,
    max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
) -> ActorServer[S]:
    """Serve ``ref`` over ``transport``: ``ActorServer(transport, ref, message_type, ...)``."""
    return ActorServer(
        transport,
        ref,
        message_type,
        name=name,
        max_pending=max_pending,
        max_pending_bytes=max_pending_bytes,
    )
