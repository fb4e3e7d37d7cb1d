"""Test-wide fixtures: every async test runs on a real uvloop event loop."""

from __future__ import annotations

import asyncio

import pytest
import uvloop


@pytest.fixture(scope="session")
def event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
    """Run every asyncio test on uvloop, the loop the bundle uses in production."""
    return uvloop.EventLoopPolicy()
