"""The end-of-run summary: built from a :class:`PipelineResult`, printed as text or JSON.

Every layout (``bundles/monolith.toml``, ``bundles/relay.toml``, any config) and the sequential
reference report through :func:`build_summary`, so their summaries have the same keys and, for
the same input, the same values except the timings (:data:`TIMING_KEYS`) and ``mode``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import final

import msgspec

from services_v2.domain.validator import ExecutionPlan
from services_v2.latency.histogram import LatencyHistogram
from services_v2.layouts.result import PipelineResult

from .progress import format_duration

__all__ = [
    "TIMING_KEYS",
    "FaultSummary",
    "LatencySummary",
    "Summary",
    "build_summary",
    "format_text",
    "histogram_summary",
    "latency_summary",
    "realised_profit_usd",
    "summary_json",
]

TIMING_KEYS = frozenset({"throughput_events_per_s", "hot_path_latency_ns", "elapsed_s"})
"""Keys whose values are measurements, not functions of the input (``mode`` aside)."""


@final
class LatencySummary(msgspec.Struct, frozen=True):
    """Nearest-rank percentiles of the hot-path samples, ns; ``None`` when there are none.

    From a run, they come from a log-bucketed histogram: within 0.4% of the exact nearest-rank
    values (``max`` is exact); see :mod:`services_v2.latency.histogram`.
    """

    p50: int | None
    p99: int | None
    max: int | None


@final
class FaultSummary(msgspec.Struct, frozen=True):
    """What ``--faults`` did: messages made to fail (per actor), restarts of the signal
    generator, dead letters, and whether every other signal matched the oracle to the cent."""

    rate: float
    injected: int
    injected_market: int
    injected_signals: int
    restarts: int
    dead_letters: int
    matches_oracle: bool


@final
class Summary(msgspec.Struct, frozen=True):
    """What a run did; see the bundle's ``--json`` output for the key order.

    The first nine fields are the bundle's contract (issue 5): ``events``,
    ``signals_detected``, ``signals_validated``, ``signals_rejected`` (count per reason),
    ``expected_profit_usd``, ``throughput_events_per_s``, ``hot_path_latency_ns``,
    ``elapsed_s`` and ``mode``. Then ``realised_profit_usd`` (issue 14): the sum of
    ``profit_usd`` over the execution plans that were not superseded, in plan order, which is
    what those plans realise when executed as the plans file says; and ``plans_superseded``.
    The rest break the totals down.

    Invariants: ``signals_detected == signals_validated + sum(signals_rejected.values())``;
    ``realised_profit_usd == expected_profit_usd`` (the validator counts what the plans say).
    """

    events: int
    signals_detected: int
    signals_validated: int
    signals_rejected: dict[str, int]
    expected_profit_usd: float
    throughput_events_per_s: float
    hot_path_latency_ns: LatencySummary
    elapsed_s: float
    mode: str
    realised_profit_usd: float
    plans_superseded: int
    arbitrage_signals_detected: int
    arbitrage_signals_validated: int
    momentum_signals_detected: int
    momentum_signals_validated: int
    execution_plans: int
    opportunities_below_min_profit: int
    swaps_applied: int
    swaps_rejected: dict[str, int]
    quotes: int
    books: int
    pools: int
    usd_conflicts: int
    hot_path_samples: int
    source: str
    delivery: dict[str, int] = {}
    faults: FaultSummary | None = None


def latency_summary(samples_ns: Sequence[int]) -> LatencySummary:
    """p50, p99 (nearest rank: the ``ceil(p/100 * n)``-th smallest) and max of ``samples_ns``."""
    if not samples_ns:
        return LatencySummary(p50=None, p99=None, max=None)
    ordered = sorted(samples_ns)
    count = len(ordered)
    return LatencySummary(
        p50=ordered[math.ceil(0.50 * count) - 1],
        p99=ordered[math.ceil(0.99 * count) - 1],
        max=ordered[-1],
    )


def histogram_summary(histogram: LatencyHistogram) -> LatencySummary:
    """p50 and p99 of ``histogram`` (nearest rank, within 0.4%: see its module) and its max."""
    if not histogram.count:
        return LatencySummary(p50=None, p99=None, max=None)
    return LatencySummary(
        p50=histogram.percentile(50), p99=histogram.percentile(99), max=histogram.max
    )


def realised_profit_usd(plans: Sequence[ExecutionPlan]) -> float:
    """The sum, in order, of the profits of the ``plans`` that no later plan supersedes."""
    superseded = {plan.supersedes for plan in plans if plan.supersedes is not None}
    return sum(
        (plan.expected_profit_usd for n, plan in enumerate(plans) if n not in superseded), 0.0
    )


def build_summary(
    result: PipelineResult, *, source: str, faults: FaultSummary | None = None
) -> Summary:
    """The summary of ``result``; ``source`` says where the events came from; ``faults``
    what ``--faults`` did, if it was given."""
    market = result.market
    validation = result.validation
    detected = validation.arbitrage_received + validation.momentum_received
    validated = validation.arbitrage_accepted + validation.momentum_accepted
    elapsed = result.elapsed_s
    return Summary(
        events=market.events,
        signals_detected=detected,
        signals_validated=validated,
        signals_rejected=dict(validation.rejected),
        expected_profit_usd=validation.expected_profit_usd,
        throughput_events_per_s=market.events / elapsed if elapsed > 0 else 0.0,
        hot_path_latency_ns=histogram_summary(result.latency),
        elapsed_s=elapsed,
        mode=result.mode,
        # Recorded plans give it independently; a streamed run keeps no plans, and the
        # validator's expected profit is that very sum (its invariant: the non-superseded
        # plans' profits, in acceptance order).
        realised_profit_usd=(
            realised_profit_usd(result.plans) if result.plans else validation.expected_profit_usd
        ),
        plans_superseded=validation.superseded,
        arbitrage_signals_detected=validation.arbitrage_received,
        arbitrage_signals_validated=validation.arbitrage_accepted,
        momentum_signals_detected=validation.momentum_received,
        momentum_signals_validated=validation.momentum_accepted,
        execution_plans=validation.arbitrage_accepted,
        opportunities_below_min_profit=market.arbitrage_below_min_profit,
        swaps_applied=market.swaps_applied,
        swaps_rejected=dict(market.swaps_rejected),
        quotes=market.quotes,
        books=market.books,
        pools=market.pools,
        usd_conflicts=market.usd_conflicts,
        hot_path_samples=result.latency.count,
        source=source,
        delivery=dict(result.delivery),
        faults=faults,
    )


_JSON_ENCODER = msgspec.json.Encoder()


def summary_json(summary: Summary) -> str:
    """The summary as one line of JSON (keys in field order)."""
    return _JSON_ENCODER.encode(summary).decode()


def format_text(summary: Summary, *, brief: bool = False) -> str:
    """The summary for people: a short block, or one line when ``brief``."""
    latency = summary.hot_path_latency_ns
    if brief:
        return (
            f"{summary.events:,} events · {summary.signals_validated:,}/"
            f"{summary.signals_detected:,} signals validated · "
            f"${summary.expected_profit_usd:,.2f} expected · "
            f"${summary.realised_profit_usd:,.2f} realised · "
            f"{summary.throughput_events_per_s:,.0f} events/s · "
            f"p50 {format_duration(latency.p50)} · p99 {format_duration(latency.p99)} · "
            f"{summary.mode}"
        )
    rejected = " · ".join(
        f"{reason} {count:,}"
        for reason, count in sorted(summary.signals_rejected.items(), key=lambda kv: -kv[1])
    )
    swaps_rejected = ", ".join(
        f"{count:,} {reason.replace('_', ' ')}" for reason, count in summary.swaps_rejected.items()
    )
    lines = [
        f"mycelium-bundle: {summary.events:,} events from {summary.source}, mode {summary.mode}",
        f"  market    {summary.pools} pools · {summary.swaps_applied:,} swaps applied "
        f"(rejected: {swaps_rejected}) · {summary.quotes:,} quotes · {summary.books:,} books"
        f" · {summary.usd_conflicts:,} conflicting USD announcements ignored",
        f"  detected  {summary.signals_detected:,} signals "
        f"({summary.arbitrage_signals_detected:,} arbitrage, "
        f"{summary.momentum_signals_detected:,} momentum; "
        f"{summary.opportunities_below_min_profit:,} opportunities below the minimum profit "
        "not signalled)",
        f"  validated {summary.signals_validated:,} "
        f"({summary.arbitrage_signals_validated:,} arbitrage → "
        f"{summary.execution_plans:,} execution plans, "
        f"{summary.plans_superseded:,} of them superseded; "
        f"{summary.momentum_signals_validated:,} momentum)",
        f"  rejected  {rejected}",
        f"  profit    ${summary.expected_profit_usd:,.2f} expected · "
        f"${summary.realised_profit_usd:,.2f} realised "
        f"(the {summary.execution_plans - summary.plans_superseded:,} plans not superseded, "
        "executed in order on the reserves they were computed from)",
        f"  speed     {summary.elapsed_s:.3f} s · {summary.throughput_events_per_s:,.0f} events/s",
        f"  hot path  p50 {format_duration(latency.p50)} · p99 {format_duration(latency.p99)} · "
        f"max {format_duration(latency.max)}  "
        f"(swap in → its signals validated; {summary.hot_path_samples:,} swaps)",
    ]
    if summary.delivery:
        lines.append(
            "  delivery  "
            + " · ".join(f"{key.replace('_', ' ')} {n:,}" for key, n in summary.delivery.items())
        )
    faults = summary.faults
    if faults is not None:
        verdict = (
            "every other signal as the oracle, to the cent"
            if faults.matches_oracle
            else "MISMATCH with the oracle"
        )
        lines.append(
            f"  faults    {faults.injected:,} injected at {faults.rate:g} "
            f"({faults.injected_market:,} market, {faults.injected_signals:,} signal) · "
            f"{faults.restarts:,} restart{'' if faults.restarts == 1 else 's'} · "
            f"{faults.dead_letters:,} dead-lettered · {verdict}"
        )
    return "\n".join(lines)
