"""How a pipeline is set up: the parameters of both services, shared by every deployment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import final

from services_v2.domain.momentum import MomentumConfig
from services_v2.domain.processor import MarketDataProcessor
from services_v2.domain.validator import SignalValidator, ValidatorConfig

__all__ = ["PipelineConfig"]


@final
@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """The parameters of the market-data and signal-generator services.

    Every deployment (the sequential reference, the actor bundle, the relay) builds its domain
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
