"""The trading hot path through the services as actors (swap in -> signal validated).

Each round runs EVENTS events of the built-in seeded market through the shipped
``bundles/monolith.toml`` (``services_v2.layouts.bundle``: market-data actor -> signal actor, fed
with ``await send``) on the benchmark's uvloop loop, from the first event sent to the last
signal validated; the report (``uv run mycelium-bench``) gives the per-swap latency p50/p99.
Skipped, with the reason, while the services' bundle layout does not exist.
"""

from __future__ import annotations

import asyncio

import pytest
from pytest_codspeed import BenchmarkFixture

from mycelium_bench.hot_path import load_hot_path, market_events

EVENTS = 2_000


def test_hot_path_trading(benchmark: BenchmarkFixture, runner: asyncio.Runner) -> None:
    """EVENTS market events through the two service actors."""
    hot = load_hot_path()
    if isinstance(hot, str):
        pytest.skip(hot)
    events = market_events(EVENTS)
    samples = benchmark(lambda: runner.run(hot.ours(events)))
    assert samples, "the built-in market should reveal arbitrage within EVENTS events"
