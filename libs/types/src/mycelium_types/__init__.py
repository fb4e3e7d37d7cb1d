"""Shared message types for Mycelium services, and their codecs.

This package depends on msgspec and the standard library only; the runtime (``mycelium``) never
imports it, and services import it by this name rather than by submodule:

- :mod:`~mycelium_types.messages`: the frozen, tagged msgspec Structs and the domain unions
  :data:`MarketMessage` and :data:`SignalMessage`, with their invariants.
- :mod:`~mycelium_types.codec`: msgpack for the wire, JSON for people. Every bad input to a
  decoder raises :class:`MessageDecodeError`, whose message names the field.
"""

from .codec import MARKET_DECODER as MARKET_DECODER
from .codec import SIGNAL_DECODER as SIGNAL_DECODER
from .codec import MessageDecodeError as MessageDecodeError
from .codec import MessageDecoder as MessageDecoder
from .codec import decode as decode
from .codec import decode_json as decode_json
from .codec import encode as encode
from .codec import encode_json as encode_json
from .codec import validate as validate
from .messages import Address as Address
from .messages import ArbitrageSignal as ArbitrageSignal
from .messages import FiniteFloat as FiniteFloat
from .messages import Int64 as Int64
from .messages import MarketMessage as MarketMessage
from .messages import MomentumSignal as MomentumSignal
from .messages import OrderBookSnapshot as OrderBookSnapshot
from .messages import PoolSnapshot as PoolSnapshot
from .messages import PoolSwapEvent as PoolSwapEvent
from .messages import PositiveFloat as PositiveFloat
from .messages import PriceLevel as PriceLevel
from .messages import QuoteUpdate as QuoteUpdate
from .messages import SignalMessage as SignalMessage
from .messages import UInt64 as UInt64

__all__ = [
    "MARKET_DECODER",
    "SIGNAL_DECODER",
    "Address",
    "ArbitrageSignal",
    "FiniteFloat",
    "Int64",
    "MarketMessage",
    "MessageDecodeError",
    "MessageDecoder",
    "MomentumSignal",
    "OrderBookSnapshot",
    "PoolSnapshot",
    "PoolSwapEvent",
    "PositiveFloat",
    "PriceLevel",
    "QuoteUpdate",
    "SignalMessage",
    "UInt64",
    "decode",
    "decode_json",
    "encode",
    "encode_json",
    "validate",
]
