"""Fixtures of the runtime suite: a fresh actor system per test, on the test's uvloop loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mycelium import ActorSystem


@pytest.fixture
async def system() -> AsyncIterator[ActorSystem]:
    """A running system; leaving the test shuts it down (every actor stops gracefully)."""
    async with ActorSystem() as system:
        yield system
