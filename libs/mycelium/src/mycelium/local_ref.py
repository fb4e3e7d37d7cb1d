"""``LocalActorRef``: the ref, the mailbox and the lifecycle of one actor of this process.

One object plays three parts, because the send path is the hottest code of the runtime and an
idle actor should cost little memory: it *is* the ``ActorRef`` handed to senders, it *is* the
actor's ``Mailbox`` (a send reaches the queue with no extra hop), and it carries what the
dispatcher and the lifecycle need (the actor, the "scheduled" flag, the stop machinery).
Refs returned by ``spawn`` and ``lookup`` are this same object.

Lifecycle: RUNNING -> STOPPING (graceful: the mailbox is closed and drains) -> FINISHING
(``on_stop`` runs) -> STOPPED. A handler crash or a forced stop goes from RUNNING or STOPPING
straight to FINISHING, abandoning the queue to the dead letters. ``on_stop`` runs exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Final, TypeVar, final

from ._core import READY, MailboxCore
from ._deadlines import SHORTEST_BUCKETED
from ._message_type import MessageCheck, message_check_for
from ._signals import NO_MESSAGE, Signal
from .actor import Actor
from .actor_ref import ActorId, ActorRef
from .errors import ActorStopped, AskTimeout, MessageTypeError, WouldDeadlock
from .mailbox import Mailbox

if TYPE_CHECKING:
    from ._node import Node
    from .dead_letters import DeadLetters
    from .dispatcher import Dispatcher
    from .system import ActorSystem

__all__ = ["FINISHING", "RUNNING", "STOPPED", "STOPPING", "Ask", "LocalActorRef"]

M = TypeVar("M", contravariant=True)

log = logging.getLogger("mycelium")

RUNNING: Final = 0
STOPPING: Final = 1
FINISHING: Final = 2
STOPPED: Final = 3


@final
class Ask:
    """A question in a mailbox: the message and the future that receives the answer."""

    __slots__ = ("msg", "reply")

    def __init__(self, msg: object, reply: asyncio.Future[Any]) -> None:
        self.msg = msg
        self.reply = reply


@final
class LocalActorRef(Mailbox[Any], ActorRef[M]):
    """A ref to an actor of this process: sends go straight into its mailbox.

    Ordering, delivery and errors: see ``ActorRef``. As a ``Mailbox`` it exposes ``capacity``,
    ``len()``, ``dropped`` and ``handled`` for metrics (``ref.mailbox`` is the ref itself).

    Invariants:
    * ``scheduled`` is True whenever the mailbox is non-empty or a handler is in progress: the
      dispatcher owns the cell then, and only the dispatcher clears the flag, when it finds the
      mailbox empty with no handler running.
    * ``accepts`` only holds classes that passed the actor's message check.
    * a message whose put returned is handled, or recorded in the system's dead letters.
    """

    # The send-path fields (_queue, _limit, accepts, dispatcher, scheduled) and try_send
    # itself come from MailboxCore (_core.py), in C when it is built.
    __slots__ = (
        "_id",
        "_kind",
        "_name",
        "actor",
        "node",
        "state",
        "task",
        "waiters",
        "watchers",
    )

    def __init__(
        self,
        actor: Actor[Any],
        actor_id: int,
        name: str | None,
        capacity: int,
        dispatcher: Dispatcher,
    ) -> None:
        super().__init__(capacity)
        # Invariant: the running actor until STOPPED, then _RELEASED (refs may outlive actors:
        # a stopped actor's state is not kept alive by the refs others still hold).
        self.actor: Actor[Any] = actor
        self._kind: type[Actor[Any]] = type(actor)
        self._id = actor_id
        self._name = name
        self.dispatcher = dispatcher
        self.accepts: set[type] = message_check_for(type(actor)).accepted
        # Starts True: nothing is handled until on_start has finished and spawn schedules it.
        self.scheduled: bool = True
        self.state: int = RUNNING
        # The task running a handler that suspended (None when no handler is suspended).
        self.task: asyncio.Task[None] | None = None
        # Senders waiting for room, oldest first (None until a send first has to wait). Each
        # future is resolved with None when there may be room, or with the stop's reason.
        self.waiters: deque[asyncio.Future[str | None]] | None = None
        # Futures resolved once the actor has STOPPED (None until someone waits for it).
        self.watchers: list[asyncio.Future[None]] | None = None
        # Its supervision, parent, children, watches and timers (None: none of them; see
        # _node.py, which owns everything fault tolerance adds to the lifecycle).
        self.node: Node | None = None

    # ------------------------------------------------------------------------- the ActorRef

    @property
    def id(self) -> ActorId:
        return ActorId(self._id)

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def is_alive(self) -> bool:
        return self.state == RUNNING

    @property
    def mailbox(self) -> Mailbox[Any]:
        return self

    @property
    def system(self) -> ActorSystem:
        """The system running this actor."""
        return self.dispatcher.system

    # try_send and tell are MailboxCore's (C when built): the fast path appends when the
    # message's class was accepted before and the mailbox is open with room; anything else
    # goes to put_nowait below, which checks everything and raises the right error.
    try_send = MailboxCore.try_send
    tell = MailboxCore.try_send

    # send is MailboxCore's too: with room, it enqueues at once and returns a completed
    # awaitable (no coroutine, no future); otherwise _send_slow below decides.
    send = MailboxCore.send

    def _send_slow(self, msg: M, /) -> Awaitable[None]:
        """``send`` when the fast path does not apply: check the type, then enqueue or wait."""
        if type(msg) not in self.accepts:
            self.admit(msg)
        return self._enqueue(msg, msg)

    async def ask(self, msg: M, /, *, timeout: float | None = 5.0) -> Any:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 or None, got {timeout}")
        if timeout == math.inf:
            timeout = None  # forever, as a timer cannot express it
        if type(msg) not in self.accepts:
            self.admit(msg)
        if self._limit < 0:  # say which message was refused, not its Ask envelope
            raise ActorStopped(self.label, msg)
        if self.handling_now():
            raise WouldDeadlock(self.label, msg, "asked itself")
        loop = self.dispatcher.loop
        reply: asyncio.Future[Any] = loop.create_future()
        entering = self._enqueue(Ask(msg, reply), msg)
        if timeout is None:
            await entering
            return await reply
        # The timeout covers the wait for room as well as the wait for the answer. Long ones
        # share a 5 ms timer bucket; short ones get an exact timer of their own.
        if timeout >= SHORTEST_BUCKETED:
            bucket = self.dispatcher.ask_deadlines.add(reply, self, timeout, msg)
            expiry = None
        else:
            bucket = None
            expiry = loop.call_later(timeout, _expire, reply, self, timeout, msg)
        try:
            if entering is not READY:
                await _until_entered_or_failed(entering, reply)
            return await reply
        finally:
            if bucket is not None:
                bucket.pop(reply, None)
            else:
                assert expiry is not None
                expiry.cancel()

    def __hash__(self) -> int:
        return hash(self._id)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LocalActorRef):
            return self._id == other._id  # pyright: ignore[reportUnknownMemberType]
        if isinstance(other, ActorRef):
            return self.id == other.id  # pyright: ignore[reportUnknownMemberType]
        return NotImplemented

    def __repr__(self) -> str:
        state = "alive" if self.state == RUNNING else "stopped"
        return f"<LocalActorRef {self.label} {state} {len(self)}/{self.capacity}>"

    # ----------------------------------------------------------------------------- sending

    @property
    def label(self) -> str:
        """How logs and errors name this actor: ``name#id``, or ``ClassName#id``."""
        return f"{self._name or self._kind.__name__}#{self._id}"

    def _label(self) -> str:
        return self.label

    @property
    def check(self) -> MessageCheck:
        """The message check of this actor's class."""
        return message_check_for(self._kind)

    def admit(self, msg: object) -> None:
        """Raise ``MessageTypeError`` unless ``msg`` is of the actor's declared type."""
        check = self.check
        if not check.admits(msg):
            raise MessageTypeError(self.label, check.expected, msg)

    def put_nowait(self, msg: Any) -> None:
        """Check, enqueue and schedule ``msg``; the slow path of ``ActorRef.try_send``.

        Raises:
            MessageTypeError: ``msg`` is not of the declared type.
            ActorStopped: the actor is stopping or stopped.
            MailboxFull: the mailbox is full (counted in ``dropped``).
        """
        if type(msg) not in self.accepts:
            self.admit(msg)
        queue = self._queue
        if len(queue) < self._limit:
            queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
        else:
            self._put_slow(msg)
        if not self.scheduled:
            self.dispatcher.schedule(self)

    def _enqueue(self, item: object, msg: object) -> Awaitable[None]:
        """Enqueue ``item`` (already type-checked) now if there is room, else wait for room.

        Returns ``READY`` (already complete) when ``item`` was enqueued at once; otherwise a
        coroutine that waits for room and then enqueues it (see ``_put_when_room``). ``msg`` is
        what errors name (the question, for an ``Ask``).

        Raises:
            ActorStopped: the actor is stopping or stopped.
        """
        if len(self._queue) < self._limit:
            self._put_any(item)
            return READY
        if self._limit < 0:
            raise ActorStopped(self.label, msg)
        if self._limit == 0:  # the first message: _put_any creates the queue
            self._put_any(item)
            return READY
        if self.handling_now():
            raise WouldDeadlock(self.label, msg, "waited for room in its own full mailbox")
        return self._put_when_room(item, msg)

    def release_queue_if_idle(self) -> bool:
        """Let go of an empty queue while the actor is idle; True if it was released.

        Only between turns (never while the dispatcher owns the cell): the next message takes
        the first-message path and creates a queue again.
        """
        if self.scheduled or self.state != RUNNING or self._limit <= 0 or self._queue:
            return False
        self._queue = ()
        self._limit = 0
        return True

    def handling_now(self) -> bool:
        """True if the code running now is this actor's own handler."""
        if self.dispatcher.running is self:
            return True
        task = self.task
        return task is not None and task is asyncio.current_task()

    async def _put_when_room(self, item: object, msg: object) -> None:
        """Wait until the mailbox has room, then enqueue ``item``.

        The dispatcher wakes one waiting sender per free slot, oldest first; the woken sender
        enqueues its own item when it resumes, so a sender that raised (``CancelledError``
        included) never delivered its item. A sender cancelled after being woken passes the
        wake-up on to the next one.

        Raises:
            ActorStopped: the actor stopped before ``item`` could be enqueued.
        """
        waiters = self.waiters
        if waiters is None:
            waiters = self.waiters = deque()
        loop = self.dispatcher.loop
        first = True
        while len(self._queue) >= self._limit > 0:  # open and full
            room: asyncio.Future[str | None] = loop.create_future()
            if first:
                waiters.append(room)
                first = False
            else:  # woken, but the room was taken: keep our place at the front
                waiters.appendleft(room)
            try:
                stop_reason = await room
            except asyncio.CancelledError:
                if room.done() and not room.cancelled():
                    self.admit_waiters()  # we were woken for room we will not use
                elif room in waiters:
                    waiters.remove(room)
                raise
            if stop_reason is not None:
                raise ActorStopped(self.label, msg, reason=stop_reason)
        if self._limit < 0:
            raise ActorStopped(self.label, msg)
        self._put_any(item)

    def _put_any(self, item: object) -> None:
        queue = self._queue
        if len(queue) < self._limit:
            queue.append(item)  # type: ignore[union-attr]
        else:
            self._put_slow(item)  # first message: creates the queue; closed: raises
        if not self.scheduled:
            self.dispatcher.schedule(self)

    def admit_waiters(self) -> None:
        """Wake one waiting sender per free slot, oldest first (they enqueue when they run)."""
        waiters = self.waiters
        if not waiters:
            return
        free = self._limit - len(self._queue)
        while waiters and free > 0:
            room = waiters.popleft()
            if not room.done():
                room.set_result(None)
                free -= 1

    # --------------------------------------------------------------------------- stopping

    def begin_stop(self) -> None:
        """Close the mailbox and let it drain; the dispatcher finishes the stop when empty."""
        if self.state != RUNNING:
            return
        self.state = STOPPING
        self.close()
        self._refuse_waiters("the actor is stopping")
        if self.node is not None:
            self.node.stop_requested(self)
        if not self.scheduled:
            self.scheduled = True
            self.finish_stop()

    def crash(self, exc: BaseException, *, forced: bool = False, msg: object = NO_MESSAGE) -> None:
        """Stop at once after a failure: log it, dead-letter the mailbox, run ``on_stop``.

        ``msg`` is the message whose handler failed: it is dead-lettered with the reason. The
        actor's supervision may take over instead (resume it, or restart it): see ``_node.py``.
        """
        if self.ensure_node().failed(self, exc, msg, forced=forced):
            return
        if self.state >= FINISHING:
            return
        if forced:
            log.warning("actor %s did not stop in time and was cancelled", self.label)
        else:
            log.error(
                "actor %s crashed handling a message; it is stopped",
                self.label,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
        self.close()
        reason = "actor cancelled at shutdown" if forced else "actor crashed"
        self._abandon_queue(reason)
        self._refuse_waiters(reason)
        self.scheduled = True
        self.finish_stop()

    def abandon(self) -> None:
        """Forced stop: cancel a suspended handler, or dead-letter the queue and stop now."""
        task = self.task
        if task is not None and not task.done():
            task.cancel()  # its completion calls crash(..., forced=True)
            return
        if self.state < FINISHING:
            self.close()
            self._abandon_queue("actor stopped at shutdown deadline")
            self._refuse_waiters("the actor was stopped")
            self.scheduled = True
            self.finish_stop()

    def finish_stop(self) -> None:
        """Enter FINISHING: run ``on_stop`` once, then STOPPED: unregister, wake the waiters."""
        if self.state >= FINISHING:
            return
        self.state = FINISHING
        self.close()
        self.dispatcher.run_detached(self._on_stop(), self.label)

    async def _on_stop(self) -> None:
        node = self.node
        try:
            if node is not None:
                await node.before_on_stop(self)  # its children stop first, newest first
            await self.actor.on_stop()
        except Exception:
            log.exception("on_stop of actor %s raised", self.label)
        finally:
            self.release()
            self.dispatcher.system_forget(self)
            watchers, self.watchers = self.watchers, None
            for watcher in watchers or ():
                if not watcher.done():
                    watcher.set_result(None)
            if node is not None:
                node.stopped(self)

    def release(self) -> None:
        """Enter STOPPED for good and let go of the actor object (refs may outlive it)."""
        self.state = STOPPED
        self.actor = _RELEASED

    def stopped(self) -> asyncio.Future[None]:
        """A future resolved once this actor has STOPPED and ``on_stop`` has returned."""
        fut: asyncio.Future[None] = self.dispatcher.loop.create_future()
        if self.state == STOPPED:
            fut.set_result(None)
        else:
            if self.watchers is None:
                self.watchers = []
            self.watchers.append(fut)
        return fut

    def _abandon_queue(self, reason: str) -> None:
        queue = self._queue
        dead: DeadLetters = self.dispatcher.dead_letters
        label = self.label
        while queue:
            item = queue.popleft()  # type: ignore[union-attr]
            if type(item) is Ask:
                if isinstance(item.msg, Signal):  # the runtime's own: dropped, not dead
                    item.msg.drop(self)
                    continue
                if not item.reply.done():
                    item.reply.set_exception(ActorStopped(label, item.msg, reason=reason))
                dead.record(label, item.msg, reason)
            else:
                dead.record(label, item, reason)

    def ensure_node(self) -> Node:
        """This actor's ``Node`` (supervision, tree, watches, timers), created if need be."""
        node = self.node
        if node is None:
            from ._node import Node  # noqa: PLC0415 - _node.py builds on this module

            node = self.node = Node()
        return node

    def replace_actor(self, actor: Actor[Any]) -> None:
        """Put ``actor`` behind this ref (a restart or an upgrade, at a message boundary)."""
        self.actor = actor
        if type(actor) is not self._kind:
            self._kind = type(actor)
            self.accepts = message_check_for(type(actor)).accepted

    def abandon_queue(self, reason: str) -> None:
        """Dead-letter everything queued (the actor will not handle it), with ``reason``."""
        self._abandon_queue(reason)

    def post_signal(self, signal: Signal, *, front: bool = False) -> None:
        """Put one of the runtime's own items in the mailbox (``_signals.py``), at the back or,
        with ``front``, ahead of the queued messages. It takes no sender's room: the limit
        grows by one until the dispatcher takes it (``take_signal``)."""
        if self._limit == 0:  # no queue yet: create it, as the first message would
            self._queue = deque()
            self._limit = self.capacity
        elif self._limit < 0 and not self._queue:
            self._queue = deque()
        if self._limit > 0:
            self._limit += 1
        queue: deque[Any] = self._queue  # type: ignore[assignment]  # created above
        item = Ask(signal, self.dispatcher.completed)
        if front:
            queue.appendleft(item)
        else:
            queue.append(item)
        if not self.scheduled:
            self.dispatcher.schedule(self)

    def take_signal(self, signal: Signal) -> Any:
        """The dispatcher reached ``signal``: give its room back; the turn it runs, if any."""
        if self._limit > 0:
            self._limit -= 1
        return signal.open(self)

    def _refuse_waiters(self, reason: str) -> None:
        """Wake every waiting sender: each finds the mailbox closed and raises ActorStopped."""
        waiters, self.waiters = self.waiters, None
        for room in waiters or ():
            if not room.done():
                room.set_result(reason)


def _expire(
    reply: asyncio.Future[Any], ref: LocalActorRef[Any], timeout: float, msg: object
) -> None:
    if not reply.done():  # the label is built only here, not for every ask
        reply.set_exception(AskTimeout(ref.label, timeout, msg))


async def _until_entered_or_failed(entering: Awaitable[None], reply: asyncio.Future[Any]) -> None:
    """Wait for a question to enter the mailbox, unless its reply fails first (a timeout).

    If the reply fails first, the question is withdrawn (it never enters the mailbox) and the
    reply's exception is raised.
    """
    waiting = asyncio.ensure_future(entering)
    try:
        await asyncio.wait((waiting, reply), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        waiting.cancel()
        raise
    if not waiting.done():
        waiting.cancel()
        await asyncio.wait((waiting,))
        if waiting.cancelled() or waiting.exception() is None:
            reply.result()  # raises the AskTimeout
    waiting.result()


@final
class _Released(Actor[object]):
    """What a stopped actor's ref holds instead of the actor: nothing runs it any more."""

    async def handle(self, msg: object, /) -> None:
        raise RuntimeError("this actor has stopped; its handler cannot run")


_RELEASED: Final = _Released()
