"""Running the trading pipeline as a bundle: one path for every layout a spec describes.

:func:`run_bundle` starts a resolved layout (``mycelium.bundle``: local actors, child
processes), streams the events into its ``MarketDataActor`` as they are produced, with
``await send`` (backpressure: producing waits while the market mailbox is full, so memory
stays flat whatever the number of events), stops the bundle and turns the actors' reports into
a :class:`~services_v2.pipeline.PipelineResult`.

The bundle must hold exactly one ``MarketDataActor`` (the input goes there), one
``SignalGeneratorActor``, and at most one ``HotPathProbe`` (without one there is no hot-path
latency); names and placements are free.

Timing: ``elapsed_s`` runs from the first event sent to the bundle stopped, minus the time
spent producing or reading the events (timed per chunk of :data:`FEED_CHUNK` and subtracted),
so the simulator's own cost does not count as the pipeline's.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from time import perf_counter
from typing import Final, Protocol, final

import msgspec
import uvloop

from mycelium import ActorRef, ActorStopped, ActorSystem, TransportClosed
from mycelium.bundle import (
    MAIN_PROCESS,
    BundleError,
    BundleOutcome,
    Layout,
    RunningBundle,
    resolve,
    spec_from_data,
    start_bundle,
)
from mycelium_types.messages import MarketMessage
from services_v2.actors.hot_path_probe import HotPathProbe
from services_v2.actors.market_data_actor import MarketDataActor
from services_v2.actors.signal_generator_actor import SignalGeneratorActor, SignalSideReport
from services_v2.domain.faults import FaultPlan
from services_v2.domain.momentum import MomentumConfig
from services_v2.domain.processor import MarketCounters
from services_v2.domain.validator import ValidatorConfig
from services_v2.pipeline.config import PipelineConfig
from services_v2.pipeline.errors import PipelineFailed
from services_v2.pipeline.faults import FaultedReference
from services_v2.pipeline.histogram import LatencyHistogram
from services_v2.pipeline.hot_path import HotPathReport
from services_v2.pipeline.result import PipelineResult

from . import factories
from .summary import FaultSummary

__all__ = [
    "FEED_CHUNK",
    "LiveProgress",
    "TradingLayoutError",
    "TradingRoles",
    "check_faults",
    "run_bundle",
    "run_bundle_async",
    "trading_roles",
    "with_faults",
    "with_plans_file",
]

FEED_CHUNK: Final = 1024
"""Events produced at a time before they are sent (the only events held outside mailboxes)."""

YIELD_TURNS: Final = 10_000
"""Loop turns the feeder lets the actors have, at most, before it produces the next chunk."""


class LiveProgress(Protocol):
    """Told now and then how many events were sent, and the hot-path samples so far (``None``
    when the probe does not run in this process)."""

    def __call__(self, done: int, latency: LatencyHistogram | None) -> None: ...


class TradingLayoutError(ValueError):
    """A layout is not a trading bundle (one line: which actor class is missing or doubled)."""


@final
@dataclass(frozen=True, slots=True)
class TradingRoles:
    """Which actor of a layout does what."""

    market: str
    signal: str
    probe: str | None


def trading_roles(layout: Layout) -> TradingRoles:
    """Find the trading actors of ``layout`` by class.

    Raises:
        TradingLayoutError: not exactly one market and one signal actor, or two probes.
    """
    found: dict[type, list[str]] = {MarketDataActor: [], SignalGeneratorActor: [], HotPathProbe: []}
    for actor in layout.actors.values():
        for kind, names in found.items():
            if issubclass(actor.actor_class, kind):
                names.append(actor.name)
    for kind, names in found.items():
        most = 1
        least = 0 if kind is HotPathProbe else 1
        if not least <= len(names) <= most:
            where = f" ({', '.join(names)})" if names else ""
            raise TradingLayoutError(
                f"{layout.spec.source}: a trading bundle needs "
                f"{'at most' if least == 0 else 'exactly'} one {kind.__name__} actor, "
                f"found {len(names)}{where}"
            )
    probes = found[HotPathProbe]
    return TradingRoles(
        market=found[MarketDataActor][0],
        signal=found[SignalGeneratorActor][0],
        probe=probes[0] if probes else None,
    )


def with_plans_file(layout: Layout, path: str) -> Layout:
    """``layout`` with its signal actor writing the plans file at ``path`` (an absolute path:
    the actor may run in another process)."""
    roles = trading_roles(layout)
    spec = layout.spec
    data = copy.deepcopy(spec.data)
    data["actors"][roles.signal].setdefault("args", {})["plans_file"] = path
    return resolve(spec_from_data(data, source=spec.source, stem=spec.name))


FAULT_RESTART_WINDOW: Final = 1.0
"""Under ``--faults`` the signal generator may restart once per signal within this many
seconds (every fault restarts it, and none is to stop the pipeline)."""


def with_faults(layout: Layout, plan: FaultPlan) -> tuple[Layout, PipelineConfig]:
    """``layout`` with faults injected (``mycelium-bundle --faults``), and the domain
    parameters of its actors (what the oracle runs with).

    The market actor gets ``faults`` and ``supervision = "resume"``; the signal actor gets
    ``faults``, ``record = true`` (the oracle compares every signal) and a restart supervision
    with a limit no fault rate reaches.

    Raises:
        TradingLayoutError: either actor is not placed in this process (the faults and their
            accounting are checked here), or not built by the shipped factories.
    """
    roles = trading_roles(layout)
    spec = layout.spec
    data = copy.deepcopy(spec.data)
    for name in (roles.market, roles.signal):
        actor = layout.actors[name]
        if actor.process != MAIN_PROCESS:
            raise TradingLayoutError(
                f"{spec.source}: --faults runs with the trading actors in this process; actor "
                f"{name!r} runs in a process of its own (use bundles/monolith.toml)"
            )
        if actor.factory not in (factories.market_data, factories.signal_generator):
            raise TradingLayoutError(
                f"{spec.source}: --faults needs actor {name!r} built by "
                f"services_v2.bundle.factories, not {actor.spec.factory}"
            )
    market = data["actors"][roles.market]
    signal = data["actors"][roles.signal]
    market.setdefault("args", {})["faults"] = plan.as_args()
    market["supervision"] = "resume"
    signal_args = signal.setdefault("args", {})
    signal_args["faults"] = plan.as_args()
    signal_args["record"] = True
    signal["supervision"] = {
        "strategy": "restart",
        "max_restarts": 1 << 30,
        "within": FAULT_RESTART_WINDOW,
    }
    config = PipelineConfig(
        momentum=msgspec.convert(
            dict(market.get("args", {}).get("momentum") or {}), MomentumConfig
        ),
        validator=msgspec.convert(dict(signal_args.get("validator") or {}), ValidatorConfig),
    )
    return resolve(spec_from_data(data, source=spec.source, stem=spec.name)), config


def check_faults(result: PipelineResult, oracle: FaultedReference, plan: FaultPlan) -> FaultSummary:
    """What the faults of a run did, and whether it agrees with its oracle: the same counters,
    signals and plans (to the cent), every faulted message dead-lettered and nothing else, and
    one restart of the signal generator per signal fault."""
    injected = oracle.injected_market + oracle.injected_signals
    matches = (
        result.outcome() == oracle.result.outcome()
        and result.dead_letters == injected
        and result.injected_signals == oracle.injected_signals
        and result.restarts == oracle.injected_signals
    )
    return FaultSummary(
        rate=plan.rate,
        injected=injected,
        injected_market=oracle.injected_market,
        injected_signals=result.injected_signals,
        restarts=result.restarts,
        dead_letters=result.dead_letters,
        matches_oracle=matches,
    )


def run_bundle(
    layout: Layout,
    events: Iterable[MarketMessage],
    *,
    total: int | None = None,
    progress: LiveProgress | None = None,
) -> PipelineResult:
    """Run ``events`` through ``layout`` on a fresh uvloop event loop; see the async form."""
    return uvloop.run(run_bundle_async(layout, events, total=total, progress=progress))


async def run_bundle_async(
    layout: Layout,
    events: Iterable[MarketMessage],
    *,
    total: int | None = None,
    progress: LiveProgress | None = None,
) -> PipelineResult:
    """Start ``layout``, stream ``events`` into its market actor, stop it, account for it.

    ``events`` is consumed lazily, :data:`FEED_CHUNK` at a time; ``total`` (if known) only
    words the failure message. The result's ``outcome()`` equals the sequential reference's
    for the same events and domain parameters; its ``mode`` is the bundle's name.

    Raises:
        TradingLayoutError: ``layout`` is not a trading bundle (nothing started).
        BundleConfigError, BundleStartError: the bundle could not be started.
        PipelineFailed: the run could not complete (an actor or a child process died), or
            some message that crossed a process boundary was not handled; the message says
            how many events were handled.
        Exception: whatever iterating ``events`` raised (the bundle is torn down first).
    """
    roles = trading_roles(layout)
    async with (
        ActorSystem(f"bundle-{layout.name}") as system,
        await start_bundle(layout, system) as bundle,
    ):
        entry: ActorRef[MarketMessage] = await bundle.connect(roles.market)
        probe = bundle.local_actor(roles.probe) if roles.probe else None
        latency = probe.histogram if isinstance(probe, HotPathProbe) else None
        started = perf_counter()
        try:
            producing = await _feed(
                bundle, roles.market, entry, events, progress=progress, latency=latency
            )
        except (ActorStopped, TransportClosed) as exc:
            outcome = await bundle.stop()  # its failures say which process died, if one did
            raise _failed(layout, roles, outcome, outcome.failures, total) from exc
        outcome = await bundle.stop()
        elapsed = perf_counter() - started - producing
    dead_letters = system.dead_letters.count
    if outcome.failures or outcome.lost:
        raise _failed(layout, roles, outcome, outcome.failures, total)
    try:
        market = outcome.report(roles.market, MarketCounters)
        side = outcome.report(roles.signal, SignalSideReport)
        timing = outcome.report(roles.probe, HotPathReport) if roles.probe else None
    except BundleError as exc:
        raise PipelineFailed(str(exc)) from exc
    return PipelineResult(
        mode=layout.name,
        market=market,
        validation=side.validation,
        signals=side.signals,
        plans=side.plans,
        latency=LatencyHistogram.from_counts(timing.latency) if timing else LatencyHistogram(),
        elapsed_s=elapsed,
        delivery=outcome.delivery(),
        dead_letters=dead_letters,
        restarts=side.restarts,
        injected_signals=side.injected,
    )


async def _feed(
    bundle: RunningBundle,
    entry_name: str,
    entry: ActorRef[MarketMessage],
    events: Iterable[MarketMessage],
    *,
    progress: LiveProgress | None,
    latency: LatencyHistogram | None,
) -> float:
    """Send every event in order with ``await send``; returns the time spent producing them.

    Producing runs on the actors' thread: a chunk is produced once the actors of this process
    downstream of the entry have handled what they were given (or after :data:`YIELD_TURNS`
    loop turns), so that the simulator's work never holds up signals in flight (it made the
    hot-path p99 3-4x worse); events waiting in the entry's mailbox have not entered the hot
    path yet, so they may wait.
    """
    skip = {entry_name}
    send = entry.send
    source = iter(events)
    producing = 0.0
    sent = 0
    if progress is not None:
        progress(0, latency)  # the run starts
    while True:
        for _ in range(YIELD_TURNS):
            if not bundle.queued(skip=skip):
                break
            await asyncio.sleep(0)  # one loop turn: the dispatcher runs the actors
        began = perf_counter()
        chunk = list(islice(source, FEED_CHUNK))
        producing += perf_counter() - began
        if not chunk:
            return producing
        for event in chunk:
            await send(event)
        sent += len(chunk)
        if progress is not None:
            progress(sent, latency)


def _failed(
    layout: Layout,
    roles: TradingRoles,
    outcome: BundleOutcome,
    failures: list[str],
    total: int | None,
) -> PipelineFailed:
    try:
        handled = f"{outcome.report(roles.market, MarketCounters).events:,}"
    except BundleError:
        handled = "an unknown number"
    of = f" of {total:,}" if total is not None else ""
    delivery = outcome.delivery()
    lost = {key: n for key, n in delivery.items() if n and key not in ("frames_sent", "delivered")}
    what = "; ".join(failures) if failures else f"actor {roles.market!r} stopped during the run"
    losses = (
        " (" + ", ".join(f"{key.replace('_', ' ')} {n:,}" for key, n in lost.items()) + ")"
        if lost
        else ""
    )
    return PipelineFailed(
        f"{layout.name}: {what}; {handled}{of} events were handled{losses}; the summary would "
        "not be the input's"
    )
