"""``mycelium-bundle --faults RATE``: the layout with faults injected, and the check of the run
against its oracle (:func:`~services_v2.layouts.sequential.faulted_reference`).

The faults are expressed through the config: the shipped factories (:mod:`.factories`) take
``faults = { rate, seed }``; the market actor is resumed after a fault, the signal generator
restarted (see :mod:`services_v2.actors.faults`).
"""

from __future__ import annotations

import copy
from typing import Final

import msgspec

from mycelium.bundle import MAIN_PROCESS, Layout, resolve, spec_from_data
from services_v2.domain.faults import FaultPlan
from services_v2.domain.momentum import MomentumConfig
from services_v2.domain.validator import ValidatorConfig
from services_v2.layouts.bundle import TradingLayoutError, trading_roles
from services_v2.layouts.config import PipelineConfig
from services_v2.layouts.result import PipelineResult
from services_v2.layouts.sequential import FaultedReference

from . import factories
from .summary import FaultSummary

__all__ = ["FAULT_RESTART_WINDOW", "check_faults", "with_faults"]

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
