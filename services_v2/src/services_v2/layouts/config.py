"""How the pipeline is set up in every layout: the parameters of both services, and the
mailbox capacity of their actors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, final

from services_v2.domain.momentum import MomentumConfig
from services_v2.domain.processor import MarketDataProcessor
from services_v2.domain.validator import SignalValidator, ValidatorConfig

__all__ = ["MAILBOX_CAPACITY", "PipelineConfig"]

MAILBOX_CAPACITY: Final = 4096
"""Mailbox capacity of the market-data and signal-generator actors, in every layout that runs
them as actors: the shipped configs give them ``capacity = 4096`` (``tests/services`` checks
that they agree with this), the naive baseline of ``mycelium-bench`` spawns with it."""


@final
@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """The parameters of the market-data and signal-generator services.

    Every layout (the sequential reference, the bundles: monolith, relay) builds its domain
    objects with :meth:`new_processor` and :meth:`new_validator`, so that the same config and
    the same events give the same signals, plans and counters.
    """

    momentum: MomentumConfig = field(default_factory=MomentumConfig)
    validator: ValidatorConfig = field(default_factory=ValidatorConfig)

    def new_processor(self) -> MarketDataProcessor:
        """A fresh market-data processor (empty market state) that signals only trades worth
        the validator's ``min_profit_usd``."""
        return MarketDataProcessor(self.momentum, min_profit_usd=self.validator.min_profit_usd)

    def new_validator(self) -> SignalValidator:
        """A fresh signal validator (clock at 0, nothing taken)."""
        return SignalValidator(self.validator)
