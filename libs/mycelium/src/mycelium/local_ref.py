"""``LocalActorRef``: the send path. The ref and the mailbox of one actor of this process.

One object plays three parts, because the send path is the hottest code of the runtime and an
idle actor should cost little memory: it *is* the ``ActorRef`` handed to senders, it holds the
actor's mailbox itself (a ``MailboxState``: a send reaches the queue with no extra hop, but
nothing outside the runtime can take mail out; ``mailbox`` is a read-only ``MailboxView``), and
it carries what the dispatcher and the lifecycle need (the actor, the "scheduled" flag, its
state). Refs returned by ``spawn`` and ``lookup`` are this same object; the runtime calls it the
actor's *cell*.

Everything a send does is here, in the order it happens: the fast path (``try_send``/``send``,
``MailboxCore`` in ``_core.py``, C when built), then, when it does not apply, the admission
(the thread check, the type check, the overflow policy, the waiting senders), then waking the
actor through its ``Scheduler`` (the dispatcher, ``dispatcher.py``). A cell meets the rest of
the runtime through two small interfaces (``_runtime.py``): its ``Runtime`` (loop, dead letters,
ask deadlines) and its ``Scheduler``.

Sending when the mailbox is full: the message joins ``waiters`` at call time, with the
``SendFuture`` the sender awaits, and the fast path is closed (``_limit`` 0) until that queue is
empty, so that later sends, of any kind and from anyone, queue up behind. When room frees, the
dispatcher moves waiting messages into the mailbox, oldest first, and resolves their futures
(``admit_waiters``); a future cancelled before that is skipped, its message never delivered.

Overflow policies (``overflow``, see ``mailbox.Overflow``) apply only when the mailbox is full,
on the slow path (the fast path appends only while there is room, so "block", the default,
costs nothing): "fail" refuses at once, "drop_new" dead-letters the arriving message (an ask is
refused instead: it could never be answered), "drop_oldest" dead-letters the oldest queued
message (never the runtime's own items) and enqueues the new one. Under these three nobody ever
waits for room, so ``waiters`` stays empty.

States: RUNNING -> STOPPING -> FINISHING -> STOPPED (``state``); the transitions, and the
cleanup of each way an actor ends, are ``lifecycle.py``'s. Here only the queue's side of them:
``abandon_queue`` (every queued message becomes a dead letter) and ``refuse_waiters``.

Accounting: every message a call accepted is handled (counted in ``handled``) or recorded once in
the system's dead letters; every message not accepted raises at the sender.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
from _thread import get_ident
from collections import deque
from collections.abc import Coroutine
from types import CoroutineType
from typing import Any, Final, final

from ._behaviour import Behaviour
from ._core import MailboxCore, SendFuture, WokenSend, inline_ask
from ._deadlines import SHORTEST_BUCKETED
from ._message_type import MessageCheck, message_check_for
from ._node import Node
from ._runtime import Runtime, Scheduler, SystemHandle
from ._signals import Signal
from .actor_ref import ActorRef
from .dead_letters import DeadLetters
from .errors import (
    ActorStopped,
    AskTimeout,
    MailboxFull,
    MessageDropped,
    MessageTypeError,
    WouldDeadlock,
    WrongThread,
)
from .mailbox import MailboxState, MailboxView, Overflow

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # TypeVar defaults (PEP 696) at runtime, so that LocalActorRef[M] stays valid
    from typing_extensions import TypeVar


__all__ = [
    "FINISHING",
    "RUNNING",
    "STOPPED",
    "STOPPING",
    "Ask",
    "LocalActorRef",
]

M = TypeVar("M", contravariant=True)
R = TypeVar("R", covariant=True, default=Any)

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
class LocalActorRef(MailboxState, ActorRef[M, R]):
    """A ref to an actor of this process: sends go straight into its mailbox.

    Ordering, delivery and errors: see ``ActorRef``. ``mailbox`` is a read-only view of the
    mailbox (``capacity``, ``len()``, ``dropped``, ``handled``, ``closed``) for metrics.

    Invariants:
    * ``scheduled`` is True whenever the mailbox is non-empty or a handler is in progress: the
      dispatcher owns the cell then, and only the dispatcher clears the flag, when it finds the
      mailbox empty with no handler running.
    * ``accepts`` only holds classes that passed the actor's message check.
    * a message whose put returned is handled, or recorded in the system's dead letters.
    * ``waiters`` non-empty implies ``_limit <= 0`` (the fast path is closed) and
      ``scheduled`` (the dispatcher will come round and admit them).
    """

    # The send-path fields (_queue, _limit, accepts, dispatcher, scheduled) and try_send
    # itself come from MailboxCore (_core.py), in C when it is built.
    __slots__ = (
        "_id",
        "_kind",
        "_name",
        "actor",
        "node",
        "runtime",
        "state",
        "waiters",
        "watchers",
    )

    # The scheduler that runs this actor: the dispatcher (a plain field of MailboxCore, which
    # the C fast path reads directly; see _runtime.Scheduler for what a cell may use of it).
    dispatcher: Scheduler[LocalActorRef[Any]]

    def __init__(
        self,
        actor: Behaviour[Any],
        actor_id: int,
        name: str | None,
        capacity: int,
        *,
        dispatcher: Scheduler[LocalActorRef[Any]],
        runtime: Runtime[LocalActorRef[Any]],
        overflow: Overflow = "block",
    ) -> None:
        """``capacity`` and ``overflow`` are checked by the caller (``ActorSystem.spawn``)."""
        # MailboxState's fields (its __init__ is not called: spawn has checked the capacity,
        # and one call less is worth it on every spawn); see MailboxState for their invariants.
        self.capacity: int = capacity
        self.overflow = overflow
        self.dropped: int = 0
        self.handled: int = 0
        self._queue = ()
        self._limit = 0
        # Invariant: the running actor until STOPPED, then lifecycle.RELEASED (refs may
        # outlive actors: a stopped actor's state is not kept alive by the refs others hold).
        self.actor: Behaviour[Any] = actor
        kind = type(actor)
        self._kind: type[Behaviour[Any]] = kind
        self._id = actor_id
        self._name = name
        self.dispatcher = dispatcher
        self.runtime = runtime
        self.accepts: set[type] = message_check_for(kind).accepted
        # Starts True: nothing is handled until on_start has finished and spawn schedules it.
        self.scheduled: bool = True
        self.state: int = RUNNING
        # Messages waiting for room, oldest first, each with the future its sender awaits (None
        # until a send first has to wait). admit_waiters moves them into the queue and resolves
        # the futures; a cancelled future's message is skipped (withdrawn).
        self.waiters: deque[tuple[object, SendFuture]] | None = None
        # Futures resolved once the actor has STOPPED (None until someone waits for it).
        self.watchers: list[asyncio.Future[None]] | None = None
        # Its supervision, parent, children, watches and timers (None: none of them): the
        # record of _node.py, which _fault_tolerance.py acts on.
        self.node: Node[LocalActorRef[Any]] | None = None

    # ------------------------------------------------------------------------- the ActorRef

    @property
    def is_alive(self) -> bool:
        return self.state == RUNNING

    @property
    def mailbox(self) -> MailboxView:
        return MailboxView(self)

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The task running this actor's handler that suspended (None when none is)."""
        return self.dispatcher.task_of(self)

    @property
    def system(self) -> SystemHandle:
        """The system running this actor."""
        return self.runtime.system

    # try_send and tell are MailboxCore's (C when built): the fast path appends when the
    # message's class was accepted before, the mailbox is open with room and nobody waits for
    # room, on the loop's thread; anything else goes to put_nowait below, which checks
    # everything and raises the right error.
    try_send = MailboxCore.try_send
    tell = MailboxCore.try_send

    # send is MailboxCore's too: on the fast path, it enqueues at once and returns a completed
    # coroutine (no frame, no new future); otherwise _send_slow below decides.
    send = MailboxCore.send

    def _send_slow(self, msg: M, /) -> Coroutine[Any, Any, None]:
        """``send`` when the fast path does not apply: check, then enqueue or join the waiters."""
        self.check_thread(msg)
        if type(msg) not in self.accepts:
            self.admit(msg)
        if self.scheduled or not self.dispatcher.wake_inline:
            return self._enqueue(msg, msg)
        # It wakes an idle actor: enqueued and scheduled now, as always; awaiting the result
        # may then run the handler at once (Dispatcher.run_woken), unless a turn came first.
        sent = self._enqueue(msg, msg)
        if sent is not self.dispatcher.completed:
            return sent
        return WokenSend(self)

    def __bool__(self) -> bool:
        return True

    def ask(self, msg: M, /, *, timeout: float | None = 5.0) -> CoroutineType[Any, Any, R]:
        # A self-ask is refused at the call, in the caller's own code: a coroutine handed to
        # another task (asyncio.wait_for does that) could no longer tell whose code made it.
        # On another thread no handler of this actor can be running; _ask checks the thread
        # once it runs (the loop may by then be running there).
        if (
            self._limit >= 0
            and get_ident() == self.dispatcher.thread_id
            and self.dispatcher.runs_code_of(self)
        ):
            raise WouldDeadlock(self.label, msg, "asked itself")
        return self._ask(msg, timeout)

    async def _ask(self, msg: M, timeout: float | None) -> R:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 or None, got {timeout}")
        if timeout == math.inf:
            timeout = None  # forever, as a timer cannot express it
        if get_ident() != self.dispatcher.thread_id:
            self.check_thread(msg)
        if type(msg) not in self.accepts:
            self.admit(msg)
        if self._limit < 0:  # say which message was refused, not its Ask envelope
            raise ActorStopped(self.label, msg)
        runtime = self.runtime
        loop = runtime.loop
        if not self.scheduled and self.state == RUNNING and not self._queue:
            # Idle: its handler answers here and now (see Dispatcher.run_inline); a handler
            # that suspends goes on in its own task, and this waits for its reply as below.
            if type(self._queue) is tuple:  # as the first message would, it makes the queue
                self._queue = deque()
                self._limit = self.capacity
            ran = inline_ask(self.dispatcher, self, msg)
            if ran is not None:
                if ran[0]:
                    return ran[1]
                reply: asyncio.Future[Any] = ran[1]
                entering = None
            else:
                reply = loop.create_future()
                entering = self._put_or_wait(Ask(msg, reply), msg)
        else:
            reply = loop.create_future()
            entering = self._put_or_wait(Ask(msg, reply), msg)
        if timeout is None:
            if entering is not None:
                await entering
            return await reply
        # The timeout covers the wait for room as well as the wait for the answer. Long ones
        # share a 5 ms timer bucket; short ones get an exact timer of their own.
        deadlines = runtime.ask_deadlines
        if timeout >= SHORTEST_BUCKETED:
            bucket = deadlines.add(reply, self, timeout, msg)
            expiry = None
        else:
            bucket = None
            expiry = loop.call_later(timeout, _expire, reply, self, timeout, msg)
        try:
            if entering is not None:
                await _until_entered_or_failed(entering, reply)
            return await reply
        finally:
            if bucket is not None:
                bucket.pop(reply, None)
                if not bucket and bucket is not deadlines.latest:  # (see AskDeadlines)
                    deadlines.drop(bucket)
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
        return f"<LocalActorRef {self.label} {state} {len(self._queue)}/{self.capacity}>"

    # ----------------------------------------------------------------------------- sending

    @property
    def label(self) -> str:
        """How logs and errors name this actor: ``name#id``, or ``ClassName#id``."""
        return f"{self._name or self._kind.__name__}#{self._id}"

    @property
    def check(self) -> MessageCheck:
        """The message check of this actor's class."""
        return message_check_for(self._kind)

    def admit(self, msg: object) -> None:
        """Raise ``MessageTypeError`` unless ``msg`` is of the actor's declared type."""
        check = self.check
        if not check.admits(msg):
            expected, got = check.names(msg)
            raise MessageTypeError(self.label, expected, msg, got=got)

    def check_thread(self, msg: object) -> None:
        """Raise ``WrongThread`` unless called on the thread that runs this actor's loop.

        The dispatcher notes its loop's thread when it is created; if the loop now runs on
        the calling thread instead (a loop may be run by another thread later), the note
        follows it.
        """
        dispatcher = self.dispatcher
        here = get_ident()
        if here == dispatcher.thread_id:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self.runtime.loop:
            raise WrongThread(self.label, msg, here, dispatcher.thread_id)
        dispatcher.thread_id = here

    def put_nowait(self, msg: Any) -> None:
        """Check, enqueue and schedule ``msg``; the slow path of ``ActorRef.try_send``.

        Raises:
            WrongThread: called from a thread other than the loop's.
            MessageTypeError: ``msg`` is not of the declared type.
            ActorStopped: the actor is stopping or stopped.
            MailboxFull: the mailbox is full, or others wait for room (counted in ``dropped``),
                unless the overflow policy drops a message instead.
        """
        self.check_thread(msg)
        if type(msg) not in self.accepts:
            self.admit(msg)
        if self.waiters:
            self.admit_waiters()  # room may have freed since: those waiting go first
        queue = self._queue
        limit = self._limit
        if len(queue) < limit:
            queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
        elif limit < 0:
            raise ActorStopped(self.label, msg)
        elif type(queue) is tuple:  # the first message (or the first since a trim)
            self._new_queue().append(msg)
        elif limit > 0 and self.overflow != "block":  # open, full: the policy decides
            self._overflow(msg, msg)
        else:  # full, or others wait for room (the fast path is closed: _limit 0)
            self.dropped += 1
            raise MailboxFull(self.label, self.capacity, msg)
        if not self.scheduled:
            self._wake()

    def _wake(self) -> None:
        """Schedule this idle actor for the message just enqueued; if that fails (the loop is
        closed), take the message back out, so nothing is left behind, and raise."""
        try:
            self.dispatcher.schedule(self)
        except BaseException:
            self._queue.pop()  # type: ignore[union-attr]  # it was just appended to a deque
            raise

    def _enqueue(self, item: object, msg: object) -> Coroutine[Any, Any, None]:
        """``_put_or_wait``, as what ``send`` returns: already complete if ``item`` was
        enqueued at once, else the ``SendFuture`` that completes once it is admitted."""
        entering = self._put_or_wait(item, msg)
        if entering is None:
            completed: Coroutine[Any, Any, None] = self.dispatcher.completed
            return completed
        return entering

    def _put_or_wait(self, item: object, msg: object) -> SendFuture | None:
        """Enqueue ``item`` (already type-checked) now if it may, else add it to the waiters.

        Returns ``None`` when ``item`` was enqueued at once (room, and nobody waiting first);
        otherwise the ``SendFuture`` that completes once the dispatcher has admitted it (see
        ``admit_waiters``). ``msg`` is what errors name (the question, for an ``Ask``).

        Raises:
            ActorStopped: the actor is stopping or stopped.
            WouldDeadlock: the actor's own handler would wait for room in its mailbox.
        """
        if self.waiters:
            self.admit_waiters()  # room may have freed since: those waiting go first
        queue = self._queue
        if len(queue) < self._limit:
            queue.append(item)  # type: ignore[union-attr]  # _limit > 0 implies a deque
            if not self.scheduled:
                self._wake()
            return None
        if self._limit < 0:
            raise ActorStopped(self.label, msg)
        if type(queue) is tuple:  # the first message (or the first since a trim)
            self._new_queue().append(item)
            if not self.scheduled:
                self._wake()
            return None
        if self.overflow != "block":  # full: the policy decides, nobody waits
            self._overflow(item, msg)
            return None
        if self.dispatcher.runs_code_of(self):
            raise WouldDeadlock(self.label, msg, "waited for room in its own full mailbox")
        entering = SendFuture(loop=self.runtime.loop)
        waiters = self.waiters
        if waiters is None:
            waiters = self.waiters = deque()
        waiters.append((item, entering))
        self._limit = 0  # close the fast path: later sends queue up behind this one
        return entering

    def _overflow(self, item: object, msg: object) -> None:
        """The mailbox is open and full, under a policy other than "block": refuse ``item``
        (raise), drop it (a dead letter) or drop the oldest queued message and enqueue it.
        ``msg`` is what errors name (the question, for an ``Ask``). Counted in ``dropped``.

        Raises:
            MailboxFull: policy "fail", or "drop_new" for a question (``item`` is an ``Ask``):
                nothing was accepted.
        """
        policy = self.overflow
        self.dropped += 1
        if policy == "fail" or (policy == "drop_new" and type(item) is Ask):
            raise MailboxFull(self.label, self.capacity, msg)
        dead: DeadLetters = self.runtime.dead_letters
        if policy == "drop_new":
            dead.record(self.label, msg, "mailbox full: overflow policy 'drop_new' dropped it")
            return
        # drop_oldest: the oldest queued message, passing over the runtime's own items (they
        # take no room). Full means at least `capacity` (>= 1) messages are queued.
        queue: deque[Any] = self._queue  # type: ignore[assignment]  # _limit > 0: a deque
        index = 0
        for old in queue:
            if type(old) is not Ask or not isinstance(old.msg, Signal):
                break
            index += 1
        else:  # cannot happen (full means a message is queued); never lose `item` silently
            self.dropped -= 1
            raise MailboxFull(self.label, self.capacity, msg)
        old = queue[index]
        del queue[index]
        queue.append(item)
        reason = "mailbox full: overflow policy 'drop_oldest' dropped it for a newer message"
        if type(old) is Ask:
            if not old.reply.done():
                old.reply.set_exception(MessageDropped(self.label, policy, old.msg))
            dead.record(self.label, old.msg, reason)
        else:
            dead.record(self.label, old, reason)

    def _new_queue(self) -> deque[Any]:
        """Create the queue (an actor has none until its first message, or again after a
        trim) and open the fast path, unless the mailbox is closed."""
        queue: deque[Any] = deque()
        self._queue = queue
        if self._limit == 0:
            self._limit = self.capacity
        return queue

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

    @property
    def waiting(self) -> int:
        """Messages whose senders wait for room (withdrawn ones excluded)."""
        waiters = self.waiters
        return 0 if not waiters else sum(1 for _, entering in waiters if not entering.done())

    def admit_waiters(self) -> None:
        """Move waiting messages into the mailbox while it has room, oldest first, and resolve
        their senders' futures; skip those whose future was cancelled (withdrawn). Once none
        waits, the fast path opens again. Called by the dispatcher when a run frees room, and
        by the send path before it enqueues (so nobody overtakes those waiting)."""
        waiters = self.waiters
        if not waiters or self._limit < 0:
            return
        queue: deque[Any] = self._queue  # type: ignore[assignment]  # waiters => a deque
        node = self.node  # the runtime's own items queued take no sender's room
        capacity = self.capacity if node is None else self.capacity + node.signals
        while waiters and len(queue) < capacity:
            item, entering = waiters.popleft()
            if entering.done():  # cancelled: the sender withdrew it
                continue
            queue.append(item)
            entering.set_result(None)
        if not waiters:
            self._limit = capacity

    # ----------------------------------------------------------------- the queue at a stop

    def abandon_queue(self, reason: str) -> None:
        """Record every queued message as a dead letter, with ``reason``; its asker gets
        ``ActorStopped``. The runtime's own items are dropped, not counted."""
        queue = self._queue
        dead: DeadLetters = self.runtime.dead_letters
        label = self.label
        while queue:
            item = queue.popleft()  # type: ignore[union-attr]
            if type(item) is Ask:
                if isinstance(item.msg, Signal):  # the runtime's own: dropped, not dead
                    self._signal_gone()
                    item.msg.drop()
                    continue
                if not item.reply.done():
                    item.reply.set_exception(ActorStopped(label, item.msg, reason=reason))
                dead.record(label, item.msg, reason)
            else:
                dead.record(label, item, reason)

    def ensure_node(self) -> Node[LocalActorRef[Any]]:
        """This actor's ``Node`` (supervision, tree, watches, timers), created if need be."""
        node = self.node
        if node is None:
            node = self.node = Node()
        return node

    def replace_actor(self, actor: Behaviour[Any]) -> None:
        """Put ``actor`` behind this ref (a restart or an upgrade, at a message boundary)."""
        self.actor = actor
        if type(actor) is not self._kind:
            self._kind = type(actor)
            self.accepts = message_check_for(type(actor)).accepted

    def post_signal(self, signal: Signal, *, front: bool = False) -> None:
        """Put one of the runtime's own items in the mailbox (``_signals.py``), at the back or,
        with ``front``, ahead of the queued messages. It takes no sender's room: while it is
        queued the mailbox holds one item more than its capacity (see ``admit_waiters``)."""
        node = self.ensure_node()
        queue = self._queue
        if type(queue) is tuple:  # no queue yet (or released): create it, as a message would
            queue = self._new_queue()
        node.signals += 1
        if self._limit > 0:  # the fast path is open: one more item fits
            self._limit += 1
        item = Ask(signal, self.runtime.signal_reply)
        if front:
            queue.appendleft(item)  # type: ignore[union-attr]  # a deque, made above
        else:
            queue.append(item)  # type: ignore[union-attr]
        if not self.scheduled:
            self.dispatcher.schedule(self)

    def take_signal(self, signal: Signal) -> Any:
        """The dispatcher reached ``signal``: give its room back; the turn it runs, if any."""
        self._signal_gone()
        return signal.open()

    def _signal_gone(self) -> None:
        node = self.node
        if node is not None and node.signals > 0:
            node.signals -= 1
            if self._limit > 0:
                self._limit -= 1

    def refuse_waiters(self, reason: str) -> None:
        """Fail every waiting sender with ActorStopped: their messages were never accepted."""
        waiters, self.waiters = self.waiters, None
        label = self.label
        for item, entering in waiters or ():
            if not entering.done():
                msg = item.msg if type(item) is Ask else item
                entering.set_exception(ActorStopped(label, msg, reason=reason))


def _expire(
    reply: asyncio.Future[Any], ref: LocalActorRef[Any], timeout: float, msg: object
) -> None:
    if not reply.done():  # the label is built only here, not for every ask
        reply.set_exception(AskTimeout(ref.label, timeout, msg))


async def _until_entered_or_failed(entering: SendFuture, reply: asyncio.Future[Any]) -> None:
    """Wait for a question to enter the mailbox, unless its reply fails first (a timeout).

    If the reply fails first, the question is withdrawn (it never enters the mailbox) and the
    reply's exception is raised.
    """
    # Not asyncio.wait: it refuses a SendFuture, which is also a coroutine.
    either: asyncio.Future[None] = reply.get_loop().create_future()

    def wake(_: object) -> None:
        if not either.done():
            either.set_result(None)

    entering.add_done_callback(wake)
    reply.add_done_callback(wake)
    try:
        await either
    except asyncio.CancelledError:
        entering.cancel()  # withdrawn, unless already admitted
        raise
    finally:
        entering.remove_done_callback(wake)
        reply.remove_done_callback(wake)
    if not entering.done():
        entering.cancel()  # withdrawn: it never enters the mailbox
        reply.result()  # raises the AskTimeout
    entering.result()  # raises ActorStopped if it was refused
