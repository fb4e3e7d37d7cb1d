"""The trading hot path: swap in -> signal validated, taken from the services' own pipeline.

The hook is :func:`load_hot_path`. It imports the services lazily and returns a
:class:`HotPath` (one entry point per design), or a one-line note when the actor pipeline
(``services_v2.actors``) is not there, so the report and the benches can say why the figure is
missing instead of failing.

What one sample is, for every design: the services' probe. For each swap event that revealed at
least one arbitrage signal, the time from the swap entering the market-data handler to the last
of its signals leaving the validator (``PipelineResult.latencies_ns``), over a stream of events
from the built-in seeded simulator, fed with ``await send`` (backpressure).

- **ours**: ``services_v2.actors.pipeline.run_actor_pipeline_async`` (both services as actors
  in one ``ActorSystem``), on the report's event loop.
- **naive**: the same ``MarketDataActor`` and ``SignalGeneratorActor`` objects, run by the naive
  design (a task and a bounded ``asyncio.Queue`` each, same capacities). Expect milliseconds:
  ``await queue.get()`` on a non-empty queue does not yield, so the market task handles every
  event queued for it before the signal task runs; signals wait behind up to a full mailbox.
- **floor**: ``services_v2.pipeline.run_reference``, the sequential oracle (plain calls).
- **relay**: ``services_v2.relay.pipeline.run_relay_pipeline`` (two processes over a Unix
  socket) when it exists; it owns its event loop, so it is called outside the report's loop.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast, final

from .naive import NaiveSystem

if TYPE_CHECKING:
    from mycelium import ActorRef
    from mycelium_types.messages import MarketMessage, SignalMessage
    from services_v2.actors import MarketDataActor, SignalGeneratorActor
    from services_v2.pipeline import PipelineResult

__all__ = ["HotPath", "load_hot_path", "market_events"]

_DEFAULT_CAPACITY = 4096  # the bundle's mailbox capacity, if the pipeline does not export it


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


def _missing(exc: ModuleNotFoundError, module: str) -> bool:
    """True if ``exc`` says ``module`` (or a package above it) does not exist."""
    name = exc.name or ""
    return bool(name) and (module == name or module.startswith(name + "."))


def load_hot_path() -> HotPath | str:
    """The hook: the hot path's entry points, or a note saying why there are none."""
    try:
        from services_v2.actors import (  # noqa: PLC0415 - the hook: absent is fine
            MarketDataActor,
            SignalGeneratorActor,
        )
        from services_v2.actors import pipeline as actor_pipeline  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        if _missing(exc, "services_v2.actors.pipeline"):
            return "hot_path_ns: services_v2.actors is not there yet; no hot-path figure"
        raise
    from services_v2.pipeline import PipelineConfig, run_reference  # noqa: PLC0415

    capacity = int(getattr(actor_pipeline, "MAILBOX_CAPACITY", _DEFAULT_CAPACITY))
    latencies_of = _latencies_function()

    async def ours(events: Sequence[MarketMessage]) -> list[int]:
        result = await actor_pipeline.run_actor_pipeline_async(events, PipelineConfig())
        return result.latencies_ns

    async def naive(events: Sequence[MarketMessage]) -> list[int]:
        config = PipelineConfig()
        system = NaiveSystem()
        signal_actor = SignalGeneratorActor(config.new_validator())
        signal_ref = await system.spawn(signal_actor, capacity=capacity)
        # The market actor only calls ``send`` on its signal ref, which the naive ref has.
        market_actor = MarketDataActor(
            config.new_processor(), cast("ActorRef[SignalMessage]", signal_ref)
        )
        market_ref = await system.spawn(market_actor, capacity=capacity)
        send = market_ref.send
        for event in events:
            await send(event)
        await market_ref.stop()
        await signal_ref.stop()
        return latencies_of(market_actor, signal_actor)

    def floor(events: Sequence[MarketMessage]) -> list[int]:
        return run_reference(events, PipelineConfig()).latencies_ns

    relay, relay_note = _load_relay()
    return HotPath(ours=ours, naive=naive, floor=floor, relay=relay, relay_note=relay_note)


def _latencies_function() -> Callable[[MarketDataActor, SignalGeneratorActor], list[int]]:
    """The services' own pairing of swaps with validations, wherever this build keeps it."""
    try:
        module = importlib.import_module("services_v2.pipeline.hot_path")
    except ModuleNotFoundError as exc:
        if not _missing(exc, "services_v2.pipeline.hot_path"):
            raise
        module = importlib.import_module("services_v2.actors.pipeline")
        legacy = cast("Callable[..., list[int]]", module.hot_path_latencies)

        def from_actor(market: MarketDataActor, signal: SignalGeneratorActor) -> list[int]:
            return legacy(market.swap_entered_ns, market.swap_signal_counts, signal)

        return from_actor
    latencies = cast("Callable[..., list[int]]", module.hot_path_latencies)

    def from_lists(market: MarketDataActor, signal: SignalGeneratorActor) -> list[int]:
        return latencies(
            market.swap_entered_ns, market.swap_signal_counts, signal.signals, signal.validated_ns
        )

    return from_lists


def _load_relay() -> tuple[Callable[[Sequence[MarketMessage]], list[int]] | None, str | None]:
    """The relay deployment (issue 6) if ``services_v2.relay.pipeline`` exists."""
    module_name = "services_v2.relay.pipeline"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if _missing(exc, module_name):
            return None, "baseline.relay.hot_path_ns: services_v2.relay is not there yet"
        raise
    run_relay: Callable[..., Any] | None = getattr(module, "run_relay_pipeline", None)
    if run_relay is None:
        return None, f"baseline.relay.hot_path_ns: {module_name} has no run_relay_pipeline"
    from services_v2.pipeline import PipelineConfig  # noqa: PLC0415

    def relay(events: Sequence[MarketMessage]) -> list[int]:
        result = cast("PipelineResult", run_relay(events, PipelineConfig()))
        return result.latencies_ns

    return relay, None
