"""``AskDeadlines``: ask timeouts in coarse buckets, one loop timer per bucket (private).

An ``ask`` with a timeout needs its reply failed with ``AskTimeout`` if no answer comes in time.
A loop timer per ask (``call_later`` then ``cancel``) costs about a microsecond, a sixth of a
local ask's round trip. Here the deadlines fall into buckets of ``GRANULARITY`` seconds: the first
ask of a bucket starts its one timer, every ask adds itself to the bucket's dict and removes
itself when answered.

Memory follows the asks in flight: a bucket whose last ask is answered is dropped at once, its
timer cancelled, except the one asks were added to last (the *latest*), which the next ask is
likely to land in; an empty latest bucket is dropped as soon as an ask lands in another one.
So at most one empty bucket is kept, whatever the timeouts (a one-hour timeout no longer keeps
a bucket per 5 ms slot alive for an hour).

Invariant: an ask registered with timeout ``t`` at loop time ``now`` fails no earlier than
``now + t`` and no later than ``now + t + GRANULARITY`` (plus the loop's own lateness).
Invariant: ``_buckets`` and ``_timers`` have the same keys; every bucket but the latest is
non-empty.
Loop-affine, like the dispatcher that owns it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final, final

from .errors import AskTimeout

if TYPE_CHECKING:
    from .local_ref import LocalActorRef

__all__ = ["GRANULARITY", "SHORTEST_BUCKETED", "AskDeadlines"]

GRANULARITY: Final = 0.005
"""Width of a bucket, s: a bucketed ask times out at most this much late."""

SHORTEST_BUCKETED: Final = 0.05
"""Timeouts shorter than this get an exact timer of their own (5 ms late would be 10% late)."""

Bucket = dict["asyncio.Future[Any]", tuple["LocalActorRef[Any]", float, object]]


@final
class AskDeadlines:
    """Fails the replies of asks whose timeout has passed, a bucket at a time."""

    __slots__ = ("_buckets", "_latest", "_loop", "_timers")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Invariant: a bucket is in _buckets from its first ask until its timer has fired or
        # it is dropped (emptied, and not the latest).
        self._buckets: dict[int, Bucket] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        # The slot asks were last added to (its bucket may be empty); -1 for none.
        self._latest = -1

    def add(
        self, reply: asyncio.Future[Any], ref: LocalActorRef[Any], timeout: float, msg: object
    ) -> int:
        """Fail ``reply`` with ``AskTimeout`` once ``timeout`` has passed, unless it is done.

        Returns the slot to give back to ``remove`` once the ask is over.
        """
        slot = int((self._loop.time() + timeout) // GRANULARITY) + 1
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = self._open(slot)
        bucket[reply] = (ref, timeout, msg)
        return slot

    def remove(self, slot: int, reply: asyncio.Future[Any]) -> None:
        """The ask of ``reply`` is over (answered, failed or cancelled): forget its deadline."""
        bucket = self._buckets.get(slot)
        if bucket is None:  # its timer fired
            return
        bucket.pop(reply, None)
        if not bucket and slot != self._latest:
            self._drop(slot)

    def _open(self, slot: int) -> Bucket:
        latest = self._latest
        if latest != -1 and not self._buckets.get(latest, True):
            self._drop(latest)  # an empty latest bucket: nothing lands in it any more
        bucket: Bucket = {}
        self._buckets[slot] = bucket
        self._timers[slot] = self._loop.call_at(slot * GRANULARITY, self._expire, slot)
        self._latest = slot
        return bucket

    def _drop(self, slot: int) -> None:
        del self._buckets[slot]
        self._timers.pop(slot).cancel()

    def _expire(self, slot: int) -> None:
        del self._timers[slot]
        if slot == self._latest:
            self._latest = -1
        for reply, (ref, timeout, msg) in self._buckets.pop(slot).items():
            if not reply.done():
                reply.set_exception(AskTimeout(ref.label, timeout, msg))

    @property
    def buckets(self) -> int:
        """Buckets alive, each with its loop timer (at most one of them empty)."""
        return len(self._buckets)

    def __len__(self) -> int:
        """Asks still registered (answered ones leave their bucket at once)."""
        return sum(len(bucket) for bucket in self._buckets.values())
