"""Injected faults (``mycelium-bundle --faults RATE``): the bundle under supervision.

The same two services, with their handlers made to raise on a fraction ``rate`` of their
messages, chosen deterministically from the seed: each actor draws, per message in the order it
receives them, from a generator of its own seeded with ``(seed, actor name)``, and a draw below
``rate`` fails that message before it touches any state.

* The signal generator runs under a ``Supervisor`` (``"pipeline"``, child
  ``"pipeline/signal-generator"``): each fault restarts it, behind the same ref and mailbox, so
  no queued signal is lost. Its validator and records are its durable state: they outlive the
  instances (a restart replaces the actor, not the book of what was decided).
* The market-data actor runs with ``Supervision.resume()``: a fault skips that market message
  and the same instance, market state intact, goes on.

Each faulted message is a dead letter with its reason. The oracle is the sequential reference
run with exactly the same messages removed (``faulted_reference``): every other signal must be
validated the same, to the cent, and the run's outcome must equal the oracle's.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter, perf_counter_ns
from typing import Final, final

import uvloop

from mycelium import Actor, ActorRef, ActorSystem, Child, Supervision, Supervisor
from mycelium_types.messages import MarketMessage, SignalMessage
from services_v2.domain.validator import ExecutionPlan, SignalValidator
from services_v2.pipeline.config import PipelineConfig
from services_v2.pipeline.hot_path import hot_path_latencies
from services_v2.pipeline.result import PipelineResult, ProgressCallback

from .market_data_actor import MarketDataActor
from .pipeline import MAILBOX_CAPACITY, feed_events

__all__ = [
    "FaultPlan",
    "FaultReport",
    "FaultStream",
    "InjectedFault",
    "faulted_reference",
    "run_faulty_actor_pipeline",
]

MARKET: Final = "market-data"
SIGNALS: Final = "signal-generator"


class InjectedFault(Exception):
    """An error raised on purpose by ``--faults``; never a bug."""


@final
class FaultStream:
    """Which of one actor's messages fail, drawn in the order they arrive."""

    __slots__ = ("_draw", "injected", "rate", "seen")

    def __init__(self, rate: float, seed: int, name: str) -> None:
        self.rate = rate
        self._draw = random.Random(f"{seed}/{name}").random
        self.seen = 0
        self.injected = 0

    def fails(self) -> bool:
        """Draw for the next message: True if it is to fail."""
        self.seen += 1
        if self._draw() < self.rate:
            self.injected += 1
            return True
        return False


@final
class FaultPlan:
    """The fault rate and seed; ``stream(name)`` gives each actor its own draws."""

    __slots__ = ("rate", "seed")

    def __init__(self, rate: float, seed: int) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"the fault rate must be a number, got {type(rate).__name__}")
        if math.isnan(rate) or not 0 <= rate <= 1:
            raise ValueError(f"the fault rate must be between 0 and 1, got {rate!r}")
        self.rate = float(rate)
        self.seed = seed

    def stream(self, name: str) -> FaultStream:
        return FaultStream(self.rate, self.seed, name)


@final
@dataclass(frozen=True, slots=True)
class FaultReport:
    """What ``--faults`` did, and whether the run agreed with its oracle."""

    rate: float
    injected_market: int
    injected_signals: int
    restarts: int
    dead_letters: int
    matches_oracle: bool
    """Same counters, signals and plans (to the cent) as the faulted reference."""

    @property
    def injected(self) -> int:
        return self.injected_market + self.injected_signals


@final
class _Records:
    """What the signal generator decided, kept across its instances (its durable state)."""

    __slots__ = ("plans", "received", "received_ns", "signals")

    def __init__(self) -> None:
        self.signals: list[SignalMessage] = []  # validated, in order
        self.plans: list[ExecutionPlan] = []
        self.received: list[SignalMessage] = []  # every signal handled, faulted ones too
        self.received_ns: list[int] = []  # when each of those was done with


@final
class FaultySignalGenerator(Actor[SignalMessage]):
    """One instance of the signal generator, failing on its fault stream's draws."""

    __slots__ = ("_faults", "_records", "_validate")

    def __init__(self, validator: SignalValidator, records: _Records, faults: FaultStream) -> None:
        self._validate = validator.validate
        self._records = records
        self._faults = faults

    async def handle(self, msg: SignalMessage) -> ExecutionPlan | None:
        records = self._records
        if self._faults.fails():
            records.received.append(msg)
            records.received_ns.append(perf_counter_ns())
            raise InjectedFault(f"injected fault on signal {self._faults.seen}")
        records.signals.append(msg)
        plan = self._validate(msg)
        if plan is not None:
            records.plans.append(plan)
        records.received.append(msg)
        records.received_ns.append(perf_counter_ns())
        return plan


@final
class FaultyMarketData(Actor[MarketMessage]):
    """The market-data actor, failing on its fault stream's draws before touching the market
    state (spawned with ``Supervision.resume()``)."""

    __slots__ = ("_faults", "_handle", "inner")

    def __init__(self, inner: MarketDataActor, faults: FaultStream) -> None:
        self.inner = inner
        self._handle = inner.handle
        self._faults = faults

    async def handle(self, msg: MarketMessage) -> None:
        if self._faults.fails():
            raise InjectedFault(f"injected fault on market message {self._faults.seen}")
        await self._handle(msg)


class _QuietInjected(logging.Filter):
    """Keeps the injected faults out of the log (they are counted in the summary instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = record.exc_info
        return not (info and isinstance(info[1], InjectedFault))


def run_faulty_actor_pipeline(
    events: Sequence[MarketMessage],
    config: PipelineConfig,
    plan: FaultPlan,
    *,
    progress: ProgressCallback | None = None,
) -> tuple[PipelineResult, FaultReport]:
    """Run ``events`` through the two actors with faults injected (see the module docstring);
    returns the run's result and what the faults did, checked against the oracle."""
    logger = logging.getLogger("mycelium")
    quiet = _QuietInjected()
    logger.addFilter(quiet)
    try:
        result, report = uvloop.run(_run(events, config, plan, progress))
    finally:
        logger.removeFilter(quiet)
    oracle = faulted_reference(events, config, plan)
    matches = oracle.outcome() == result.outcome()
    return result, FaultReport(
        rate=plan.rate,
        injected_market=report.injected_market,
        injected_signals=report.injected_signals,
        restarts=report.restarts,
        dead_letters=report.dead_letters,
        matches_oracle=matches and report.dead_letters == report.injected,
    )


async def _run(
    events: Sequence[MarketMessage],
    config: PipelineConfig,
    plan: FaultPlan,
    progress: ProgressCallback | None,
) -> tuple[PipelineResult, FaultReport]:
    validator = config.new_validator()
    records = _Records()
    signal_faults = plan.stream(SIGNALS)
    market_faults = plan.stream(MARKET)
    instances = 0

    def signal_generator() -> FaultySignalGenerator:
        nonlocal instances
        instances += 1
        return FaultySignalGenerator(validator, records, signal_faults)

    async with ActorSystem("bundle") as system:
        # Generous limits: every fault restarts it, and none is to stop the pipeline.
        pipeline = Supervisor(
            [Child(SIGNALS, signal_generator, capacity=MAILBOX_CAPACITY)],
            max_restarts=max(3, len(events)),
            within=1.0,
        )
        await system.spawn(pipeline, name="pipeline")
        signal_ref: ActorRef[SignalMessage] | None = system.lookup(f"pipeline/{SIGNALS}")
        assert signal_ref is not None  # started with the supervisor
        market = MarketDataActor(config.new_processor(), signal_ref)
        market_ref = await system.spawn(
            FaultyMarketData(market, market_faults),
            name=MARKET,
            capacity=MAILBOX_CAPACITY,
            supervision=Supervision.resume(),
        )
        started = perf_counter()
        await feed_events(market_ref, events, progress)
        # The shutdown first lets the system go quiet (restarts included), then stops each
        # actor, newest first: every event and every signal is handled or dead by then.
        await system.shutdown()
        elapsed = perf_counter() - started
        dead_letters = system.dead_letters.count
    result = PipelineResult(
        mode="actors",
        market=market.processor.counters(),
        validation=validator.counters(),
        signals=records.signals,
        plans=records.plans,
        latencies_ns=hot_path_latencies(
            market.swap_entered_ns,
            market.swap_signal_counts,
            records.received,
            records.received_ns,
        ),
        elapsed_s=elapsed,
    )
    return result, FaultReport(
        rate=plan.rate,
        injected_market=market_faults.injected,
        injected_signals=signal_faults.injected,
        restarts=instances - 1,
        dead_letters=dead_letters,
        matches_oracle=False,  # checked by the caller, against the oracle
    )


def faulted_reference(
    events: Sequence[MarketMessage], config: PipelineConfig, plan: FaultPlan
) -> PipelineResult:
    """The oracle of a faulty run: the sequential reference, without exactly the messages the
    same ``plan`` fails (drawn in the same order as the actors draw them)."""
    processor = config.new_processor()
    validator = config.new_validator()
    market_faults = plan.stream(MARKET)
    signal_faults = plan.stream(SIGNALS)
    signals: list[SignalMessage] = []
    plans: list[ExecutionPlan] = []
    started = perf_counter()
    for message in events:
        if market_faults.fails():
            continue
        for signal in processor.process(message):
            if signal_faults.fails():
                continue
            signals.append(signal)
            accepted = validator.validate(signal)
            if accepted is not None:
                plans.append(accepted)
    return PipelineResult(
        mode="sequential",
        market=processor.counters(),
        validation=validator.counters(),
        signals=signals,
        plans=plans,
        latencies_ns=[],
        elapsed_s=perf_counter() - started,
    )
