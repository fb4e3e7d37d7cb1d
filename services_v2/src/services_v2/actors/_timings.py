"""Handing a batch of hot-path timings to the probe: what both service actors do."""

from __future__ import annotations

from mycelium import ActorRef, MailboxFull
from services_v2.latency.hot_path import HotPathTiming

__all__ = ["send_timings"]


async def send_timings(probe: ActorRef[HotPathTiming], batch: HotPathTiming) -> None:
    """Send ``batch`` to ``probe`` without waiting when it has room (the hot path must not
    suspend for the probe), else with ``await send`` (nothing is dropped)."""
    try:
        probe.try_send(batch)
    except MailboxFull:
        await probe.send(batch)
