"""Spawning idle actors, the figure behind ``memory_bytes_per_actor``.

Each round spawns SPAWNS actors whose objects were created beforehand (setup, untimed) into a
fresh system, and leaves them idle; the system is shut down in the teardown. Under CodSpeed's
CPU or wall-time modes this times the spawns; its memory mode counts what they allocate. It
asserts nothing about bytes: the report (``uv run mycelium-bench``) measures bytes per actor
with tracemalloc over 10,000 spawns.
"""

from __future__ import annotations

import asyncio

from pytest_codspeed import BenchmarkFixture

from mycelium import ActorSystem
from mycelium_bench.workload import Counter

SPAWNS = 1_000


def test_memory_per_actor(benchmark: BenchmarkFixture, runner: asyncio.Runner, rounds: int) -> None:
    """SPAWNS spawns of idle actors into a fresh system."""
    spawned: list[ActorSystem] = []

    def fresh() -> tuple[tuple[ActorSystem, list[Counter]], dict[str, object]]:
        return (ActorSystem("bench"), [Counter() for _ in range(SPAWNS)]), {}

    async def spawn_all(system: ActorSystem, actors: list[Counter]) -> None:
        for actor in actors:
            await system.spawn(actor)
        spawned.append(system)

    def one_round(system: ActorSystem, actors: list[Counter]) -> None:
        runner.run(spawn_all(system, actors))

    def shut_down(system: ActorSystem, actors: list[Counter]) -> None:
        runner.run(system.shutdown())

    benchmark.pedantic(  # pyright: ignore[reportUnknownMemberType]  # untyped setup/teardown
        one_round, setup=fresh, teardown=shut_down, rounds=rounds, warmup_rounds=1
    )
    assert spawned
    assert all(len(system) == 0 for system in spawned)  # every one was shut down
