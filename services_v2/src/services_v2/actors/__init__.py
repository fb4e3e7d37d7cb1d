"""The trading services as Mycelium actors: thin adapters over the domain classes.

``MarketDataActor`` handles ``MarketMessage`` and tells the signal actor what it found;
``SignalGeneratorActor`` handles ``SignalMessage``, validates it and prepares execution.
``run_actor_pipeline`` wires both in one ``ActorSystem`` (the bundled monolith).
"""

from .market_data_actor import MarketDataActor as MarketDataActor
from .pipeline import run_actor_pipeline as run_actor_pipeline
from .signal_generator_actor import SignalGeneratorActor as SignalGeneratorActor

__all__ = ["MarketDataActor", "SignalGeneratorActor", "run_actor_pipeline"]
