"""Ask round trip: ``await ref.ask(msg)``, one question at a time, to an idle local actor.

Each round asks ASKS questions in sequence (default timeout, as callers use it); the trivial
handler answers at once. Covers delivery, scheduling the actor, the handler, the answer and
waking the asker.
"""

from __future__ import annotations

import asyncio

from pytest_codspeed import BenchmarkFixture

from mycelium import ActorSystem
from mycelium_bench.workload import Counter, ticks

ASKS = 1_000


def test_ask_rtt(benchmark: BenchmarkFixture, runner: asyncio.Runner, system: ActorSystem) -> None:
    """ASKS sequential asks to one actor."""
    counter = Counter()
    ask = runner.run(system.spawn(counter)).ask
    msgs = ticks(ASKS)

    async def one_round() -> int:
        answer = 0
        for msg in msgs:
            answer = await ask(msg)
        return answer

    last = benchmark(lambda: runner.run(one_round()))
    assert last >= ASKS  # the answer is the running count
    assert counter.count % ASKS == 0
