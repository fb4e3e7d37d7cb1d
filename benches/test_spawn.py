"""Spawning: ``await system.spawn(actor)`` (``on_start`` sets a field) then the first
``await ref.ask(msg)``, one actor at a time; the figure behind ``spawn_us``.

Each round spawns SPAWNS actors whose objects were created beforehand (setup, untimed), each
asked one message right after its spawn; every actor is stopped after its ask, also within
the round (the report's ``spawn_us`` times the spawn and the ask only, per spawn).
"""

from __future__ import annotations

import asyncio

from pytest_codspeed import BenchmarkFixture

from mycelium import ActorSystem
from mycelium_bench.workload import Starter, Tick

SPAWNS = 200


def test_spawn_then_first_ask(
    benchmark: BenchmarkFixture, runner: asyncio.Runner, system: ActorSystem, rounds: int
) -> None:
    """SPAWNS times: spawn, ask the first message, stop."""
    first = Tick(0)
    answers: list[bool] = []

    def fresh() -> tuple[tuple[list[Starter]], dict[str, object]]:
        return ([Starter() for _ in range(SPAWNS)],), {}

    async def spawn_all(actors: list[Starter]) -> None:
        for actor in actors:
            ref = await system.spawn(actor)
            answers.append(await ref.ask(first))
            await system.stop(ref)

    def one_round(actors: list[Starter]) -> None:
        runner.run(spawn_all(actors))

    benchmark.pedantic(  # pyright: ignore[reportUnknownMemberType]  # untyped setup
        one_round, setup=fresh, rounds=rounds, warmup_rounds=1
    )
    assert answers
    assert all(answers)  # on_start ran before every first message
    assert len(system) == 0  # every one was stopped
