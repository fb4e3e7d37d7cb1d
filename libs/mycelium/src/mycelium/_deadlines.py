"""``AskDeadlines``: ask timeouts in coarse buckets, one loop timer per bucket (private).

An ``ask`` with a timeout needs its reply failed with ``AskTimeout`` if no answer comes in time.
A loop timer per ask (``call_later`` then ``cancel``) costs about a microsecond, a sixth of a
local ask's round trip. Here the deadlines fall into buckets of ``GRANULARITY`` seconds: the first
ask of a bucket starts its one timer, every ask adds itself to the bucket's dict and removes
itself when answered.

Invariant: an ask registered with timeout ``t`` at loop time ``now`` fails no earlier than
``now + t`` and no later than ``now + t + GRANULARITY`` (plus the loop's own lateness).
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

    __slots__ = ("_buckets", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # Invariant: a bucket is in _buckets from its first ask until its timer has fired.
        self._buckets: dict[int, Bucket] = {}

    def add(
        self, reply: asyncio.Future[Any], ref: LocalActorRef[Any], timeout: float, msg: object
    ) -> Bucket:
        """Fail ``reply`` with ``AskTimeout`` once ``timeout`` has passed, unless it is done.

        Returns the bucket: remove ``reply`` from it (``bucket.pop(reply, None)``) once answered.
        """
        slot = int((self._loop.time() + timeout) // GRANULARITY) + 1
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = self._buckets[slot] = {}
            self._loop.call_at(slot * GRANULARITY, self._expire, slot)
        bucket[reply] = (ref, timeout, msg)
        return bucket

    def _expire(self, slot: int) -> None:
        for reply, (ref, timeout, msg) in self._buckets.pop(slot).items():
            if not reply.done():
                reply.set_exception(AskTimeout(ref.label, timeout, msg))

    def __len__(self) -> int:
        """Asks still registered (answered ones leave their bucket at once)."""
        return sum(len(bucket) for bucket in self._buckets.values())
