"""What a run of the pipeline produced, in a form every layout fills the same way, or why it
could not complete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import final

from mycelium_types.messages import SignalMessage
from services_v2.domain.processor import MarketCounters
from services_v2.domain.validator import ExecutionPlan, ValidationCounters
from services_v2.latency.histogram import LatencyHistogram

__all__ = ["PipelineFailed", "PipelineResult", "ProgressCallback"]

ProgressCallback = Callable[[int], None]
"""Called now and then during a run with the number of events handled so far."""


@final
@dataclass(slots=True)
class PipelineResult:
    """The outcome of running a stream of market messages through both services.

    Attributes:
        mode: how it ran: ``"sequential"`` (:mod:`~services_v2.layouts.sequential`), else the
            bundle's name (``"monolith"``, ``"relay"``: :mod:`~services_v2.layouts.bundle`).
        market: the market-data side's counters (a pure function of the events).
        validation: the signal side's counters (a pure function of the events).
        signals: every signal detected, in the order the validator received them (kept by the
            sequential reference, and by a bundle whose signal actor records; else empty).
        plans: every execution plan, in the order they were accepted (kept likewise).
        latency: the hot-path samples, ns, in a fixed-size histogram: for each swap that
            revealed at least one arbitrage signal, the time from the swap entering the market
            side to the last of its signals being validated. Timings, not a function of the
            events; ``latency.count`` is exact, percentiles are within 0.4%.
        elapsed_s: wall time of the run (excluding producing or reading the events), s.
        delivery: for layouts that cross a process boundary, what crossed it and what did
            not (frames sent, delivered, undelivered, refused...); empty in-process.
        dead_letters: messages dead-lettered in the process that ran the bundle (a bundle's
            run; 0 for the reference).
        restarts, injected_signals: the signal generator's restarts and the signals made to
            fail by ``--faults`` (0 without it).

    Two layouts agree when ``outcome()`` is equal: same signals, plans and counters.
    """

    mode: str
    market: MarketCounters
    validation: ValidationCounters
    signals: list[SignalMessage] = field(default_factory=list[SignalMessage])
    plans: list[ExecutionPlan] = field(default_factory=list[ExecutionPlan])
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    elapsed_s: float = 0.0
    delivery: dict[str, int] = field(default_factory=dict[str, int])
    dead_letters: int = 0
    restarts: int = 0
    injected_signals: int = 0

    @property
    def events(self) -> int:
        """Market messages handled."""
        return self.market.events

    def outcome(
        self,
    ) -> tuple[MarketCounters, ValidationCounters, list[SignalMessage], list[ExecutionPlan]]:
        """Everything that must not depend on the layout: counters, signals and plans
        (the lists are empty unless recorded: compare recorded runs for them)."""
        return (self.market, self.validation, self.signals, self.plans)


class PipelineFailed(Exception):
    """A run could not complete (e.g. the relay's other process died); the message is one line
    that says what happened and what was not handled."""
