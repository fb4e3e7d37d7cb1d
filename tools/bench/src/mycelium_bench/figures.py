"""The figures, written once for any :class:`~mycelium_bench.runtimes.Runtime`.

Each coroutine below builds a fresh runtime from ``new_runtime``, takes ONE sample of one figure
and closes the runtime. Our runtime and the naive one run exactly this code; the floor's twins
are in ``floor.py``. Times come from ``time.perf_counter_ns``. Timed regions contain only what
the figure names: actors are spawned and latches armed before the clock starts.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from itertools import cycle
from time import perf_counter_ns

from .runtimes import Runtime
from .stats import median
from .workload import Counter, Latch, Probe, Relay, Stamp, Starter, Tick

_DEFAULT_CAPACITY = 1000
"""The mailbox capacity spawn uses by default (ours and the naive design alike)."""

__all__ = [
    "ask_rtt_ns",
    "chain_latency_ns",
    "fan_in_msgs_per_s",
    "fan_out_msgs_per_s",
    "memory_bytes_per_actor",
    "memory_bytes_per_used_actor",
    "send_await_ns",
    "send_ns",
    "spawn_us",
    "throughput_msgs_per_s",
]

RuntimeFactory = Callable[[], Runtime]


async def send_ns(new_runtime: RuntimeFactory, msgs: Sequence[Tick], rounds: int) -> float:
    """ns per ``try_send``, sender side only.

    Per round, ``len(msgs)`` messages are ``try_send``-ed back to back into one idle actor whose
    mailbox holds them all (capacity = ``len(msgs)``): synchronous code, so the loop does not
    turn and the actor handles nothing while the clock runs. The actor then drains the batch,
    untimed. An untimed first round warms the mailbox up (its queue is created on first use).
    """
    runtime = new_runtime()
    try:
        counter = Counter()
        try_send = (await runtime.spawn(counter, capacity=len(msgs))).try_send
        loop = asyncio.get_running_loop()
        elapsed = 0
        for round_ in range(rounds + 1):
            latch = Latch(1, loop)
            counter.expect(len(msgs), latch)
            started = perf_counter_ns()
            for msg in msgs:
                try_send(msg)
            stopped = perf_counter_ns()
            await latch.wait()
            if round_:
                elapsed += stopped - started
        return elapsed / (rounds * len(msgs))
    finally:
        await runtime.close()


async def send_await_ns(new_runtime: RuntimeFactory, msgs: Sequence[Tick], rounds: int) -> float:
    """ns per ``await send``, sender side only, on the path where the mailbox has room.

    Same protocol as :func:`send_ns`: the mailbox holds the whole batch, so no ``send``
    suspends and the loop does not turn while the clock runs.
    """
    runtime = new_runtime()
    try:
        counter = Counter()
        send = (await runtime.spawn(counter, capacity=len(msgs))).send
        loop = asyncio.get_running_loop()
        elapsed = 0
        for round_ in range(rounds + 1):
            latch = Latch(1, loop)
            counter.expect(len(msgs), latch)
            started = perf_counter_ns()
            for msg in msgs:
                await send(msg)
            stopped = perf_counter_ns()
            await latch.wait()
            if round_:
                elapsed += stopped - started
        return elapsed / (rounds * len(msgs))
    finally:
        await runtime.close()


async def throughput_msgs_per_s(
    new_runtime: RuntimeFactory, msgs: Sequence[Tick], capacity: int
) -> float:
    """Messages per second through one actor, from the first send to the last one handled.

    One producer, ``await send`` for every message (backpressure: it waits while the mailbox
    of ``capacity`` messages is full), the trivial ``Counter`` handler. The clock stops in the
    handler of the last message.
    """
    runtime = new_runtime()
    try:
        counter = Counter()
        send = (await runtime.spawn(counter, capacity=capacity)).send
        latch = Latch(1, asyncio.get_running_loop())
        counter.expect(len(msgs), latch)
        started = perf_counter_ns()
        for msg in msgs:
            await send(msg)
        finished = await latch.wait()
        return len(msgs) * 1e9 / (finished - started)
    finally:
        await runtime.close()


async def fan_in_msgs_per_s(
    new_runtime: RuntimeFactory, msgs: Sequence[Tick], capacity: int, producers: int
) -> float:
    """Messages per second into one actor from ``producers`` concurrent producer tasks.

    The messages are dealt round-robin to the producers before the clock starts; each producer
    ``await send``-s its share. From the start of the producers to the last message handled.
    """
    runtime = new_runtime()
    try:
        counter = Counter()
        send = (await runtime.spawn(counter, capacity=capacity)).send
        loop = asyncio.get_running_loop()
        latch = Latch(1, loop)
        counter.expect(len(msgs), latch)
        shares = [msgs[i::producers] for i in range(producers)]

        async def produce(share: Sequence[Tick]) -> None:
            for msg in share:
                await send(msg)

        started = perf_counter_ns()
        tasks = [loop.create_task(produce(share)) for share in shares]
        finished = await latch.wait()
        await asyncio.gather(*tasks)
        return len(msgs) * 1e9 / (finished - started)
    finally:
        await runtime.close()


async def fan_out_msgs_per_s(
    new_runtime: RuntimeFactory, msgs: Sequence[Tick], capacity: int, actors: int
) -> float:
    """Messages per second from one producer spread round-robin over ``actors`` actors.

    Message ``i`` goes to actor ``i % actors`` by ``await send``; from the first send to the
    moment the last of all the actors has handled its share.
    """
    if len(msgs) < actors:
        raise ValueError(f"fan-out needs at least one message per actor, got {len(msgs)}")
    runtime = new_runtime()
    try:
        loop = asyncio.get_running_loop()
        latch = Latch(actors, loop)
        sends: list[Callable[[Tick], Awaitable[None]]] = []
        for i in range(actors):
            counter = Counter()
            sends.append((await runtime.spawn(counter, capacity=capacity)).send)
            counter.expect(len(msgs[i::actors]), latch)
        started = perf_counter_ns()
        for msg, send in zip(msgs, cycle(sends)):
            await send(msg)
        finished = await latch.wait()
        return len(msgs) * 1e9 / (finished - started)
    finally:
        await runtime.close()


async def ask_rtt_ns(new_runtime: RuntimeFactory, msgs: Sequence[Tick]) -> float:
    """ns per ``await ask``, one question at a time, to an idle actor that answers at once.

    Covers the whole round trip: delivery, scheduling the actor, the handler, the answer, and
    waking the asker.
    """
    runtime = new_runtime()
    try:
        ask = (await runtime.spawn(Counter(), capacity=1000)).ask
        started = perf_counter_ns()
        for msg in msgs:
            await ask(msg)
        return (perf_counter_ns() - started) / len(msgs)
    finally:
        await runtime.close()


async def chain_latency_ns(new_runtime: RuntimeFactory, msgs: Sequence[Tick]) -> list[int]:
    """One latency sample per message through a two-actor chain A -> B, in ns.

    The sender stamps the time, ``await send``-s to A, whose handler ``await send``-s to B; B's
    handler records now minus the stamp. One message in flight at a time (the sender waits for
    B before the next), so each sample is the latency of an idle chain, without queueing.
    """
    runtime = new_runtime()
    try:
        loop = asyncio.get_running_loop()
        probe = Probe()
        stamp = await runtime.spawn(Stamp(probe), capacity=1000)
        send = (await runtime.spawn(Relay(forward=stamp.send), capacity=1000)).send
        for msg in msgs:
            waiter: asyncio.Future[None] = loop.create_future()
            probe.waiter = waiter
            probe.sent_ns = perf_counter_ns()
            await send(msg)
            await waiter
        return probe.samples
    finally:
        await runtime.close()


async def spawn_us(new_runtime: RuntimeFactory, spawns: int) -> float:
    """Median µs per spawn of one actor, until its first message has been handled.

    Per spawn, one at a time: the clock starts just before ``spawn`` and stops once the answer
    to the first ``ask`` is back, so it covers the spawn, ``on_start`` (which sets a field) and
    the first message handled (ours: ``await system.spawn(actor)`` then ``await ref.ask(m)``;
    naive: ``on_start``, a queue and a task, then the ask). The actor objects are built
    before the clock starts; each actor is stopped after its sample, untimed, so the runtime
    holds one actor at a time. The median of the ``spawns`` samples.
    """
    runtime = new_runtime()
    try:
        actors = [Starter() for _ in range(spawns)]
        first = Tick(0)
        samples: list[float] = []
        for actor in actors:
            started = perf_counter_ns()
            ref = await runtime.spawn_ref(actor)
            answer = await ref.ask(first)
            samples.append((perf_counter_ns() - started) / 1000)
            if answer is not True:
                raise RuntimeError(f"the first message was handled before on_start: {answer!r}")
            await runtime.stop(ref)
        return median(samples)
    finally:
        await runtime.close()


async def memory_bytes_per_actor(new_runtime: RuntimeFactory, actors: int) -> float:
    """Bytes the runtime keeps per idle actor: tracemalloc over ``actors`` spawns.

    The actor objects are created before tracing starts, so only the runtime's own overhead is
    counted (ref, mailbox, registry entry, task...). Measured once every spawned actor is idle
    (after the loop has turned, so a naive actor's task has started and waits on its queue).
    """

    async def start(runtime: Runtime, actor: Counter) -> None:
        await runtime.spawn_idle(actor)

    return await _traced_bytes_per_actor(new_runtime, actors, start, collect_after=False)


async def memory_bytes_per_used_actor(new_runtime: RuntimeFactory, actors: int) -> float:
    """Bytes the runtime keeps per actor that handled one message and is idle again.

    Like :func:`memory_bytes_per_actor`, but each actor is asked one message after its spawn
    (the handle is dropped before the count), so buffers a mailbox keeps after use are
    counted. For ours this is the figure before the system's periodic ``trim()``, which gives
    idle actors' buffers back (every 5 s by default).
    """
    question = Tick(0)

    async def start(runtime: Runtime, actor: Counter) -> None:
        handle = await runtime.spawn(actor, capacity=_DEFAULT_CAPACITY)
        await handle.ask(question)

    return await _traced_bytes_per_actor(new_runtime, actors, start, collect_after=True)


async def _traced_bytes_per_actor(
    new_runtime: RuntimeFactory,
    actors: int,
    start: Callable[[Runtime, Counter], Awaitable[None]],
    *,
    collect_after: bool,
) -> float:
    """Traced bytes per actor kept after ``start`` ran for each of ``actors`` fresh actors.

    The actor objects exist before tracing starts; the loop turns twice after the last start
    (and garbage is collected first when ``collect_after``) before the count is read.
    """
    runtime = new_runtime()
    try:
        objects = [Counter() for _ in range(actors)]
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for actor in objects:
                await start(runtime, actor)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if collect_after:
                gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        return (after - before) / actors
    finally:
        await runtime.close()
