"""Pin the public surface of ``mycelium_types``: services import these names, nothing else."""

from __future__ import annotations

import mycelium_types
from mycelium_types import codec, messages

EXPECTED = {
    # messages
    "Address",
    "ArbitrageSignal",
    "FiniteFloat",
    "Int64",
    "MarketMessage",
    "MomentumSignal",
    "OrderBookSnapshot",
    "PoolSnapshot",
    "PoolSwapEvent",
    "PositiveFloat",
    "PriceLevel",
    "QuoteUpdate",
    "SignalMessage",
    "UInt64",
    # codec
    "MARKET_DECODER",
    "SIGNAL_DECODER",
    "MessageDecodeError",
    "MessageDecoder",
    "decode",
    "decode_json",
    "encode",
    "encode_json",
    "validate",
}


def test_all_lists_exactly_the_public_api() -> None:
    assert set(mycelium_types.__all__) == EXPECTED
    assert len(mycelium_types.__all__) == len(EXPECTED)


def test_package_re_exports_every_public_name_of_its_modules() -> None:
    assert set(messages.__all__) | set(codec.__all__) == EXPECTED


def test_every_exported_name_is_the_module_object() -> None:
    for name in messages.__all__:
        assert getattr(mycelium_types, name) is getattr(messages, name), name
    for name in codec.__all__:
        assert getattr(mycelium_types, name) is getattr(codec, name), name
