"""One run of the performance report: every figure, for our runtime and both baselines.

:func:`run_report` measures, in ONE process and on one uvloop event loop, each figure for
**ours** (Mycelium), **naive** (``naive.py``) and **floor** (``floor.py``), and returns the
report as a JSON-ready dict (see :func:`run_report` for its keys).

Method, the same for every design: the designs take turns within each repeat (so a drift of
the machine hits them alike); the first ``warmup`` repeats are discarded; a figure is the
median of the remaining repeats (for latencies, the median of each repeat's p50 and of its
p99). ``gc.collect()`` runs before every sample and the collector stays enabled during the
timed regions, for every design alike. Times come from ``time.perf_counter_ns``.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from time import perf_counter
from typing import Any, Final, Literal, final

import uvloop

from . import faults, figures, floor
from .hot_path import load_hot_path, market_events
from .machine import machine_info
from .naive import NaiveRuntime
from .runtimes import OursRuntime
from .stats import Latency, latency_of, median, median_latency
from .targets import RATIO_TARGETS, TARGETS
from .unix import load_unix
from .workload import ticks

__all__ = [
    "DEFINITIONS",
    "DESIGNS",
    "FIGURE_INFO",
    "FIGURE_KEYS",
    "FULL",
    "QUICK",
    "TINY",
    "Figure",
    "Sizes",
    "run_report",
]

Sample = float | list[int] | list[float]
Value = float | Latency
Unit = Literal["ns", "us", "msg/s", "B"]

DESIGNS: Final = ("ours", "naive", "floor")
"""Every figure is measured for these three. Extra baselines: "relay" for the hot path (when it
exists), "floor_async" for ``throughput_msgs_per_s`` (the floor with the ``async def``
handler driven by hand: the least any dispatcher pays per message for an async handler), and
"supervised" for ``send_ns`` and ``throughput_msgs_per_s`` (ours, the actor spawned from a
factory under ``Supervision.restart()``: supervision must not cost the hot path)."""

EXTRA_BASELINES: Final[dict[str, tuple[str, ...]]] = {
    "relay": ("hot_path_ns",),
    "floor_async": ("throughput_msgs_per_s",),
    "supervised": ("send_ns", "throughput_msgs_per_s"),
}

BACKPRESSURE: Final = (
    "throughput producers use `await send` (ours) / `await queue.put` (naive): they wait "
    "while the mailbox is full"
)
GC_POLICY: Final = (
    "gc.collect() before every sample; the collector stays enabled in timed regions, "
    "for every design alike"
)


@final
@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each sample does."""

    send_batch: int
    """Messages per round of the send figures (the mailbox holds them all)."""
    send_rounds: int
    """Timed rounds per sample of the send figures (after one untimed round)."""
    messages: int
    """Messages per sample of the three throughput figures."""
    capacity: int
    """Mailbox capacity in the throughput figures (Mycelium's default)."""
    producers: int
    """Producers of ``throughput_fan_in``."""
    fan_out_actors: int
    """Actors of ``throughput_fan_out``."""
    asks: int
    """Questions per sample of ``ask_rtt_ns``."""
    chain: int
    """Latency samples per sample of ``chain_latency_ns``."""
    spawns: int
    """Actors spawned per sample of ``memory_bytes_per_actor``."""
    spawn_samples: int
    """Spawns per sample of ``spawn_us`` (one at a time; the sample is their median)."""
    hot_path_events: int
    """Market events per sample of ``hot_path_ns``."""
    restarts: int
    """Restarts per sample of ``restart_us``."""
    timer_ticks: int
    """Ticks of a 1 ms timer per sample of ``timer_fire_jitter_us``."""
    repeats: int
    """Default number of kept repeats."""


FULL: Final = Sizes(
    send_batch=10_000,
    send_rounds=20,
    messages=500_000,
    capacity=1000,
    producers=4,
    fan_out_actors=100,
    asks=20_000,
    chain=20_000,
    spawns=10_000,
    spawn_samples=5_000,
    hot_path_events=50_000,
    restarts=2_000,
    timer_ticks=200,
    repeats=7,
)
QUICK: Final = Sizes(
    send_batch=10_000,
    send_rounds=5,
    messages=100_000,
    capacity=1000,
    producers=4,
    fan_out_actors=100,
    asks=5_000,
    chain=5_000,
    spawns=2_000,  # tracemalloc makes spawning slow; 2,000 give the same bytes within ~5%
    spawn_samples=1_000,
    hot_path_events=5_000,
    restarts=500,
    timer_ticks=50,
    repeats=3,
)
TINY: Final = Sizes(
    send_batch=1_000,
    send_rounds=2,
    messages=4_000,
    capacity=1000,
    producers=4,
    fan_out_actors=100,
    asks=200,
    chain=200,
    spawns=200,
    spawn_samples=50,
    hot_path_events=1_000,
    restarts=20,
    timer_ticks=5,
    repeats=1,
)
"""For the report's own tests: every code path, in well under a second per figure."""


@final
@dataclass(frozen=True, slots=True)
class Figure:
    """One row of the report: what it measures and how to take one sample per design."""

    key: str
    label: str
    unit: Unit
    latency: bool
    higher_is_better: bool
    samplers: dict[str, Callable[[], Sample]]
    optional: bool = False
    """Measures another team's code (services, transport): a failure becomes a note."""


FIGURE_KEYS: Final = (
    "send_ns",
    "send_await_ns",
    "throughput_msgs_per_s",
    "throughput_fan_in",
    "throughput_fan_out",
    "ask_rtt_ns",
    "chain_latency_ns",
    "memory_bytes_per_actor",
    "memory_bytes_per_used_actor",
    "spawn_us",
    "hot_path_ns",
    "restart_us",
    "timer_fire_jitter_us",
    "unix_throughput_msgs_per_s",
    "unix_rtt_ns",
)
"""Every figure key of the JSON, in table order."""

FIGURE_INFO: Final[dict[str, tuple[str, Unit, bool, bool]]] = {
    # key: (label, unit, is a latency, higher is better)
    "send_ns": ("send_ns (try_send)", "ns", False, False),
    "send_await_ns": ("send_await_ns (await send)", "ns", False, False),
    "throughput_msgs_per_s": ("throughput_msgs_per_s (1 -> 1)", "msg/s", False, True),
    "throughput_fan_in": ("throughput_fan_in (4 -> 1)", "msg/s", False, True),
    "throughput_fan_out": ("throughput_fan_out (1 -> 100)", "msg/s", False, True),
    "ask_rtt_ns": ("ask_rtt_ns", "ns", False, False),
    "chain_latency_ns": ("chain_latency_ns (A -> B)", "ns", True, False),
    "memory_bytes_per_actor": ("memory_bytes_per_actor", "B", False, False),
    "memory_bytes_per_used_actor": ("memory_bytes_per_used_actor", "B", False, False),
    "spawn_us": ("spawn_us (spawn -> first handled)", "us", False, False),
    "hot_path_ns": ("hot_path_ns (swap -> validated)", "ns", True, False),
    "restart_us": ("restart_us (fail -> next handled)", "us", True, False),
    "timer_fire_jitter_us": ("timer_fire_jitter_us (1 ms timer)", "us", True, False),
    "unix_throughput_msgs_per_s": ("unix_throughput_msgs_per_s", "msg/s", False, True),
    "unix_rtt_ns": ("unix_rtt_ns", "ns", False, False),
}


_OPTIONAL: Final = frozenset({"hot_path_ns", "unix_throughput_msgs_per_s", "unix_rtt_ns"})
_UNIX_TIMEOUT_S: Final = 120.0


DEFINITIONS: Final[dict[str, str]] = {
    "send_ns": "ns per try_send into an idle actor's mailbox with room; sender side only "
    "(batches, the loop does not turn while timed)",
    "send_await_ns": "ns per `await send` into a mailbox with room; sender side only",
    "throughput_msgs_per_s": "msgs/s through 1 actor (trivial async handler) from 1 producer "
    "using `await send`, capacity 1000, first send to last handled",
    "throughput_fan_in": "msgs/s from 4 producer tasks into 1 actor, `await send`, first send "
    "to last handled",
    "throughput_fan_out": "msgs/s from 1 producer round-robin over 100 actors, `await send`, "
    "first send to last handled by all",
    "ask_rtt_ns": "ns per `await ask` (default 5 s timeout), one at a time, to an idle actor",
    "chain_latency_ns": "send to A, A `await send`s to B; stamp at send, recorded in B's "
    "handler; one message in flight; p50/p99",
    "memory_bytes_per_actor": "tracemalloc bytes per idle actor over N spawns; actor objects "
    "made before tracing, so runtime overhead only",
    "memory_bytes_per_used_actor": "the same, each actor asked one message first: what the "
    "runtime keeps per actor idle again after use (ours: before the periodic trim)",
    "spawn_us": "median µs from just before spawn to the first ask's answer (on_start sets a "
    "field), one actor at a time, stopped untimed (naive: on_start, a queue and a task)",
    "hot_path_ns": "trading: swap entering the market-data handler to its last signal "
    "validated (services' probe), built-in seeded market; p50/p99",
    "restart_us": "µs from a handler raising to the next message handled by the new instance "
    "(ours: Supervision.restart(); naive: the task catches it and calls the factory); p50/p99",
    "timer_fire_jitter_us": "µs from each deadline of a 1 ms periodic timer to its message "
    "being handled (ours: timers.send_every; floor: loop.call_at); p50/p99",
    "unix_throughput_msgs_per_s": "msgs/s one way over UnixSocketTransport.pair(): msgpack "
    "encode, frame, socket, parse, decode",
    "unix_rtt_ns": "ns per request/echo/reply over UnixSocketTransport.pair(), one at a time",
}
"""What each figure measures, in one line (the table prints them; the JSON carries them)."""


def _figure(key: str, samplers: dict[str, Callable[[], Sample]]) -> Figure:
    label, unit, latency, higher = FIGURE_INFO[key]
    return Figure(key, label, unit, latency, higher, samplers, key in _OPTIONAL)


def _build_figures(
    runner: asyncio.Runner, sizes: Sizes, keys: Sequence[str], notes: list[str]
) -> list[Figure]:
    """The figures named in ``keys``; a figure that cannot run adds a line to ``notes``."""
    run = runner.run
    batch = ticks(sizes.send_batch)
    msgs = ticks(sizes.messages)
    asks = ticks(sizes.asks)
    chain = ticks(sizes.chain)
    ours, naive, supervised = OursRuntime, NaiveRuntime, faults.SupervisedRuntime
    s = sizes
    builders: dict[str, Callable[[], dict[str, Callable[[], Sample]] | None]] = {
        "send_ns": lambda: {
            "ours": lambda: run(figures.send_ns(ours, batch, s.send_rounds)),
            "naive": lambda: run(figures.send_ns(naive, batch, s.send_rounds)),
            "floor": lambda: floor.send_ns(batch, s.send_rounds),
            "supervised": lambda: run(figures.send_ns(supervised, batch, s.send_rounds)),
        },
        "send_await_ns": lambda: {
            "ours": lambda: run(figures.send_await_ns(ours, batch, s.send_rounds)),
            "naive": lambda: run(figures.send_await_ns(naive, batch, s.send_rounds)),
            "floor": lambda: floor.send_await_ns(batch, s.send_rounds),
        },
        "throughput_msgs_per_s": lambda: {
            "ours": lambda: run(figures.throughput_msgs_per_s(ours, msgs, s.capacity)),
            "naive": lambda: run(figures.throughput_msgs_per_s(naive, msgs, s.capacity)),
            "floor": lambda: floor.throughput_msgs_per_s(msgs, s.capacity),
            "floor_async": lambda: floor.throughput_async_handler_msgs_per_s(msgs, s.capacity),
            "supervised": lambda: run(figures.throughput_msgs_per_s(supervised, msgs, s.capacity)),
        },
        "throughput_fan_in": lambda: {
            "ours": lambda: run(figures.fan_in_msgs_per_s(ours, msgs, s.capacity, s.producers)),
            "naive": lambda: run(figures.fan_in_msgs_per_s(naive, msgs, s.capacity, s.producers)),
            "floor": lambda: floor.fan_in_msgs_per_s(msgs, s.capacity, s.producers),
        },
        "throughput_fan_out": lambda: {
            "ours": lambda: run(
                figures.fan_out_msgs_per_s(ours, msgs, s.capacity, s.fan_out_actors)
            ),
            "naive": lambda: run(
                figures.fan_out_msgs_per_s(naive, msgs, s.capacity, s.fan_out_actors)
            ),
            "floor": lambda: floor.fan_out_msgs_per_s(msgs, s.capacity, s.fan_out_actors),
        },
        "ask_rtt_ns": lambda: {
            "ours": lambda: run(figures.ask_rtt_ns(ours, asks)),
            "naive": lambda: run(figures.ask_rtt_ns(naive, asks)),
            "floor": lambda: floor.ask_rtt_ns(asks),
        },
        "chain_latency_ns": lambda: {
            "ours": lambda: run(figures.chain_latency_ns(ours, chain)),
            "naive": lambda: run(figures.chain_latency_ns(naive, chain)),
            "floor": lambda: floor.chain_latency_ns(chain),
        },
        "memory_bytes_per_actor": lambda: {
            "ours": lambda: run(figures.memory_bytes_per_actor(ours, s.spawns)),
            "naive": lambda: run(figures.memory_bytes_per_actor(naive, s.spawns)),
            "floor": lambda: floor.memory_bytes_per_actor(s.spawns),
        },
        "memory_bytes_per_used_actor": lambda: {
            "ours": lambda: run(figures.memory_bytes_per_used_actor(ours, s.spawns)),
            "naive": lambda: run(figures.memory_bytes_per_used_actor(naive, s.spawns)),
            # the floor's deque exists from the start: used or not, it costs the same
            "floor": lambda: floor.memory_bytes_per_actor(s.spawns),
        },
        "spawn_us": lambda: {
            "ours": lambda: run(figures.spawn_us(ours, s.spawn_samples)),
            "naive": lambda: run(figures.spawn_us(naive, s.spawn_samples)),
            "floor": lambda: floor.spawn_us(s.spawn_samples),
        },
        "hot_path_ns": lambda: _hot_path_samplers(runner, sizes, notes),
        "restart_us": lambda: {
            "ours": lambda: run(faults.ours_restart_us(s.restarts)),
            "naive": lambda: run(faults.naive_restart_us(s.restarts)),
            "floor": lambda: faults.floor_restart_us(s.restarts),
        },
        "timer_fire_jitter_us": lambda: {
            "ours": lambda: run(faults.ours_timer_jitter_us(s.timer_ticks)),
            "naive": lambda: run(faults.naive_timer_jitter_us(s.timer_ticks)),
            "floor": lambda: run(faults.floor_timer_jitter_us(s.timer_ticks)),
        },
        "unix_throughput_msgs_per_s": lambda: _unix_samplers(runner, msgs, notes, "throughput"),
        "unix_rtt_ns": lambda: _unix_samplers(runner, asks, notes, "rtt"),
    }
    built: list[Figure] = []
    for key in keys:
        samplers = builders[key]()
        if samplers is not None:
            built.append(_figure(key, samplers))
    return built


def _hot_path_samplers(
    runner: asyncio.Runner, sizes: Sizes, notes: list[str]
) -> dict[str, Callable[[], Sample]] | None:
    hot = load_hot_path()
    if isinstance(hot, str):
        notes.append(hot)
        return None
    events = market_events(sizes.hot_path_events)
    samplers: dict[str, Callable[[], Sample]] = {
        "ours": lambda: runner.run(hot.ours(events)),
        "naive": lambda: runner.run(hot.naive(events)),
        "floor": lambda: hot.floor(events),
    }
    relay = hot.relay
    if relay is not None:
        samplers["relay"] = lambda: relay(events)
    elif hot.relay_note:
        notes.append(hot.relay_note)
    return samplers


def _unix_samplers(
    runner: asyncio.Runner, msgs: Sequence[Any], notes: list[str], which: str
) -> dict[str, Callable[[], Sample]] | None:
    unix = load_unix()
    if isinstance(unix, str):
        if which == "throughput":  # one note for both keys
            notes.append(unix)
        return None
    measure = unix.throughput_msgs_per_s if which == "throughput" else unix.rtt_ns
    return {"ours": lambda: runner.run(asyncio.wait_for(measure(msgs), _UNIX_TIMEOUT_S))}


def _measure(figure: Figure, warmup: int, repeats: int) -> dict[str, list[Sample]]:
    """Every design's kept samples; designs take turns within each repeat."""
    runs: dict[str, list[Sample]] = {design: [] for design in figure.samplers}
    for index in range(warmup + repeats):
        for design, sample in figure.samplers.items():
            gc.collect()
            value = sample()
            if index >= warmup:
                runs[design].append(value)
    return runs


def _summarize(figure: Figure, runs: list[Sample]) -> Value:
    if figure.latency:
        return median_latency([latency_of(run) for run in runs if isinstance(run, list)])
    return median([run for run in runs if not isinstance(run, list)])


def _ratio(measured: Value | None, baseline: Value | None) -> Value | None:
    """``measured / baseline`` (per percentile for latencies); None when either is missing
    or the baseline is zero (a clock too coarse for it)."""
    if measured is None or baseline is None:
        return None
    if isinstance(measured, dict) and isinstance(baseline, dict):
        if not (baseline["p50"] and baseline["p99"]):
            return None
        return {"p50": measured["p50"] / baseline["p50"], "p99": measured["p99"] / baseline["p99"]}
    if isinstance(measured, (int, float)) and isinstance(baseline, (int, float)) and baseline:
        return measured / baseline
    return None


def run_report(
    sizes: Sizes = FULL,
    *,
    repeats: int | None = None,
    warmup: int = 1,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every figure (or those in ``only``) for each design; return the report.

    Keys: each of ``FIGURE_KEYS`` with our runtime's value (a number is the median; a latency
    is ``{"p50": ns, "p99": ns}``; ``null`` when not measured, with a line in ``notes``),
    ``"baseline"`` (``{"naive": {same keys}, "floor": {same keys}, "relay": {"hot_path_ns"},
    "floor_async": {"throughput_msgs_per_s"}, "supervised": {"send_ns",
    "throughput_msgs_per_s"}}``),
    ``"ratios"`` (ours / baseline, same shape), ``"targets"``, ``"ratio_targets"`` (targets
    on a ratio to a baseline), ``"machine"``, ``"method"``, ``"notes"``.

    Raises:
        ValueError: ``repeats`` < 1, ``warmup`` < 0, or an unknown key in ``only``.
    """
    repeats = sizes.repeats if repeats is None else repeats
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    keys = list(FIGURE_KEYS) if not only else list(only)
    unknown = [key for key in keys if key not in FIGURE_KEYS]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; choose from {list(FIGURE_KEYS)}")
    say = progress or _silent
    notes: list[str] = []
    values: dict[str, dict[str, Value | None]] = {
        design: dict.fromkeys(FIGURE_KEYS) for design in (*DESIGNS, *EXTRA_BASELINES)
    }
    elapsed: dict[str, float] = {}
    started_run = perf_counter()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        for figure in _build_figures(runner, sizes, keys, notes):
            started = perf_counter()
            say(f"{figure.key}: {len(figure.samplers)} designs x {warmup} + {repeats} runs")
            try:
                runs = _measure(figure, warmup, repeats)
            except Exception as exc:
                if not figure.optional:
                    raise
                notes.append(f"{figure.key}: not measured, the measurement failed: {exc!r}")
                runs = {}
            for design, kept in runs.items():
                values[design][figure.key] = _summarize(figure, kept)
            elapsed[figure.key] = round(perf_counter() - started, 3)
    skipped = [key for key in FIGURE_KEYS if key not in keys]
    if skipped:
        notes.append(f"not measured in this run (--only): {', '.join(skipped)}")

    ours = values["ours"]
    report: dict[str, Any] = dict(ours)
    report["baseline"] = {
        "naive": values["naive"],
        "floor": values["floor"],
        **{
            extra: {key: values[extra][key] for key in keys}
            for extra, keys in EXTRA_BASELINES.items()
        },
    }
    report["ratios"] = {
        "naive": {key: _ratio(ours[key], values["naive"][key]) for key in FIGURE_KEYS},
        "floor": {key: _ratio(ours[key], values["floor"][key]) for key in FIGURE_KEYS},
        **{
            extra: {key: _ratio(ours[key], values[extra][key]) for key in keys}
            for extra, keys in EXTRA_BASELINES.items()
        },
    }
    report["targets"] = {key: target.verdict(_scalar(ours[key])) for key, target in TARGETS.items()}
    report["ratio_targets"] = {
        key: target.verdict(_scalar(report["ratios"][target.baseline][key]))
        for key, target in RATIO_TARGETS.items()
    }
    report["machine"] = machine_info()
    report["method"] = {
        "repeats": repeats,
        "warmup": warmup,
        "statistic": "median of repeats (latencies: median of each repeat's p50 and p99)",
        "ratio": "ours / baseline (ns and B: lower is better; msg/s: higher is better)",
        "timer": "time.perf_counter_ns",
        "gc": GC_POLICY,
        "backpressure": BACKPRESSURE,
        "loop": "uvloop " + uvloop.__version__,
        "sizes": asdict(sizes),
        "seconds": {**elapsed, "total": round(perf_counter() - started_run, 3)},
    }
    report["definitions"] = DEFINITIONS
    report["notes"] = notes
    return report


def _silent(line: str) -> None:
    pass


def _scalar(value: Value | None) -> float | None:
    return value if isinstance(value, (int, float)) else None
