"""The floor: a plain ``deque.append`` to deliver and a plain method call to handle.

No event loop, no coroutine, no scheduling: the most CPython can do for each figure, so our
figures can be read as a multiple of it. The handlers are the synchronous twins
(``on_message``) of the very ones the actor designs run, with the same bodies. Each function
takes one sample with the same protocol as its twin in ``figures.py``; "mailboxes" are
``collections.deque`` objects drained by ``while queue: handle(queue.popleft())``.

For memory, the floor is the plain design (one eager ``deque`` and a bound handler per actor,
in a registry dict): a reference point, not a lower bound, since a runtime may create the
mailbox lazily.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections import deque
from collections.abc import Callable, Sequence
from itertools import cycle
from time import perf_counter_ns

from .stats import median
from .workload import Counter, Latch, Probe, Relay, Stamp, Starter, Tick

__all__ = [
    "ask_rtt_ns",
    "chain_latency_ns",
    "fan_in_msgs_per_s",
    "fan_out_msgs_per_s",
    "memory_bytes_per_actor",
    "send_await_ns",
    "send_ns",
    "spawn_us",
    "throughput_async_handler_msgs_per_s",
    "throughput_msgs_per_s",
]


def send_ns(msgs: Sequence[Tick], rounds: int) -> float:
    """ns per ``deque.append``, a batch of ``len(msgs)`` at a time, drained untimed."""
    counter = Counter()
    handle = counter.on_message
    queue: deque[Tick] = deque()
    append = queue.append
    popleft = queue.popleft
    elapsed = 0
    for round_ in range(rounds + 1):
        started = perf_counter_ns()
        for msg in msgs:
            append(msg)
        stopped = perf_counter_ns()
        while queue:
            handle(popleft())
        if round_:
            elapsed += stopped - started
    return elapsed / (rounds * len(msgs))


def send_await_ns(msgs: Sequence[Tick], rounds: int) -> float:
    """The floor of ``await send`` is the same ``deque.append``: delivery needs no more."""
    return send_ns(msgs, rounds)


def _chunks(msgs: Sequence[Tick], size: int) -> list[Sequence[Tick]]:
    return [msgs[start : start + size] for start in range(0, len(msgs), size)]


def _drain_through(chunks: list[Sequence[Tick]], counter: Counter, count: int) -> float:
    """Append each chunk, then hand it to the handler; msgs/s until the last is handled."""
    latch = Latch(1)
    counter.expect(count, latch)
    handle = counter.on_message
    queue: deque[Tick] = deque()
    append = queue.append
    popleft = queue.popleft
    started = perf_counter_ns()
    for chunk in chunks:
        for msg in chunk:
            append(msg)
        while queue:
            handle(popleft())
    return count * 1e9 / (latch.finished_ns - started)


def throughput_msgs_per_s(msgs: Sequence[Tick], capacity: int) -> float:
    """Msgs/s through one deque: ``capacity`` appends, then that many handler calls, repeated.

    The bounded mailbox of the actor designs becomes "fill it, then drain it"; from the first
    append to the last handler call.
    """
    return _drain_through(_chunks(msgs, capacity), Counter(), len(msgs))


def throughput_async_handler_msgs_per_s(msgs: Sequence[Tick], capacity: int) -> float:
    """:func:`throughput_msgs_per_s` with the ``async def handle`` itself, driven by hand.

    Each message creates the handler's coroutine and runs it to completion with
    ``for _ in coro.__await__()`` (it never suspends), without an event loop: what any
    dispatcher must at least pay per message for an ``async def`` handler in CPython.
    """
    counter = Counter()
    latch = Latch(1)
    counter.expect(len(msgs), latch)
    handle = counter.handle
    queue: deque[Tick] = deque()
    append = queue.append
    popleft = queue.popleft
    chunks = _chunks(msgs, capacity)
    started = perf_counter_ns()
    for chunk in chunks:
        for msg in chunk:
            append(msg)
        while queue:
            for _ in handle(popleft()).__await__():
                raise RuntimeError("the benchmark handler suspended")
    return len(msgs) * 1e9 / (latch.finished_ns - started)


def fan_in_msgs_per_s(msgs: Sequence[Tick], capacity: int, producers: int) -> float:
    """Msgs/s into one deque from ``producers`` sources taking turns, ``capacity`` at a time.

    With no concurrency to pay for, this is :func:`throughput_msgs_per_s` with the messages in
    the producers' interleaved order (dealt before the clock starts).
    """
    shares = [msgs[i::producers] for i in range(producers)]
    step = max(1, capacity // producers)
    interleaved: list[Tick] = []
    for start in range(0, max(len(share) for share in shares), step):
        for share in shares:
            interleaved.extend(share[start : start + step])
    return _drain_through(_chunks(interleaved, capacity), Counter(), len(msgs))


def fan_out_msgs_per_s(msgs: Sequence[Tick], capacity: int, actors: int) -> float:
    """Msgs/s from one source over ``actors`` deques, round-robin, ``capacity`` at a time.

    Each chunk of ``capacity`` messages is appended to the deques in turn, then every deque
    is drained into its own handler; until the last handler call.
    """
    if len(msgs) < actors:
        raise ValueError(f"fan-out needs at least one message per actor, got {len(msgs)}")
    latch = Latch(actors)
    boxes: list[tuple[Callable[[Tick], None], Callable[[], Tick], Callable[[Tick], int]]] = []
    queues: list[deque[Tick]] = []
    for i in range(actors):
        counter = Counter()
        counter.expect(len(msgs[i::actors]), latch)
        queue: deque[Tick] = deque()
        queues.append(queue)
        boxes.append((queue.append, queue.popleft, counter.on_message))
    appends = [append for append, _, _ in boxes]
    chunks = _chunks(msgs, capacity)
    started = perf_counter_ns()
    for chunk in chunks:
        for msg, append in zip(chunk, cycle(appends)):
            append(msg)
        for queue, (_, popleft, handle) in zip(queues, boxes, strict=True):
            while queue:
                handle(popleft())
    return len(msgs) * 1e9 / (latch.finished_ns - started)


def ask_rtt_ns(msgs: Sequence[Tick]) -> float:
    """ns per plain method call that returns the handler's answer."""
    handle = Counter().on_message
    started = perf_counter_ns()
    for msg in msgs:
        handle(msg)
    return (perf_counter_ns() - started) / len(msgs)


def chain_latency_ns(msgs: Sequence[Tick]) -> list[int]:
    """One sample per message: stamp, then A's handler calls B's, which records."""
    probe = Probe()
    relay = Relay(call=Stamp(probe).on_message)
    handle = relay.on_message
    for msg in msgs:
        probe.sent_ns = perf_counter_ns()
        handle(msg)
    return probe.samples


def memory_bytes_per_actor(actors: int) -> float:
    """Bytes per actor of the plain design: a deque and a bound handler in a registry."""
    objects = [Counter() for _ in range(actors)]
    registry: dict[int, tuple[deque[Tick], Callable[[Tick], int]]] = {}
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for key, actor in enumerate(objects):
            registry[key] = (deque(), actor.on_message)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / actors


def spawn_us(spawns: int) -> float:
    """Median µs per "spawn" of the plain design: the twin of ``on_start``, a deque and a
    bound handler into a registry, and the first message handled by a plain call."""
    actors = [Starter() for _ in range(spawns)]
    first = Tick(0)
    registry: dict[int, tuple[deque[Tick], Callable[[Tick], bool]]] = {}
    samples: list[float] = []
    for key, actor in enumerate(actors):
        started = perf_counter_ns()
        actor.begin()
        handle = actor.on_message
        registry[key] = (deque(), handle)
        answer = handle(first)
        samples.append((perf_counter_ns() - started) / 1000)
        if answer is not True:
            raise RuntimeError(f"the first message was handled before the start: {answer!r}")
        del registry[key]
    return median(samples)
