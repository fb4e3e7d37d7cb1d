"""The trading services as Mycelium actors: thin adapters over the domain classes.

``MarketDataActor`` handles ``MarketMessage`` and tells the signal actor what it found;
``SignalGeneratorActor`` handles ``SignalMessage``, validates it and prepares execution;
``HotPathProbe`` pairs their timings into the hot-path latency. How they are wired and where
each runs is a bundle spec's business (``services_v2/bundles/*.toml``), not theirs.
"""

from .hot_path_probe import HotPathProbe as HotPathProbe
from .market_data_actor import MarketDataActor as MarketDataActor
from .signal_generator_actor import SignalGeneratorActor as SignalGeneratorActor
from .signal_generator_actor import SignalSideReport as SignalSideReport

__all__ = ["HotPathProbe", "MarketDataActor", "SignalGeneratorActor", "SignalSideReport"]
