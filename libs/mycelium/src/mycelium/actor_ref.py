"""``ActorRef[M]``: the location-transparent address of an actor (seed task MVP-004).

Code that holds an ``ActorRef`` does not know whether the actor runs in this process (a
``LocalActorRef``, straight into its mailbox) or elsewhere (a remote ref over a transport); the
methods and their errors mean the same in both cases.
"""

# pyright: reportPrivateUsage=false
# (a friend of Mailbox/ActorCell: the hot path reads their queue and limit directly)

from __future__ import annotations

import asyncio
import itertools
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

from ._cell import RUNNING, ActorCell, Ask
from .errors import AskTimeout

if TYPE_CHECKING:
    from .mailbox import Mailbox

__all__ = ["ActorId", "ActorRef", "LocalActorRef"]

M = TypeVar("M", contravariant=True)

_next_id = itertools.count(1).__next__


@final
class ActorId(int):
    """An actor's id: unique within the process (so within every system), hashable, ordered
    by spawn. Prints as ``#<n>``."""

    __slots__ = ()

    @classmethod
    def next(cls) -> ActorId:
        """A fresh id, never handed out before in this process."""
        return cls(_next_id())

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
    async def send(self, msg: M, /) -> None:
        """Deliver ``msg``, waiting for room while the mailbox is full (backpressure).

        Returns as soon as the message is in the mailbox (it does not wait for the handler).
        Cancelled while waiting: the message was not delivered.

        Raises:
            MessageTypeError: ``msg`` is not of the actor's message type.
            ActorStopped: the actor is stopping or stopped (also while waiting for room).
        """

    @abstractmethod
    async def ask(self, msg: M, /, *, timeout: float | None = 5.0) -> Any:
        """Deliver ``msg`` and return what ``handle`` returned for it.

        Raises:
            AskTimeout: no answer within ``timeout`` seconds (``None``: wait forever). The
                question may still be handled later; its answer is then discarded.
            MessageTypeError: ``msg`` is not of the actor's message type.
            ActorStopped: the actor is stopped, or stopped before answering.
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


@final
class LocalActorRef(ActorRef[M]):
    """A ref to an actor of this process: sends go straight into its mailbox."""

    __slots__ = ("_cell",)

    def __init__(self, cell: ActorCell) -> None:
        self._cell = cell

    @property
    def id(self) -> ActorId:
        return self._cell.id  # type: ignore[return-value]  # cells are built with ActorIds

    @property
    def name(self) -> str | None:
        return self._cell.name

    @property
    def is_alive(self) -> bool:
        return self._cell.state == RUNNING

    @property
    def mailbox(self) -> Mailbox[Any]:
        return self._cell

    def try_send(self, msg: M, /) -> None:
        cell = self._cell
        queue = cell._queue
        # Fast path: a class seen before, and room in an open mailbox (one comparison
        # covers "open", "not full" and "queue exists": see Mailbox._limit).
        if type(msg) in cell.accepts and len(queue) < cell._limit:
            queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
            if not cell.scheduled:
                cell.dispatcher.schedule(cell)
            return
        cell.put_nowait(msg)

    tell = try_send

    async def send(self, msg: M, /) -> None:
        cell = self._cell
        queue = cell._queue
        if type(msg) in cell.accepts and len(queue) < cell._limit:
            queue.append(msg)  # type: ignore[union-attr]
            if not cell.scheduled:
                cell.dispatcher.schedule(cell)
            return
        if type(msg) not in cell.accepts:
            cell.admit(msg)
        await cell.put_waiting(msg)

    async def ask(self, msg: M, /, *, timeout: float | None = 5.0) -> Any:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 or None, got {timeout}")
        cell = self._cell
        if type(msg) not in cell.accepts:
            cell.admit(msg)
        loop = cell.dispatcher.loop
        reply: asyncio.Future[Any] = loop.create_future()
        await cell.put_waiting(Ask(msg, reply))
        if timeout is None:
            return await reply
        expiry = loop.call_later(timeout, _expire, reply, cell.label, timeout, msg)
        try:
            return await reply
        finally:
            expiry.cancel()


def _expire(reply: asyncio.Future[Any], label: str, timeout: float, msg: object) -> None:
    if not reply.done():
        reply.set_exception(AskTimeout(label, timeout, msg))
