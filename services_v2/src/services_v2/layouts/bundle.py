"""The bundle layout: the services as actors, placed as a bundle config says.

One path for every layout a config describes (``bundles/monolith.toml``: every actor in this
process; ``bundles/relay.toml``: the signal generator in a child process over a Unix socket;
any other config). :func:`run_bundle` starts a resolved layout (``mycelium.bundle``: local
actors, child processes), streams the events into its ``MarketDataActor`` as they are produced
(:func:`~services_v2.layouts.feed.feed`: ``await send``, backpressure, flat memory), stops the
bundle and turns the actors' reports into a :class:`~services_v2.layouts.result.PipelineResult`.

The bundle must hold exactly one ``MarketDataActor`` (the input goes there), one
``SignalGeneratorActor``, and at most one ``HotPathProbe`` (without one there is no hot-path
latency); names and placements are free.

Timing: ``elapsed_s`` runs from the first event sent to the bundle stopped, minus the time
spent producing or reading the events (timed per chunk of
:data:`~services_v2.layouts.feed.FEED_CHUNK` and subtracted), so the simulator's own cost does
not count as the pipeline's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from time import perf_counter
from typing import Protocol, final

import uvloop

from mycelium import ActorRef, ActorStopped, ActorSystem, TransportClosed
from mycelium.bundle import (
    BundleError,
    BundleOutcome,
    Layout,
    resolve,
    spec_from_data,
    start_bundle,
)
from mycelium_types.messages import MarketMessage
from services_v2.actors.hot_path_probe import HotPathProbe
from services_v2.actors.market_data_actor import MarketDataActor
from services_v2.actors.signal_generator_actor import SignalGeneratorActor, SignalSideReport
from services_v2.domain.processor import MarketCounters
from services_v2.latency.histogram import LatencyHistogram
from services_v2.latency.hot_path import HotPathReport

from .feed import feed
from .result import PipelineFailed, PipelineResult

__all__ = [
    "LiveProgress",
    "TradingLayoutError",
    "TradingRoles",
    "run_bundle",
    "run_bundle_async",
    "trading_roles",
    "with_plans_file",
]


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

    ``events`` is consumed lazily (see :func:`~services_v2.layouts.feed.feed`); ``total`` (if
    known) only words the failure message. The result's ``outcome()`` equals the sequential
    reference's for the same events and domain parameters; its ``mode`` is the bundle's name.

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
        queued = partial(bundle.queued, skip={roles.market})  # downstream of the entry, here

        def fed(done: int) -> None:
            if progress is not None:
                progress(done, latency)

        started = perf_counter()
        try:
            producing = await feed(
                entry.send, events, queued=queued, progress=fed if progress is not None else None
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
