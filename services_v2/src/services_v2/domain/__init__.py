"""Trading domain logic as plain classes: no actors, no asyncio, no clocks, no randomness.

Deterministic by construction: the same messages in the same order give the same state,
signals, plans and counters, in any deployment (a loop, actors, or two processes).
"""

from .arbitrage import ArbitrageDetector as ArbitrageDetector
from .arbitrage import best_trade as best_trade
from .arbitrage import continuous_max_profit as continuous_max_profit
from .arbitrage import opportunity_id as opportunity_id
from .arbitrage import optimal_amount_in as optimal_amount_in
from .arbitrage import round_trip_profit as round_trip_profit
from .market_state import MarketState as MarketState
from .market_state import SwapStatus as SwapStatus
from .momentum import MomentumConfig as MomentumConfig
from .momentum import MomentumDetector as MomentumDetector
from .momentum import momentum_signal_id as momentum_signal_id
from .pool import BPS as BPS
from .pool import PoolState as PoolState
from .pool import get_amount_out as get_amount_out
from .processor import MarketCounters as MarketCounters
from .processor import MarketDataProcessor as MarketDataProcessor
from .validator import ExecutionPlan as ExecutionPlan
from .validator import RejectReason as RejectReason
from .validator import SignalValidator as SignalValidator
from .validator import ValidationCounters as ValidationCounters
from .validator import ValidatorConfig as ValidatorConfig

__all__ = [
    "BPS",
    "ArbitrageDetector",
    "ExecutionPlan",
    "MarketCounters",
    "MarketDataProcessor",
    "MarketState",
    "MomentumConfig",
    "MomentumDetector",
    "PoolState",
    "RejectReason",
    "SignalValidator",
    "SwapStatus",
    "ValidationCounters",
    "ValidatorConfig",
    "best_trade",
    "continuous_max_profit",
    "get_amount_out",
    "momentum_signal_id",
    "opportunity_id",
    "optimal_amount_in",
    "round_trip_profit",
]
