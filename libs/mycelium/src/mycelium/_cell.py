"""``ActorCell``: one running actor, its mailbox and its lifecycle (private).

The cell *is* the actor's mailbox (a ``Mailbox`` subclass), so a local ref reaches the queue in
one attribute load. It adds what the dispatcher and the lifecycle need: the actor, its type
check, the "scheduled" flag and the stop machinery.

Lifecycle: RUNNING -> STOPPING (graceful: the mailbox is closed and drains) -> FINISHING
(``on_stop`` runs) -> STOPPED. A handler crash or a forced stop goes from RUNNING or STOPPING
straight to FINISHING, abandoning the queue to the dead letters. ``on_stop`` runs exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, Final, final

from ._message_type import MessageCheck, message_check_for
from .errors import ActorStopped, MessageTypeError
from .mailbox import Mailbox

if TYPE_CHECKING:
    from .actor import Actor
    from .dead_letters import DeadLetters
    from .dispatcher import Dispatcher

__all__ = ["FINISHING", "RUNNING", "STOPPED", "STOPPING", "ActorCell", "Ask"]

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
class ActorCell(Mailbox[Any]):
    """A running actor: its mailbox, its scheduling flag and its lifecycle state.

    Invariants:
    * ``scheduled`` is True whenever the mailbox is non-empty or a handler is in progress: the
      dispatcher owns the cell then, and only the dispatcher clears the flag, when it finds the
      mailbox empty with no handler running.
    * ``accepts`` only holds classes that passed the actor's message check.
    * a message whose put returned is handled, or recorded in the system's dead letters.
    """

    __slots__ = (
        "accepts",
        "actor",
        "dispatcher",
        "id",
        "name",
        "scheduled",
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
        self.actor = actor
        self.id = actor_id
        self.name = name
        self.dispatcher = dispatcher
        self.accepts: set[type] = message_check_for(type(actor)).accepted
        # Starts True: nothing is handled until on_start has finished and spawn schedules it.
        self.scheduled: bool = True
        self.state: int = RUNNING
        # The task running a handler that suspended (None when no handler is suspended).
        self.task: asyncio.Task[None] | None = None
        # Senders waiting for room, oldest first (None until a send first has to wait).
        self.waiters: deque[tuple[object, asyncio.Future[None]]] | None = None
        # Futures resolved once the actor has STOPPED (None until someone waits for it).
        self.watchers: list[asyncio.Future[None]] | None = None

    # ----------------------------------------------------------------------------- sending

    @property
    def label(self) -> str:
        """How logs and errors name this actor: ``name#id``, or ``ClassName#id``."""
        return f"{self.name or type(self.actor).__name__}{self.id}"

    def _label(self) -> str:
        return self.label

    @property
    def check(self) -> MessageCheck:
        """The message check of this actor's class."""
        return message_check_for(type(self.actor))

    def admit(self, msg: object) -> None:
        """Raise ``MessageTypeError`` unless ``msg`` is of the actor's declared type."""
        check = self.check
        if not check.admits(msg):
            raise MessageTypeError(self.label, check.expected, msg)

    def put_nowait(self, msg: object) -> None:
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

    def put_ask(self, ask: Ask) -> None:
        """Enqueue a question (already type-checked) without waiting."""
        queue = self._queue
        if len(queue) < self._limit:
            queue.append(ask)  # type: ignore[union-attr]
        else:
            self._put_slow(ask)
        if not self.scheduled:
            self.dispatcher.schedule(self)

    async def put_waiting(self, item: object) -> None:
        """Enqueue ``item`` (already type-checked), waiting for room while the mailbox is full.

        Waiting senders are admitted oldest first. Cancelled while waiting: the item was not
        enqueued and never will be.

        Raises:
            ActorStopped: the actor stopped before the item could be enqueued.
        """
        if len(self._queue) < self._limit or self._limit <= 0:
            self._put_any(item)
            return
        waiters = self.waiters
        if waiters is None:
            waiters = self.waiters = deque()
        admitted: asyncio.Future[None] = self.dispatcher.loop.create_future()
        entry = (item, admitted)
        waiters.append(entry)
        try:
            await admitted
        except asyncio.CancelledError:
            if not admitted.done() or admitted.cancelled():
                with contextlib.suppress(ValueError):
                    waiters.remove(entry)
            raise

    def _put_any(self, item: object) -> None:
        queue = self._queue
        if len(queue) < self._limit:
            queue.append(item)  # type: ignore[union-attr]
        else:
            self._put_slow(item)  # first message: creates the queue; closed: raises
        if not self.scheduled:
            self.dispatcher.schedule(self)

    def admit_waiters(self) -> None:
        """Move waiting senders' items into the room the dispatcher just made, oldest first."""
        waiters = self.waiters
        queue = self._queue
        while waiters and len(queue) < self._limit:
            item, admitted = waiters.popleft()
            if admitted.done():  # cancelled while waiting
                continue
            queue.append(item)  # type: ignore[union-attr]
            admitted.set_result(None)

    # --------------------------------------------------------------------------- stopping

    def begin_stop(self) -> None:
        """Close the mailbox and let it drain; the dispatcher finishes the stop when empty."""
        if self.state != RUNNING:
            return
        self.state = STOPPING
        self.close()
        self._refuse_waiters("the actor is stopping")
        if not self.scheduled:
            self.scheduled = True
            self.finish_stop()

    def crash(self, exc: BaseException, *, forced: bool = False) -> None:
        """Stop at once after a failure: log it, dead-letter the mailbox, run ``on_stop``."""
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
        try:
            await self.actor.on_stop()
        except Exception:
            log.exception("on_stop of actor %s raised", self.label)
        finally:
            self.state = STOPPED
            self.dispatcher.system_forget(self)
            watchers, self.watchers = self.watchers, None
            for watcher in watchers or ():
                if not watcher.done():
                    watcher.set_result(None)

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
                if not item.reply.done():
                    item.reply.set_exception(ActorStopped(label, item.msg, reason=reason))
                dead.record(label, item.msg, reason)
            else:
                dead.record(label, item, reason)

    def _refuse_waiters(self, reason: str) -> None:
        waiters, self.waiters = self.waiters, None
        for item, admitted in waiters or ():
            if not admitted.done():
                msg = item.msg if type(item) is Ask else item
                admitted.set_exception(ActorStopped(self.label, msg, reason=reason))
