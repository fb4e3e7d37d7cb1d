"""Waking the futures that transports and listeners park their waiting callers on."""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["wake_all", "wake_first"]


def wake_first(waiters: deque[asyncio.Future[None]]) -> None:
    """Wake the first waiter not cancelled yet, dropping the cancelled ones before it."""
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


def wake_all(waiters: deque[asyncio.Future[None]]) -> None:
    """Wake every waiter (and empty ``waiters``)."""
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
