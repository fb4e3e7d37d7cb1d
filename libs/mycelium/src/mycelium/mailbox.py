"""``Mailbox[M]``: a bounded FIFO of messages, with counters for metrics (seed task MVP-008);
``MailboxView``: the read-only view of an actor's mailbox that refs hand out.

The mailbox is the hot structure of the runtime: a local ``ActorRef`` appends straight into it
and the dispatcher pops from it. It stores the message objects themselves (no envelope), and it
allocates its queue only when the first message arrives, so an idle actor costs a few dozen
bytes, not the ~600 bytes of an empty ``collections.deque``.

``MailboxState`` holds what a standalone ``Mailbox`` and an actor's ``LocalActorRef`` share (the
queue, the capacity, the counters, closing); only ``Mailbox`` adds ``get_nowait`` and
``len()``. A ref is not a ``Mailbox``: nobody can take mail out of a live actor, and
``ref.mailbox`` is a ``MailboxView``.

Not thread-safe: use it from the event loop that owns it.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final, Generic, Literal, TypeAlias, TypeVar, final

from ._core import MailboxCore
from .errors import ActorStopped, MailboxEmpty, MailboxFull

__all__ = [
    "MAX_CAPACITY",
    "OVERFLOW_POLICIES",
    "Mailbox",
    "MailboxState",
    "MailboxView",
    "Overflow",
    "check_overflow",
]

M = TypeVar("M")

MAX_CAPACITY: Final = 2**31 - 1
"""The largest capacity a mailbox may have, in both builds and on every platform (the C send
path holds it in a ``Py_ssize_t``); larger ones are refused with ``ValueError``."""

_NO_QUEUE: tuple[()] = ()

Overflow: TypeAlias = Literal["block", "drop_new", "drop_oldest", "fail"]
"""What an actor's full mailbox does with one more message (``spawn(..., overflow=...)``):

* ``"block"`` (the default): ``send`` and ``ask`` wait for room; ``try_send`` raises
  ``MailboxFull``.
* ``"drop_new"``: the arriving message is dropped and the call returns normally (``send``,
  ``try_send``); it is a dead letter. An ``ask`` raises ``MailboxFull`` instead (no answer could
  ever come), and is not accepted.
* ``"drop_oldest"``: the oldest queued message is dropped to make room (the runtime's own items,
  timers and supervision, are never dropped: they take no room), and the arriving one enters.
  The dropped one is a dead letter; if it was a question its asker gets ``MessageDropped``.
* ``"fail"``: ``send``, ``ask`` and ``try_send`` raise ``MailboxFull`` at once, never waiting.

Every message dropped or refused because the mailbox was full is counted in ``dropped``.
"""

OVERFLOW_POLICIES: Final[tuple[Overflow, ...]] = ("block", "drop_new", "drop_oldest", "fail")
"""The allowed values of ``overflow``, in the order errors list them."""


def check_overflow(overflow: object) -> Overflow:
    """Return ``overflow`` if it is one of ``OVERFLOW_POLICIES``; else raise ``ValueError``."""
    for policy in OVERFLOW_POLICIES:
        if overflow == policy and type(overflow) is str:
            return policy
    allowed = ", ".join(repr(p) for p in OVERFLOW_POLICIES)
    raise ValueError(f"overflow must be one of {allowed}, got {overflow!r}")


def check_capacity(capacity: int) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``1 <= capacity <= MAX_CAPACITY``."""
    if type(capacity) is int and 0 < capacity <= MAX_CAPACITY:
        return
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
    if capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
    if capacity > MAX_CAPACITY:
        raise ValueError(f"capacity must be <= {MAX_CAPACITY} (MAX_CAPACITY), got {capacity}")


class MailboxState(MailboxCore):
    """The queue, capacity, counters and closing that ``Mailbox`` and ``LocalActorRef`` share.

    Counters: ``dropped`` counts messages refused, or dropped by the overflow policy, because
    the mailbox was full; ``handled`` counts messages the owning actor has finished handling.
    """

    # _queue, _limit (and the ref's send-path fields) live in MailboxCore: see _core.py.
    __slots__ = ("capacity", "dropped", "handled", "overflow")

    def __init__(self, capacity: int = 1000) -> None:
        check_capacity(capacity)
        self.capacity: int = capacity
        # What a full mailbox does with one more message: see Overflow. Only an actor's
        # mailbox (LocalActorRef) applies a policy other than "block".
        self.overflow: Overflow = "block"
        self.dropped: int = 0
        self.handled: int = 0
        # Invariant: _queue is the empty tuple until the first put, then a deque (an actor's
        # ref may give it back while idle: see LocalActorRef.release_queue_if_idle).
        self._queue = _NO_QUEUE
        # Invariant: a put may take the fast path iff len(_queue) < _limit. _limit is 0 before
        # the queue exists (and, for an actor, while senders wait for room), capacity while
        # open and -1 once closed, so one comparison on the hot path covers "no queue yet",
        # "full", "others wait first" and "closed".
        self._limit = 0
        # (MailboxCore's other fields, accepts, dispatcher and scheduled, are the actor's:
        # LocalActorRef sets them; a standalone Mailbox never takes the send path.)

    @property
    def closed(self) -> bool:
        """True once ``close()`` has been called."""
        return self._limit < 0

    @property
    def waiting(self) -> int:
        """Messages whose senders wait for room (not accepted yet): none for a plain mailbox."""
        return 0

    def close(self) -> None:
        """Refuse every later put; the messages held stay until taken."""
        self._limit = -1


class Mailbox(MailboxState, Generic[M]):
    """A bounded FIFO of messages of type ``M``.

    Ordering: messages leave in the order they entered.
    Capacity: at most ``capacity`` messages are held (1 to ``MAX_CAPACITY``); ``put_nowait`` on
    a full mailbox raises ``MailboxFull`` and counts the message in ``dropped``.
    Closing: after ``close()`` every ``put_nowait`` raises ``ActorStopped``; the messages already
    held can still be taken.

    Counters (read them for metrics): ``dropped`` counts messages refused because the mailbox was
    full; ``handled`` counts messages the owning actor has finished handling.
    """

    __slots__ = ()

    def __len__(self) -> int:
        return len(self._queue)

    def put_nowait(self, msg: M, /) -> None:
        """Append ``msg``; never waits.

        Raises:
            MailboxFull: the mailbox holds ``capacity`` messages (``dropped`` is incremented).
            ActorStopped: the mailbox is closed.
        """
        queue = self._queue
        if len(queue) < self._limit:
            queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
            return
        self._put_slow(msg)

    def _put_slow(self, msg: object) -> None:
        """The put that could not take the fast path: first message, full or closed."""
        if self._limit < 0:
            raise ActorStopped(self._label(), msg)
        if type(self._queue) is tuple:  # no queue yet: this first message creates it
            queue: deque[Any] = deque()
            queue.append(msg)
            self._queue = queue
            self._limit = self.capacity
            return
        self.dropped += 1
        raise MailboxFull(self._label(), self.capacity, msg)

    def _label(self) -> str:
        """How errors name the owner of this mailbox."""
        return "mailbox"

    def get_nowait(self) -> M:
        """Remove and return the oldest message.

        Raises:
            MailboxEmpty: there is no message.
        """
        queue = self._queue
        if not queue:
            raise MailboxEmpty(self._label())
        item: M = queue.popleft()  # type: ignore[union-attr]  # non-empty implies a deque
        return item

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<{type(self).__name__} {self._label()} {state} {len(self)}/{self.capacity} "
            f"dropped={self.dropped} handled={self.handled}>"
        )


@final
class MailboxView:
    """A read-only, live view of an actor's mailbox, for metrics: ``ActorRef.mailbox``.

    ``capacity``, ``overflow`` (its policy), ``len()``, ``dropped`` (refused, or dropped by the
    overflow policy, because full), ``handled`` (finished by the actor), ``waiting`` (senders
    waiting for room) and ``closed`` read the
    mailbox as it is now; nothing here can change it. A view is always true, even when the
    mailbox is empty (test ``len()``).

    A remote ref's view knows nothing of the mailbox at the other end: ``capacity`` is
    ``None``, ``len()``, ``dropped`` and ``handled`` are 0 and ``closed`` is False (a remote
    ref counts what its transport refused in its own ``dropped``; ``is_alive`` says whether
    it still accepts messages).
    """

    __slots__ = ("_box",)

    def __init__(self, box: MailboxState | None = None) -> None:
        """A view of ``box``; without one, the view of a mailbox not known here."""
        self._box = box

    @property
    def capacity(self) -> int | None:
        """The most messages the mailbox holds; ``None`` when not known (a remote actor)."""
        box = self._box
        return None if box is None else box.capacity

    def __len__(self) -> int:
        box = self._box
        return 0 if box is None else len(box._queue)  # pyright: ignore[reportPrivateUsage]

    def __bool__(self) -> bool:
        return True

    @property
    def overflow(self) -> Overflow:
        """What the full mailbox does with one more message (``"block"`` for a remote actor:
        not known here)."""
        box = self._box
        return "block" if box is None else box.overflow

    @property
    def dropped(self) -> int:
        """Messages that did not get in because the mailbox was full: refused (``MailboxFull``
        at the sender) or, under ``"drop_new"``/``"drop_oldest"``, dropped as dead letters."""
        box = self._box
        return 0 if box is None else box.dropped

    @property
    def handled(self) -> int:
        """Messages the actor has finished handling."""
        box = self._box
        return 0 if box is None else box.handled

    @property
    def closed(self) -> bool:
        """True once the mailbox refuses messages (its actor is stopping or stopped)."""
        box = self._box
        return False if box is None else box.closed

    @property
    def waiting(self) -> int:
        """Messages whose senders wait for room: not accepted yet, they enter the mailbox in
        call order as room frees (0 for a remote actor: not known here)."""
        box = self._box
        return 0 if box is None else box.waiting

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return (
            f"<MailboxView capacity={self.capacity} len={len(self)} dropped={self.dropped} "
            f"handled={self.handled}{state}>"
        )
