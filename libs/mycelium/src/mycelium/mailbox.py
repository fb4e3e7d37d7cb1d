"""``Mailbox[M]``: a bounded FIFO of messages, with counters for metrics (seed task MVP-008).

The mailbox is the hot structure of the runtime: a local ``ActorRef`` appends straight into it
and the dispatcher pops from it. It stores the message objects themselves (no envelope), and it
allocates its queue only when the first message arrives, so an idle actor costs a few dozen
bytes, not the ~600 bytes of an empty ``collections.deque``.

Not thread-safe: use it from the event loop that owns it.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Generic, TypeVar

from ._core import MailboxCore
from .errors import ActorStopped, MailboxEmpty, MailboxFull

__all__ = ["Mailbox"]

M = TypeVar("M")

_NO_QUEUE: tuple[()] = ()


class Mailbox(MailboxCore, Generic[M]):
    """A bounded FIFO of messages of type ``M``.

    Ordering: messages leave in the order they entered.
    Capacity: at most ``capacity`` messages are held; ``put_nowait`` on a full mailbox raises
    ``MailboxFull`` and counts the message in ``dropped``.
    Closing: after ``close()`` every ``put_nowait`` raises ``ActorStopped``; the messages already
    held can still be taken.

    Counters (read them for metrics): ``dropped`` counts messages refused because the mailbox was
    full; ``handled`` counts messages the owning actor has finished handling.
    """

    # _queue, _limit (and the ref's send-path fields) live in MailboxCore: see _core.py.
    __slots__ = ("capacity", "dropped", "handled")

    def __init__(self, capacity: int = 1000) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity: int = capacity
        self.dropped: int = 0
        self.handled: int = 0
        # Invariant: _queue is the empty tuple until the first put, then a deque for good.
        self._queue = _NO_QUEUE
        # Invariant: a put may take the fast path iff len(_queue) < _limit. _limit is 0 before
        # the queue exists, capacity while open and -1 once closed, so one comparison on the
        # hot path covers "no queue yet", "full" and "closed".
        self._limit = 0
        self.accepts: set[type] = set()
        self.scheduled = True  # a standalone mailbox has no dispatcher to schedule

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def closed(self) -> bool:
        """True once ``close()`` has been called."""
        return self._limit < 0

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

    def close(self) -> None:
        """Refuse every later put; the messages held stay until taken."""
        self._limit = -1

    def _put_slow(self, msg: M) -> None:
        """The put that could not take the fast path: first message, full or closed."""
        if self._limit < 0:
            raise ActorStopped(self._label(), msg)
        if self._limit == 0:
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

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<{type(self).__name__} {self._label()} {state} {len(self)}/{self.capacity} "
            f"dropped={self.dropped} handled={self.handled}>"
        )
