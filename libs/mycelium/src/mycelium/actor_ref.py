"""``ActorRef[M]``: the location-transparent address of an actor (seed task MVP-004).

Code that holds an ``ActorRef`` does not know whether the actor runs in this process (a
``LocalActorRef``, straight into its mailbox, see ``local_ref.py``) or elsewhere (a remote ref
over a transport); the methods and their errors mean the same in both cases.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

if TYPE_CHECKING:
    from .mailbox import Mailbox

__all__ = ["ActorId", "ActorRef"]

M = TypeVar("M", contravariant=True)

_next_id = itertools.count(1).__next__


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


class ActorRef(ABC, Generic[M]):
    """Address of one actor; safe to copy, share, and keep after it stops.

    Ordering: messages from one sender are handled in the order sent.
    Delivery: at most once, and never silently dropped: every message that a call accepted is
    handled, or counted as a dead letter if the actor stops first; every message it did not
    accept raises at the sender (``MessageTypeError``, ``MailboxFull``, ``ActorStopped``).
    Equality and hash follow ``id``.
    Threads: call from the owning system's event loop only.
    """

    __slots__ = ()

    @property
    @abstractmethod
    def id(self) -> ActorId:
        """The actor's id."""

    @property
    @abstractmethod
    def name(self) -> str | None:
        """The name the actor was spawned with, if any."""

    @property
    @abstractmethod
    def is_alive(self) -> bool:
        """True while the actor accepts messages (False once it is stopping or stopped)."""

    @property
    def mailbox(self) -> Mailbox[Any] | None:
        """The actor's mailbox, for metrics, when it is local; ``None`` for a remote actor."""
        return None

    @abstractmethod
    def try_send(self, msg: M, /) -> None:
        """Deliver ``msg`` without waiting.

        Raises:
            MessageTypeError: ``msg`` is not of the actor's message type.
            MailboxFull: the mailbox is full; the message is counted in ``dropped``.
            ActorStopped: the actor is stopping or stopped.
        """

    def tell(self, msg: M, /) -> None:
        """Alias of :meth:`try_send`."""
        self.try_send(msg)

    @abstractmethod
    def send(self, msg: M, /) -> Awaitable[None]:
        """Deliver ``msg``; await the result to wait for room while the mailbox is full.

        Use it as ``await ref.send(msg)``: it returns as soon as the message is in the mailbox
        (it does not wait for the handler). A local ref enqueues at call time when there is
        room and returns an already-completed awaitable (so the fast path costs no coroutine);
        when the mailbox is full the message joins the waiting senders at call time, in
        order, and the awaitable completes when it is admitted. Cancelled while waiting: the
        message was not delivered. The result is an awaitable, not always a coroutine: wrap
        it with ``asyncio.ensure_future``, not ``create_task``, to run it in the background.

        Raises:
            MessageTypeError: ``msg`` is not of the actor's message type.
            ActorStopped: the actor is stopping or stopped (also while waiting for room).
        """

    @abstractmethod
    async def ask(self, msg: M, /, *, timeout: float | None = 5.0) -> Any:
        """Deliver ``msg`` and return what ``handle`` returned for it.

        Raises:
            AskTimeout: no answer within ``timeout`` seconds (``None``: wait forever), counting
                the wait for room. The question may still be handled later; its answer is then
                discarded. A local ref never raises it early; timeouts of 50 ms or more share
                5 ms timer buckets, so they may fire up to 5 ms late.
            MessageTypeError: ``msg`` is not of the actor's message type.
            ActorStopped: the actor is stopped, or stopped before answering.
            WouldDeadlock: the actor's own code asked it (a local ref raises it at the call).
            Exception: whatever ``handle`` raised for this message (the actor then stops).
        """

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
