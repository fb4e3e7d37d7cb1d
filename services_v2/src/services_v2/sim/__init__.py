"""A deterministic, seeded market simulator: the bundle's built-in data."""

from .market_sim import DEFAULT_EVENTS as DEFAULT_EVENTS
from .market_sim import DEFAULT_PAIRS as DEFAULT_PAIRS
from .market_sim import MarketSimulator as MarketSimulator
from .market_sim import PairSpec as PairSpec
from .market_sim import PoolSpec as PoolSpec
from .market_sim import SimConfig as SimConfig
from .market_sim import pool_address as pool_address
from .market_sim import simulate as simulate

__all__ = [
    "DEFAULT_EVENTS",
    "DEFAULT_PAIRS",
    "MarketSimulator",
    "PairSpec",
    "PoolSpec",
    "SimConfig",
    "pool_address",
    "simulate",
]
