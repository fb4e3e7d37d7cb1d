"""``run_relay_pipeline``: the market-data actor here, the signal generator in a child process."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter

import msgspec
import uvloop

from mycelium import (
    ActorStopped,
    ActorSystem,
    RemoteActorRef,
    UnixSocketListener,
    UnixSocketTransport,
)
from mycelium_types.messages import MarketMessage, SignalMessage
from services_v2.actors.market_data_actor import MarketDataActor
from services_v2.actors.pipeline import MAILBOX_CAPACITY, feed_events
from services_v2.pipeline.config import PipelineConfig
from services_v2.pipeline.errors import PipelineFailed
from services_v2.pipeline.hot_path import hot_path_latencies
from services_v2.pipeline.result import PipelineResult, ProgressCallback

from .wire import SignalSideOutcome, decode_outcome

__all__ = ["delivery_losses", "run_relay_pipeline", "run_relay_pipeline_async"]

CONNECT_TIMEOUT_S = 30.0
"""How long the child process may take to start and connect."""

EXIT_TIMEOUT_S = 30.0
"""How long the child may take to drain and report once the connection is closed."""


def run_relay_pipeline(
    events: Sequence[MarketMessage],
    config: PipelineConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> PipelineResult:
    """Run ``events`` through the relay on a fresh uvloop event loop; see the async form."""
    return uvloop.run(run_relay_pipeline_async(events, config, progress=progress))


async def run_relay_pipeline_async(
    events: Sequence[MarketMessage],
    config: PipelineConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> PipelineResult:
    """Feed ``events`` to a market-data actor whose signal ref crosses a Unix socket.

    The child process is started here and always reaped: on success it exits after reporting,
    on failure it is killed. The result's ``outcome()`` equals the in-process bundle's.

    Raises:
        PipelineFailed: the child could not start, died, or reported nonsense; the message
            says how many events were handled before.
    """
    config = config if config is not None else PipelineConfig()
    with tempfile.TemporaryDirectory(prefix="mycelium-relay-", dir="/tmp") as tmp:
        path = str(Path(tmp) / "signal.sock")
        report = Path(tmp) / "signal-side.msgpack"
        async with await UnixSocketTransport.listen(path) as listener:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services_v2.relay.signal_service",
                "--socket",
                path,
                "--report",
                str(report),
                "--config",
                msgspec.json.encode(config.validator).decode(),
                # A session (so a process group) of its own: a Ctrl-C at the terminal
                # interrupts this process only, which reports it and ends the child (_reap).
                start_new_session=True,
            )
            try:
                return await _run_with_child(
                    listener, child, report, events=events, config=config, progress=progress
                )
            finally:
                await _reap(child)


async def _run_with_child(
    listener: UnixSocketListener,
    child: asyncio.subprocess.Process,
    report: Path,
    *,
    events: Sequence[MarketMessage],
    config: PipelineConfig,
    progress: ProgressCallback | None,
) -> PipelineResult:
    exited = asyncio.ensure_future(child.wait())
    accepting = asyncio.ensure_future(listener.accept())
    await asyncio.wait(
        (accepting, exited), timeout=CONNECT_TIMEOUT_S, return_when="FIRST_COMPLETED"
    )
    if not accepting.done():
        accepting.cancel()
        status = f"exited with status {child.returncode}" if exited.done() else "did not connect"
        raise PipelineFailed(f"relay: the signal-generator process {status}; nothing was run")
    transport = accepting.result()

    market_actor: MarketDataActor | None = None
    started = perf_counter()
    async with ActorSystem("relay-market-data") as system:
        signal_ref = RemoteActorRef(transport, SignalMessage, name="signal-generator")
        market_actor = MarketDataActor(config.new_processor(), signal_ref)
        market_ref = await system.spawn(market_actor, name="market-data", capacity=MAILBOX_CAPACITY)
        try:
            await feed_events(market_ref, events, progress)
            await system.stop(market_ref)
        except ActorStopped as exc:
            raise _failed(child, market_actor, len(events), transport) from exc
        if system.dead_letters.count:
            raise _failed(child, market_actor, len(events), transport)
        await signal_ref.aclose()  # flushes the last frames; the child sees the end

    await asyncio.wait((exited,), timeout=EXIT_TIMEOUT_S)
    if not exited.done() or child.returncode != 0:
        raise _failed(child, market_actor, len(events), transport)
    try:
        outcome = decode_outcome(await asyncio.to_thread(report.read_bytes))
    except (OSError, msgspec.DecodeError) as exc:
        raise PipelineFailed(f"relay: the signal-generator's report is unreadable: {exc}") from exc
    elapsed = perf_counter() - started
    delivery = _delivery(transport, signal_ref, outcome)
    lost = delivery_losses(delivery)
    if lost:
        raise PipelineFailed(
            "relay: not every signal reached the signal generator ("
            + ", ".join(f"{key.replace('_', ' ')} {n}" for key, n in lost.items())
            + "); the run is not comparable"
        )
    try:
        latencies = hot_path_latencies(
            market_actor.swap_entered_ns,
            market_actor.swap_signal_counts,
            outcome.signals,
            outcome.validated_ns,
        )
    except ValueError as exc:
        raise PipelineFailed(f"relay: the two sides disagree: {exc}") from exc
    return PipelineResult(
        mode="relay",
        market=market_actor.processor.counters(),
        validation=outcome.validation,
        signals=outcome.signals,
        plans=outcome.plans,
        latencies_ns=latencies,
        elapsed_s=elapsed,
        delivery=delivery,
    )


_COUNTS_NOT_LOSSES = frozenset({"frames_sent", "delivered"})


def delivery_losses(delivery: dict[str, int]) -> dict[str, int]:
    """The counts of :func:`_delivery` that mean a signal did not reach the signal generator:
    every non-zero count but the first two, and ``not_received_by_signal_side`` when fewer
    frames were delivered than sent (a frame can vanish without any other count moving)."""
    lost = {key: n for key, n in delivery.items() if n and key not in _COUNTS_NOT_LOSSES}
    missing = delivery["frames_sent"] - delivery["delivered"]
    if missing:
        lost["not_received_by_signal_side"] = missing
    return lost


def _delivery(
    transport: UnixSocketTransport, ref: RemoteActorRef[SignalMessage], outcome: SignalSideOutcome
) -> dict[str, int]:
    """What crossed the socket and what did not: every count should be 0 but the first two."""
    return {
        "frames_sent": transport.sent,
        "delivered": outcome.delivered,
        "undelivered_in_transport": transport.undelivered,
        "refused_by_signal_side": outcome.rejected,
        "rejections_seen_by_sender": ref.rejected,
        "not_accepted_by_signal_actor": outcome.undelivered,
        "dead_letters_signal_side": outcome.dead_letters,
    }


def _failed(
    child: asyncio.subprocess.Process,
    market_actor: MarketDataActor | None,
    total: int,
    transport: UnixSocketTransport,
) -> PipelineFailed:
    handled = market_actor.processor.events if market_actor is not None else 0
    status = "is still running" if child.returncode is None else f"exited ({child.returncode})"
    return PipelineFailed(
        f"relay: the signal-generator process {status} before the run completed; "
        f"{handled:,} of {total:,} events were handled, {transport.undelivered:,} signal frames "
        "were left undelivered"
    )


async def _reap(child: asyncio.subprocess.Process) -> None:
    """Make sure the child is gone and waited for: no zombie, whatever happened."""
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
    await child.wait()
