"""The trading hot path: swap in -> signal validated, taken from the services' own pipeline.

The hook is :func:`load_hot_path`. It imports the services lazily and returns a
:class:`HotPath` (one entry point per design), or a one-line note when the services' bundle
layout (``services_v2.layouts.bundle``) is not there, so the report and the benches can say
why the figure is missing instead of failing.

What one sample is, for every design: the services' probe. For each swap event that revealed at
least one arbitrage signal, the time from the swap entering the market-data handler to the last
of its signals leaving the validator, over a stream of events from the built-in seeded
simulator, fed with ``await send`` (backpressure). The services keep the samples in a
log-bucketed histogram (``PipelineResult.latency``, within 0.4%); a run's samples are the
histogram's buckets, each repeated as often as it was hit (:func:`samples_of`).

- **ours**: the shipped ``bundles/monolith.toml`` through ``services_v2.layouts.bundle`` (both
  services and the probe as actors in one ``ActorSystem``), on the report's event loop.
- **naive**: the same ``MarketDataActor``, ``SignalGeneratorActor`` and ``HotPathProbe``
  objects (built by the shipped factories), run by the naive design (a task and a bounded
  ``asyncio.Queue`` each, of ``MAILBOX_CAPACITY``), fed by the same ``layouts.feed.feed``.
  Expect milliseconds: ``await queue.get()`` on a non-empty queue does not yield, so the
  market task handles every event queued for it before the signal task runs; signals wait
  behind up to a full mailbox.
- **floor**: ``services_v2.layouts.sequential.run_reference``, the sequential oracle (plain
  calls).
- **relay**: the shipped ``bundles/relay.toml`` (the signal generator in a child process over
  a Unix socket); it owns its event loop, so it is called outside the report's loop.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast, final

from .naive import NaiveRef, NaiveSystem

if TYPE_CHECKING:
    from mycelium import ActorRef
    from mycelium_types.messages import MarketMessage, SignalMessage
    from services_v2.latency.histogram import LatencyHistogram
    from services_v2.latency.hot_path import HotPathTiming

__all__ = ["HotPath", "load_hot_path", "market_events", "samples_of"]


@final
@dataclass(frozen=True, slots=True)
class HotPath:
    """The pipeline's entry points; each returns one run's hot-path samples, in ns."""

    ours: Callable[[Sequence[MarketMessage]], Coroutine[Any, Any, list[int]]]
    naive: Callable[[Sequence[MarketMessage]], Coroutine[Any, Any, list[int]]]
    floor: Callable[[Sequence[MarketMessage]], list[int]]
    relay: Callable[[Sequence[MarketMessage]], list[int]] | None
    relay_note: str | None


def market_events(count: int, seed: int = 0) -> list[MarketMessage]:
    """``count`` events of the services' built-in seeded market simulator."""
    from services_v2.sim import simulate  # noqa: PLC0415 - the services load only when used

    return simulate(count, seed)


def samples_of(histogram: LatencyHistogram) -> list[int]:
    """A run's samples from its histogram: each bucket's value, as often as it was hit."""
    out: list[int] = []
    for index, count in histogram.counts().buckets:
        out.extend([histogram.bucket_value(index)] * count)
    return out


def _missing(exc: ModuleNotFoundError, module: str) -> bool:
    """True if ``exc`` says ``module`` (or a package above it) does not exist."""
    name = exc.name or ""
    return bool(name) and (module == name or module.startswith(name + "."))


def load_hot_path() -> HotPath | str:
    """The hook: the hot path's entry points, or a note saying why there are none."""
    try:
        from services_v2.layouts import bundle as bundle_layout  # noqa: PLC0415 - the hook
    except ModuleNotFoundError as exc:
        if _missing(exc, "services_v2.layouts.bundle"):
            return "hot_path_ns: services_v2.layouts.bundle is not there yet; no hot-path figure"
        raise
    from mycelium.bundle import resolve  # noqa: PLC0415
    from services_v2.bundle import factories  # noqa: PLC0415
    from services_v2.bundle.configs import find_config  # noqa: PLC0415
    from services_v2.layouts.config import MAILBOX_CAPACITY, PipelineConfig  # noqa: PLC0415
    from services_v2.layouts.feed import feed  # noqa: PLC0415
    from services_v2.layouts.sequential import run_reference  # noqa: PLC0415

    monolith = resolve(find_config("monolith"))
    relay_layout = resolve(find_config("relay"))

    async def ours(events: Sequence[MarketMessage]) -> list[int]:
        result = await bundle_layout.run_bundle_async(monolith, events)
        return samples_of(result.latency)

    async def naive(events: Sequence[MarketMessage]) -> list[int]:
        system = NaiveSystem()
        probe = factories.hot_path_probe()
        # The actors only call ``send`` on their refs, which the naive refs have.
        probe_ref = cast(
            "ActorRef[HotPathTiming]", await system.spawn(probe, capacity=MAILBOX_CAPACITY)
        )
        signal_actor = factories.signal_generator(probe_ref)
        signal_ref = await system.spawn(signal_actor, capacity=MAILBOX_CAPACITY)
        market_actor = factories.market_data(cast("ActorRef[SignalMessage]", signal_ref), probe_ref)
        market_ref = await system.spawn(market_actor, capacity=MAILBOX_CAPACITY)
        await feed(market_ref.send, events)
        await market_ref.stop()
        await signal_ref.stop()
        await cast("NaiveRef[HotPathTiming]", probe_ref).stop()
        return samples_of(probe.histogram)

    def floor(events: Sequence[MarketMessage]) -> list[int]:
        return samples_of(run_reference(events, PipelineConfig()).latency)

    def relay(events: Sequence[MarketMessage]) -> list[int]:
        return samples_of(bundle_layout.run_bundle(relay_layout, events).latency)

    return HotPath(ours=ours, naive=naive, floor=floor, relay=relay, relay_note=None)
