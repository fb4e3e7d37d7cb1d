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
Invariant: every bucket but the latest is non-empty.
Loop-affine, like the dispatcher that owns it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, Protocol, final

from .errors import AskTimeout

__all__ = ["GRANULARITY", "SHORTEST_BUCKETED", "AskDeadlines", "Asked"]

GRANULARITY: Final = 0.005
"""Width of a bucket, s: a bucketed ask times out at most this much late."""

SHORTEST_BUCKETED: Final = 0.05
"""Timeouts shorter than this get an exact timer of their own (5 ms late would be 10% late)."""


class Asked(Protocol):
    """The actor an ask went to, as a timeout names it (a local ref)."""

    @property
    def label(self) -> str: ...


@final
class Bucket(dict["asyncio.Future[Any]", tuple[Asked, float, object]]):
    """The asks whose deadlines fall in one slot: reply -> (ref, timeout, message)."""

    __slots__ = ("slot", "timer")

    def __init__(self, slot: int, timer: asyncio.TimerHandle | None = None) -> None:
        super().__init__()
        self.slot = slot
        self.timer = timer


@final
class AskDeadlines:
    """Fails the replies of asks whose timeout has passed, a bucket at a time.

    An ask adds itself (``add``) and, once over, takes itself out of the bucket it was given:
    ``bucket.pop(reply, None)``, then, if that left it empty, ``drop(bucket)`` unless it is
    ``latest`` (that check is done inline by the asker: it is on every ask's path).
    """

    __slots__ = ("_buckets", "_loop", "latest")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Invariant: a bucket is in _buckets from its first ask until its timer has fired or
        # it is dropped (emptied, and not the latest); each has its timer armed.
        self._buckets: dict[int, Bucket] = {}
        # The bucket asks were last added to (it may be empty).
        self.latest: Bucket | None = None

    def add(self, reply: asyncio.Future[Any], ref: Asked, timeout: float, msg: object) -> Bucket:
        """Fail ``reply`` with ``AskTimeout`` once ``timeout`` has passed, unless it is done.

        Returns the bucket to take ``reply`` out of once the ask is over (see the class).
        """
        slot = int((self._loop.time() + timeout) // GRANULARITY) + 1
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = self._open(slot)
        bucket[reply] = (ref, timeout, msg)
        return bucket

    def drop(self, bucket: Bucket) -> None:
        """``bucket`` has no ask left: forget it and cancel its timer (if it has not fired)."""
        if self._buckets.get(bucket.slot) is bucket:
            del self._buckets[bucket.slot]
            if bucket.timer is not None:
                bucket.timer.cancel()
        if bucket is self.latest:
            self.latest = None

    def _open(self, slot: int) -> Bucket:
        latest = self.latest
        if latest is not None and not latest:
            self.drop(latest)  # an empty latest bucket: nothing lands in it any more
        bucket = Bucket(slot)
        bucket.timer = self._loop.call_at(slot * GRANULARITY, self._expire, slot)
        self._buckets[slot] = bucket
        self.latest = bucket
        return bucket

    def _expire(self, slot: int) -> None:
        bucket = self._buckets.pop(slot)
        bucket.timer = None
        if bucket is self.latest:
            self.latest = None
        for reply, (ref, timeout, msg) in bucket.items():
            if not reply.done():
                reply.set_exception(AskTimeout(ref.label, timeout, msg))

    @property
    def buckets(self) -> int:
        """Buckets alive, each with its loop timer (at most one of them empty)."""
        return len(self._buckets)

    def __len__(self) -> int:
        """Asks still registered (answered ones leave their bucket at once)."""
        return sum(len(bucket) for bucket in self._buckets.values())
