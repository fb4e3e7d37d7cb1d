"""``ActorRef[M]``: the location-transparent address of an actor (seed task MVP-004).

Code that holds an ``ActorRef`` does not know whether the actor runs in this process (a
``LocalActorRef``, straight into its mailbox, see ``local_ref.py``) or elsewhere (a remote ref
over a transport); the methods and their errors mean the same in both cases.
"""

from __future__ import annotations

import itertools
import sys
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, Final, Generic, final

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # TypeVar defaults (PEP 696) at runtime, so that ActorRef[M] stays valid
    from typing_extensions import TypeVar

from .mailbox import MailboxView

__all__ = ["ActorId", "ActorRef"]

M = TypeVar("M", contravariant=True)
R = TypeVar("R", covariant=True, default=Any)

_next_id = itertools.count(1).__next__

_UNKNOWN_MAILBOX: Final = MailboxView()


@final
class ActorId(int):
    """An actor's id: unique within the process (so within every system), hashable, ordered
    by spawn. Prints as ``#<n>``."""

    __slots__ = ()

    @staticmethod
    def next_value() -> int:
        """A fresh id value, never handed out before in this process."""
        return _next_id()

    def __repr__(self) -> str:
        return f"ActorId({int(self)})"

    def __str__(self) -> str:
        return f"#{int(self)}"


class ActorRef(ABC, Generic[M, R]):
    """Address of one actor; safe to copy, share, and keep after it stops.

    ``ActorRef[M, R]``: sends take ``M``; ``ask`` returns ``R``, the actor's answer type
    (``Actor[M, R]``); ``ActorRef[M]`` means ``ActorRef[M, Any]``.

    Ordering: messages from one sender are handled in the order sent.
    Delivery: at most once, and never silently dropped: every message that a call accepted is
    handled, or counted as a dead letter if the actor stops first; every message it did not
    accept raises at the sender (``MessageTypeError``, ``MailboxFull``, ``ActorStopped``).
    Equality and hash follow ``id``; a ref is always true (whatever its mailbox holds).
    Threads: call from the owning system's event loop only (a local ref raises
    ``WrongThread`` otherwise).
    """

    __slots__ = ()

    # Every kind of ref keeps these two in fields of its own (slots of the subclass); ``_id``
    # is the id's value, a plain int or already an ActorId.
    _id: Any
    _name: str | None

    @property
    def id(self) -> ActorId:
        """The actor's id."""
        return ActorId(self._id)

    @property
    def name(self) -> str | None:
        """The name the actor was spawned with, if any."""
        return self._name

    @property
    @abstractmethod
    def is_alive(self) -> bool:
        """True while the actor accepts messages (False once it is stopping or stopped)."""

    @property
    def mailbox(self) -> MailboxView:
        """A read-only view of the actor's mailbox, for metrics (see ``MailboxView``).

        Always present; for a remote actor it knows nothing of the other end: ``capacity`` is
        ``None`` and the counts are 0.
        """
        return _UNKNOWN_MAILBOX

    @abstractmethod
    def try_send(self, msg: M, /) -> None:
        """Deliver ``msg`` without waiting.

        Raises:
            MessageTypeError: ``msg`` is not of the actor's message type.
            MailboxFull: the mailbox is full, or other senders wait for room (they go first);
                the message is counted in ``dropped``.
            ActorStopped: the actor is stopping or stopped.
            WrongThread: called from a thread other than the event loop's.
        """

    def tell(self, msg: M, /) -> None:
        """Alias of :meth:`try_send`."""
        self.try_send(msg)

    @abstractmethod
    def send(self, msg: M, /) -> Coroutine[Any, Any, None]:
        """Deliver ``msg``; await the result to wait for room while the mailbox is full.

        Use it as ``await ref.send(msg)``: it returns as soon as the message is in the mailbox
        (it does not wait for the handler to finish). The result is a coroutine to asyncio, so
        every API
        takes it: ``create_task``, ``TaskGroup.create_task``, ``ensure_future``, ``gather``,
        ``wait_for``, ``shield``; ``asyncio.wait`` refuses it as it refuses any coroutine (wrap
        it in ``create_task``).

        A local ref does its part at call time, so a send run in the background keeps its
        place: with room, the message is enqueued at once and the result is already complete
        (the fast path costs no coroutine frame); with the mailbox full, or other senders
        already waiting, the message joins the waiting senders, in call order, and the
        dispatcher moves it into the mailbox as room frees (the sender need not run for that);
        the result completes then.

        Inline delivery (local refs): when the message woke an idle actor (its mailbox was
        empty, no handler in progress) and the dispatcher's turn has not come yet, awaiting the
        result may run the handler at once, in the awaiting code's stack, before the await
        returns; from outside any handler this happens for at most two such sends between two
        turns of the dispatcher (a burst of sends is still queued and handled as one batch),
        and a handler that sends on does the same for the next idle actor, nested up to
        ``dispatcher.MAX_INLINE_DEPTH`` deep. The handler runs as under a turn: one message at a
        time, in order, in a context and a task of its own; if it suspends it goes on in its
        task and the await returns; if it raises, the failure is the actor's (dead letter,
        supervision), not the sender's. Never from ``try_send``/``tell``, nor from a handler
        run by a turn.

        Cancellation: cancelling (or closing) the result, or the task awaiting it, before the
        message was admitted withdraws it: it is never delivered. A cancellation that comes
        after admission (the wake-up was on its way) still raises ``CancelledError``, and the
        message is delivered. Dropping the result without awaiting it withdraws nothing.

        Raises:
            MessageTypeError: ``msg`` is not of the actor's message type.
            ActorStopped: the actor is stopping or stopped (also while waiting for room).
            WouldDeadlock: a handler waited for room in its own full mailbox.
            WrongThread: called from a thread other than the event loop's.
        """

    @abstractmethod
    async def ask(self, msg: M, /, *, timeout: float | None = 5.0) -> R:
        """Deliver ``msg`` and return what ``handle`` returned for it (an ``R``).

        A local ref answers an ask to an idle actor (empty mailbox, no handler in progress, no
        turn of the dispatcher pending) by running its handler at once, in the asker's stack: a
        handler that returns without suspending answers with no loop turn (so such an ask does
        not yield to the event loop; after ``turn_budget_s`` of such runs in one loop iteration
        the next asks queue, which yields). The handler runs as under a turn: one message at a
        time, in an empty context of its own, with a task of its own as the current task; one
        that suspends goes on in that task and the asker waits for its answer as usual
        (cancelling the asker leaves the handler running). Otherwise the question is queued.

        Raises:
            AskTimeout: no answer within ``timeout`` seconds (``None``: wait forever), counting
                the wait for room. The question may still be handled later; its answer is then
                discarded. A local ref never raises it early; timeouts of 50 ms or more share
                5 ms timer buckets, so they may fire up to 5 ms late.
            MessageTypeError: ``msg`` is not of the actor's message type.
            ActorStopped: the actor is stopped, or stopped before answering.
            WrongThread: called from a thread other than the event loop's.
            WouldDeadlock: the actor's own code asked it (a local ref raises it at the call).
            Exception: whatever ``handle`` raised for this message (the actor's supervision
                then decides: by default it stops).
        """

    def __bool__(self) -> bool:
        """Always True, local or remote, alive or not: ``lookup(name) or fallback`` keeps a ref."""
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActorRef):
            return NotImplemented
        return self.id == other.id  # pyright: ignore[reportUnknownMemberType]

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        state = "alive" if self.is_alive else "stopped"
        label = f"{self.name}{self.id}" if self.name else str(self.id)
        return f"<{type(self).__name__} {label} {state}>"
