"""The schema itself: immutability, the uint64 bound checked on construction, derived values."""

from __future__ import annotations

import msgspec
import pytest
from message_strategies import EXAMPLES, U64_MAX

from mycelium_types import (
    ArbitrageSignal,
    MarketMessage,
    MomentumSignal,
    OrderBookSnapshot,
    PoolSnapshot,
    PoolSwapEvent,
    PriceLevel,
    QuoteUpdate,
    SignalMessage,
    messages,
)

UINT64_FIELDS = [
    (PoolSwapEvent, "timestamp_ns"),
    (PoolSnapshot, "timestamp_ns"),
    (QuoteUpdate, "timestamp_ns"),
    (OrderBookSnapshot, "timestamp_ns"),
    (ArbitrageSignal, "opportunity_id"),
    (ArbitrageSignal, "timestamp_ns"),
    (ArbitrageSignal, "event"),
    (MomentumSignal, "signal_id"),
    (MomentumSignal, "horizon_ns"),
    (MomentumSignal, "timestamp_ns"),
]
"""Every int field whose upper bound ``Meta`` cannot state, so ``__post_init__`` must."""


def _schema_structs() -> set[type[msgspec.Struct]]:
    return {
        obj
        for name in messages.__all__
        if isinstance(obj := getattr(messages, name), type) and issubclass(obj, msgspec.Struct)
    }


def _info(cls: type[msgspec.Struct]) -> msgspec.inspect.StructType:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return info


def _rebuilt(msg: msgspec.Struct, **changes: object) -> msgspec.Struct:
    """Construct a new ``type(msg)`` directly, with ``changes`` applied (runs __post_init__)."""
    values = {f: getattr(msg, f) for f in msg.__struct_fields__} | changes
    return type(msg)(**values)


def test_examples_cover_every_struct_in_the_schema() -> None:
    assert set(EXAMPLES) == _schema_structs()


def test_unions_hold_exactly_the_market_and_signal_messages() -> None:
    assert set(MarketMessage.__args__) == {
        PoolSwapEvent,
        QuoteUpdate,
        OrderBookSnapshot,
        PoolSnapshot,
    }
    assert set(SignalMessage.__args__) == {ArbitrageSignal, MomentumSignal}


def test_tags_are_distinct_across_all_messages() -> None:
    tags = [_info(cls).tag for cls in _schema_structs()]
    tagged = [tag for tag in tags if tag is not None]
    assert len(tagged) == len(set(tagged)) == len(_schema_structs()) - 1  # PriceLevel: no tag


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda cls: cls.__name__)
def test_every_field_rejects_assignment(cls: type[msgspec.Struct]) -> None:
    msg = EXAMPLES[cls]
    for field in msg.__struct_fields__:
        before = getattr(msg, field)
        with pytest.raises(AttributeError, match=rf"^immutable type: '{cls.__name__}'$"):
            setattr(msg, field, object())
        assert getattr(msg, field) is before


def test_uint64_field_list_matches_the_schema() -> None:
    """Every int field with no upper Meta bound is listed, so the next test checks it."""
    unbounded = {
        (cls, field.name)
        for cls in _schema_structs()
        for field in _info(cls).fields
        if isinstance(field.type, msgspec.inspect.IntType)
        and field.type.le is None
        and field.type.lt is None
    }
    assert unbounded == set(UINT64_FIELDS)


@pytest.mark.parametrize(("cls", "field"), UINT64_FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_uint64_field_accepts_its_maximum(cls: type[msgspec.Struct], field: str) -> None:
    msg = _rebuilt(EXAMPLES[cls], **{field: U64_MAX})
    assert getattr(msg, field) == U64_MAX


@pytest.mark.parametrize(("cls", "field"), UINT64_FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_uint64_field_rejects_one_past_its_maximum(cls: type[msgspec.Struct], field: str) -> None:
    with pytest.raises(
        ValueError,
        match=(
            rf"^`{field}` must fit an unsigned 64-bit integer "
            rf"\(<= 18446744073709551615\), got 18446744073709551616$"
        ),
    ):
        _rebuilt(EXAMPLES[cls], **{field: U64_MAX + 1})


def test_uint64_error_shows_the_size_of_a_huge_value_not_its_digits() -> None:
    with pytest.raises(ValueError, match=r"^`timestamp_ns` must fit .*, got a 4001-bit integer$"):
        PoolSwapEvent(pool=bytes(20), amount0_in=0, amount1_out=0, timestamp_ns=2**4000)


def test_direct_construction_skips_meta_checks() -> None:
    """The documented gap that `validate` closes: Meta constraints run on decode only."""
    short = PoolSwapEvent(pool=b"\x01", amount0_in=-(2**70), amount1_out=0, timestamp_ns=0)
    assert (short.pool, short.amount0_in) == (b"\x01", -(2**70))


def test_quote_mid_price_is_the_mean_of_bid_and_ask() -> None:
    quote = QuoteUpdate(
        "X", bid_price=99.0, bid_size=1.0, ask_price=101.0, ask_size=1.0, timestamp_ns=0
    )
    assert quote.mid_price == 100.0


def test_book_mid_price_uses_the_best_levels() -> None:
    book = OrderBookSnapshot(
        "X",
        bids=(PriceLevel(99.0, 1.0), PriceLevel(90.0, 1.0)),
        asks=(PriceLevel(103.0, 1.0), PriceLevel(110.0, 1.0)),
        timestamp_ns=0,
    )
    assert book.mid_price == 101.0


@pytest.mark.parametrize(
    ("bids", "asks"),
    [((), (PriceLevel(1.0, 1.0),)), ((PriceLevel(1.0, 1.0),), ()), ((), ())],
    ids=["no-bids", "no-asks", "empty"],
)
def test_book_mid_price_is_none_when_a_side_is_empty(
    bids: tuple[PriceLevel, ...], asks: tuple[PriceLevel, ...]
) -> None:
    assert OrderBookSnapshot("X", bids=bids, asks=asks, timestamp_ns=0).mid_price is None
