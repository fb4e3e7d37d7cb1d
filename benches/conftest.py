"""Benchmark fixtures: a uvloop event loop the benchmarks own, and rounds per CodSpeed mode.

Every benchmark drives its async code from a synchronous function with ``runner.run(...)`` on
the ``runner`` fixture's uvloop loop (or, when the loop must not turn at all, by stepping the
coroutine by hand). Under plain ``uv run pytest`` each benchmark runs once, as a smoke test;
under ``uv run pytest benches --codspeed`` pytest-codspeed measures it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import uvloop

from mycelium import ActorSystem

WALLTIME_ROUNDS = 50
"""Rounds of a ``benchmark.pedantic`` benchmark when CodSpeed measures wall time."""


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], uvloop.Loop]]:
    """Run every asyncio test on uvloop, the loop the bundle uses in production."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    """A uvloop event loop owned by the benchmark, closed after it."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as owned:
        yield owned


@pytest.fixture
def system(runner: asyncio.Runner) -> Iterator[ActorSystem]:
    """An actor system on ``runner``'s loop, shut down after the benchmark."""
    actors = ActorSystem("bench")
    yield actors
    runner.run(actors.shutdown())


@pytest.fixture
def rounds(request: pytest.FixtureRequest) -> int:
    """Rounds for ``benchmark.pedantic``: several under CodSpeed's wall-time mode, else 1.

    CodSpeed's simulation mode measures one round (and warns about any other count); without
    ``--codspeed`` the benchmark runs once anyway.
    """
    plugin: Any = request.config.pluginmanager.get_plugin("codspeed_plugin")
    enabled = bool(getattr(plugin, "is_codspeed_enabled", False))
    walltime = getattr(plugin, "mode", None) == "walltime"
    return WALLTIME_ROUNDS if enabled and walltime else 1
