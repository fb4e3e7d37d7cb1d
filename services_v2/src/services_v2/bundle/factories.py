"""The factories a trading bundle's TOML names (``services_v2.bundle.factories:...``).

Each builds one service actor from the plain arguments of its ``[actors.NAME.args]`` table and
the refs wired to it; the domain parameters are tables converted to the domain's config
classes (``momentum = { fast_span = 8 }``, ``validator = { min_profit_usd = 5.0 }``), with the
domain defaults for what is left out. The same factory builds the same actor whatever its
placement: only the refs it is given differ (local, or across a Unix socket).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from mycelium import ActorRef
from mycelium_types.messages import SignalMessage
from services_v2.actors.faults import FaultyMarketData, FaultySignalGenerator
from services_v2.actors.hot_path_probe import HotPathProbe
from services_v2.actors.market_data_actor import MarketDataActor
from services_v2.actors.signal_generator_actor import SignalGeneratorActor
from services_v2.domain.faults import MARKET_STREAM, SIGNAL_STREAM, FaultPlan
from services_v2.domain.momentum import MomentumConfig
from services_v2.domain.processor import MarketDataProcessor
from services_v2.domain.validator import (
    DEFAULT_MIN_PROFIT_USD,
    SignalValidator,
    ValidatorConfig,
)
from services_v2.latency.hot_path import HotPathTiming

__all__ = ["hot_path_probe", "market_data", "signal_generator"]


def market_data(
    signals: ActorRef[SignalMessage],
    probe: ActorRef[HotPathTiming] | None = None,
    momentum: Mapping[str, object] | None = None,
    min_profit_usd: float = DEFAULT_MIN_PROFIT_USD,
    faults: Mapping[str, object] | None = None,
) -> MarketDataActor:
    """A ``MarketDataActor`` sending its signals to ``signals``, timings to ``probe``.

    ``min_profit_usd``: the market side signals only trades worth it; give it the value of the
    signal generator's ``validator.min_profit_usd`` (as ``PipelineConfig`` does).

    Raises:
        msgspec.ValidationError: ``momentum`` is not a valid ``MomentumConfig``.
        TypeError, ValueError: ``faults`` is not a valid fault plan.
    """
    config = msgspec.convert(dict(momentum or {}), MomentumConfig)
    processor = MarketDataProcessor(config, min_profit_usd=min_profit_usd)
    if faults is None:
        return MarketDataActor(processor, signals, probe)
    stream = _fault_plan(faults).stream(MARKET_STREAM)
    return FaultyMarketData(processor, signals, probe).attach(stream)


def signal_generator(
    probe: ActorRef[HotPathTiming] | None = None,
    validator: Mapping[str, object] | None = None,
    record: bool = False,
    plans_file: str | None = None,
    faults: Mapping[str, object] | None = None,
) -> SignalGeneratorActor:
    """A ``SignalGeneratorActor`` (``record``: keep every signal and plan, for tests;
    ``plans_file``: write the plans file there, as ``mycelium-bundle --plans`` asks).

    Raises:
        msgspec.ValidationError: ``validator`` is not a valid ``ValidatorConfig``.
        TypeError, ValueError: ``faults`` is not a valid fault plan.
    """
    config = msgspec.convert(dict(validator or {}), ValidatorConfig)
    if faults is None:
        return SignalGeneratorActor(
            SignalValidator(config), probe, record=record, plans_file=plans_file
        )
    stream = _fault_plan(faults).stream(SIGNAL_STREAM)
    actor = FaultySignalGenerator(
        SignalValidator(config), probe, record=record, plans_file=plans_file
    )
    return actor.attach(stream)


def _fault_plan(faults: Mapping[str, object]) -> FaultPlan:
    unknown = set(faults) - {"rate", "seed"}
    if unknown:
        raise ValueError(f"faults: unknown fields {sorted(unknown)} (expected rate, seed)")
    rate = faults.get("rate", 0.0)
    seed = faults.get("seed", 0)
    if not isinstance(rate, int | float) or not isinstance(seed, int):
        raise TypeError(f"faults: rate must be a number and seed an int, got {dict(faults)}")
    return FaultPlan(rate, seed)


def hot_path_probe() -> HotPathProbe:
    """The probe both services send their hot-path timings to."""
    return HotPathProbe()
