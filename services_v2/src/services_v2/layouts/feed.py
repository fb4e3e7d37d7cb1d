"""Feeding events into a layout's market actor: the one loop every actor layout uses.

The events are consumed lazily, :data:`FEED_CHUNK` at a time, and each is sent with
``await send`` (backpressure: producing waits while the market mailbox is full, so memory stays
flat whatever the number of events). Only the chunk being sent is held outside mailboxes.

Producing runs on the actors' thread. Given a ``queued`` probe (the bundle layout gives the
messages waiting downstream of the market actor in this process), a chunk is produced only once
those are handled, or after :data:`YIELD_TURNS` loop turns, so that the simulator's work never
holds up signals in flight (it made the hot-path p99 3-4x worse); events waiting in the market
mailbox have not entered the hot path yet, so they may wait. Without one (the naive baseline of
``mycelium-bench``) the loop never yields of its own accord: it waits only when ``send`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from itertools import islice
from time import perf_counter
from typing import Final

from mycelium_types.messages import MarketMessage

from .result import ProgressCallback

__all__ = ["FEED_CHUNK", "YIELD_TURNS", "feed"]

FEED_CHUNK: Final = 1024
"""Events produced at a time before they are sent (the only events held outside mailboxes)."""

YIELD_TURNS: Final = 10_000
"""Loop turns the feeder lets the actors have, at most, before it produces the next chunk."""


async def feed(
    send: Callable[[MarketMessage], Awaitable[None]],
    events: Iterable[MarketMessage],
    *,
    queued: Callable[[], int] | None = None,
    progress: ProgressCallback | None = None,
) -> float:
    """Send every event of ``events`` in order with ``await send(event)``; returns the time
    spent producing them (s), which a layout subtracts from its elapsed time.

    ``progress`` is called with 0 before the first event, then with the number of events sent
    after each chunk. Whatever iterating ``events`` or ``send`` raises propagates (the events
    sent so far were sent; nothing else was).
    """
    source = iter(events)
    producing = 0.0
    sent = 0
    if progress is not None:
        progress(0)  # the run starts
    while True:
        if queued is not None:
            for _ in range(YIELD_TURNS):
                if not queued():
                    break
                await asyncio.sleep(0)  # one loop turn: the dispatcher runs the actors
        began = perf_counter()
        chunk = list(islice(source, FEED_CHUNK))
        producing += perf_counter() - began
        if not chunk:
            return producing
        for event in chunk:
            await send(event)
        sent += len(chunk)
        if progress is not None:
            progress(sent)
