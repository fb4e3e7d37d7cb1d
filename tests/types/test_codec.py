"""The codec: every message round-trips; every bad input raises MessageDecodeError naming why."""

from __future__ import annotations

import math
from types import UnionType
from typing import TypeVar, assert_type

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from message_strategies import (
    EXAMPLES,
    I64_MAX,
    MARKET_MESSAGES,
    SIGNAL_MESSAGES,
    STRATEGIES,
    U64_MAX,
    fields_of,
)

from mycelium_types import (
    MARKET_DECODER,
    SIGNAL_DECODER,
    ArbitrageSignal,
    MarketMessage,
    MessageDecodeError,
    MessageDecoder,
    MomentumSignal,
    OrderBookSnapshot,
    PoolSwapEvent,
    PriceLevel,
    QuoteUpdate,
    SignalMessage,
    decode,
    decode_json,
    encode,
    encode_json,
    validate,
)

T = TypeVar("T")

SWAP = PoolSwapEvent(pool=bytes(range(20)), amount0_in=5, amount1_out=-7, timestamp_ns=11)
ARBITRAGE = ArbitrageSignal(opportunity_id=1, profit_usd=2.5, pools=(bytes(20),), timestamp_ns=3)

FORMATS = pytest.mark.parametrize("fmt", ["msgpack", "json"])
"""Run a bad-input test on both wire formats (the ones that can carry the bad value)."""


def _dump(fmt: str, obj: object) -> bytes:
    """Encode raw builtins, bypassing the schema, so a test can write any bad value."""
    return msgspec.json.encode(obj) if fmt == "json" else msgspec.msgpack.encode(obj)


def _load(fmt: str, data: bytes, msg_type: type[T]) -> T:
    return decode_json(data, msg_type) if fmt == "json" else decode(data, msg_type)


def _load_union(fmt: str, data: bytes, union: UnionType) -> object:
    return decode_json(data, union) if fmt == "json" else decode(data, union)


def _swap_with(**changes: object) -> dict[str, object]:
    return fields_of(SWAP) | changes


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", list(STRATEGIES), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_every_type_round_trips_through_msgpack(
    cls: type[msgspec.Struct], data: st.DataObject
) -> None:
    msg = data.draw(STRATEGIES[cls])
    decoded = decode(encode(msg), cls)
    assert type(decoded) is cls
    assert decoded == msg


@pytest.mark.parametrize("cls", list(STRATEGIES), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_every_type_round_trips_through_json(
    cls: type[msgspec.Struct], data: st.DataObject
) -> None:
    msg = data.draw(STRATEGIES[cls])
    decoded = decode_json(encode_json(msg), cls)
    assert type(decoded) is cls
    assert decoded == msg


def test_strategies_cover_every_struct_in_the_schema() -> None:
    assert set(STRATEGIES) == set(EXAMPLES)


@given(MARKET_MESSAGES)
def test_market_messages_round_trip_through_the_union(msg: MarketMessage) -> None:
    via_decoder = assert_type(MARKET_DECODER.decode(encode(msg)), MarketMessage)
    via_json = assert_type(MARKET_DECODER.decode_json(encode_json(msg)), MarketMessage)
    via_decode = decode(encode(msg), MarketMessage)
    via_decode_json = decode_json(encode_json(msg), MarketMessage)
    for decoded in (via_decoder, via_json, via_decode, via_decode_json):
        assert type(decoded) is type(msg)
        assert decoded == msg


@given(SIGNAL_MESSAGES)
def test_signal_messages_round_trip_through_the_union(msg: SignalMessage) -> None:
    via_decoder = assert_type(SIGNAL_DECODER.decode(encode(msg)), SignalMessage)
    via_json = assert_type(SIGNAL_DECODER.decode_json(encode_json(msg)), SignalMessage)
    via_decode = decode(encode(msg), SignalMessage)
    via_decode_json = decode_json(encode_json(msg), SignalMessage)
    for decoded in (via_decoder, via_json, via_decode, via_decode_json):
        assert type(decoded) is type(msg)
        assert decoded == msg


def test_decoding_a_struct_class_is_typed_as_that_class() -> None:
    swap = assert_type(decode(encode(SWAP), PoolSwapEvent), PoolSwapEvent)
    from_json = assert_type(decode_json(encode_json(SWAP), PoolSwapEvent), PoolSwapEvent)
    by_decoder = assert_type(MessageDecoder(PoolSwapEvent).decode(encode(SWAP)), PoolSwapEvent)
    assert swap == from_json == by_decoder == SWAP


def test_json_is_readable_with_the_tag_and_base64_bytes() -> None:
    assert encode_json(SWAP) == (
        b'{"type":"swap","pool":"AAECAwQFBgcICQoLDA0ODxAREhM=",'
        b'"amount0_in":5,"amount1_out":-7,"timestamp_ns":11}'
    )


def test_decoders_accept_bytearray_and_memoryview() -> None:
    data = encode(SWAP)
    assert decode(bytearray(data), PoolSwapEvent) == SWAP
    assert decode(memoryview(data), PoolSwapEvent) == SWAP
    assert decode_json(encode_json(SWAP).decode(), PoolSwapEvent) == SWAP


def test_decoder_repr_names_its_type() -> None:
    assert repr(MessageDecoder(PoolSwapEvent)) == "MessageDecoder(PoolSwapEvent)"
    assert "QuoteUpdate" in repr(MARKET_DECODER)


# --- one test per bad input ----------------------------------------------------------------


def test_decode_error_is_msgspecs_with_validation_error_beneath() -> None:
    assert MessageDecodeError is msgspec.DecodeError
    assert issubclass(msgspec.ValidationError, MessageDecodeError)


@FORMATS
def test_short_address_is_rejected(fmt: str) -> None:
    data = _dump(fmt, _swap_with(pool=bytes(19)))
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `bytes` of length >= 20 - at `\$\.pool`$"
    ):
        _load(fmt, data, PoolSwapEvent)


@FORMATS
def test_long_address_is_rejected(fmt: str) -> None:
    data = _dump(fmt, _swap_with(pool=bytes(21)))
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `bytes` of length <= 20 - at `\$\.pool`$"
    ):
        _load(fmt, data, PoolSwapEvent)


@FORMATS
def test_short_address_inside_a_tuple_names_its_index(fmt: str) -> None:
    data = _dump(fmt, fields_of(ARBITRAGE) | {"pools": [bytes(20), bytes(3)]})
    with pytest.raises(msgspec.ValidationError, match=r"- at `\$\.pools\[1\]`$"):
        _load(fmt, data, ArbitrageSignal)


@FORMATS
def test_int64_overflow_in_an_amount_is_rejected(fmt: str) -> None:
    data = _dump(fmt, _swap_with(amount0_in=I64_MAX + 1))
    with pytest.raises(
        msgspec.ValidationError,
        match=r"^Expected `int` <= 9223372036854775807 - at `\$\.amount0_in`$",
    ):
        _load(fmt, data, PoolSwapEvent)


@pytest.mark.parametrize(
    ("cls", "field"),
    [
        (PoolSwapEvent, "timestamp_ns"),
        (QuoteUpdate, "timestamp_ns"),
        (OrderBookSnapshot, "timestamp_ns"),
        (ArbitrageSignal, "opportunity_id"),
        (MomentumSignal, "signal_id"),
        (MomentumSignal, "horizon_ns"),
    ],
    ids=lambda x: getattr(x, "__name__", x),
)
def test_uint64_overflow_via_json_is_rejected(cls: type[msgspec.Struct], field: str) -> None:
    """JSON carries any integer; msgpack cannot write one above 2**64 - 1 at all."""
    data = _dump("json", fields_of(EXAMPLES[cls]) | {field: U64_MAX + 1})
    with pytest.raises(
        msgspec.ValidationError,
        match=(
            rf"^`{field}` must fit an unsigned 64-bit integer "
            rf"\(<= {U64_MAX}\), got {U64_MAX + 1}$"
        ),
    ):
        decode_json(data, cls)


def test_uint64_maximum_via_json_is_accepted() -> None:
    data = _dump("json", _swap_with(timestamp_ns=U64_MAX))
    assert decode_json(data, PoolSwapEvent).timestamp_ns == U64_MAX


def test_uint64_overflow_via_json_in_a_union_names_the_field() -> None:
    data = _dump("json", fields_of(ARBITRAGE) | {"timestamp_ns": U64_MAX + 1})
    with pytest.raises(msgspec.ValidationError, match=r"^`timestamp_ns` must fit"):
        SIGNAL_DECODER.decode_json(data)


@FORMATS
def test_negative_timestamp_is_rejected(fmt: str) -> None:
    data = _dump(fmt, _swap_with(timestamp_ns=-1))
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `int` >= 0 - at `\$\.timestamp_ns`$"
    ):
        _load(fmt, data, PoolSwapEvent)


def test_nan_profit_is_rejected() -> None:
    """msgpack only: JSON has no NaN (msgspec writes it as null)."""
    data = _dump("msgpack", fields_of(ARBITRAGE) | {"profit_usd": math.nan})
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `float` >= .* - at `\$\.profit_usd`$"
    ):
        decode(data, ArbitrageSignal)


@pytest.mark.parametrize("inf", [math.inf, -math.inf], ids=["+inf", "-inf"])
def test_infinite_profit_is_rejected(inf: float) -> None:
    data = _dump("msgpack", fields_of(ARBITRAGE) | {"profit_usd": inf})
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `float` [<>]= .* - at `\$\.profit_usd`$"
    ):
        decode(data, ArbitrageSignal)


@FORMATS
def test_truncated_bytes_are_rejected(fmt: str) -> None:
    """Bytes cut short have no field to name yet; the error says they were truncated."""
    whole = encode_json(SWAP) if fmt == "json" else encode(SWAP)
    with pytest.raises(MessageDecodeError, match=r"^Input data was truncated$") as caught:
        _load(fmt, whole[:-3], PoolSwapEvent)
    assert type(caught.value) is MessageDecodeError


@pytest.mark.parametrize(
    ("fmt", "garbage", "says"),
    [
        (
            "msgpack",
            b"\xc1\x00",
            r"^MessagePack data is malformed: invalid opcode '\\xc1' \(byte 0\)$",
        ),
        ("json", b"swap!", r"^JSON is malformed: invalid character \(byte 0\)$"),
    ],
    ids=["msgpack", "json"],
)
def test_garbage_bytes_are_rejected(fmt: str, garbage: bytes, says: str) -> None:
    with pytest.raises(MessageDecodeError, match=says) as caught:
        _load(fmt, garbage, PoolSwapEvent)
    assert type(caught.value) is MessageDecodeError


@FORMATS
def test_invalid_utf8_in_a_string_is_rejected(fmt: str) -> None:
    """msgspec raises UnicodeDecodeError here (msgspec#714); the codec reports it as ours."""
    quote = fields_of(EXAMPLES[QuoteUpdate]) | {"instrument": "@@"}
    data = _dump(fmt, quote).replace(b"@@", b"\x80\x80")
    with pytest.raises(
        MessageDecodeError, match=r"data is malformed: a string is not valid UTF-8"
    ) as caught:
        _load_union(fmt, data, MarketMessage)
    assert type(caught.value) is MessageDecodeError
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)


def test_invalid_utf8_through_a_ready_decoder_is_rejected() -> None:
    data = encode(EXAMPLES[QuoteUpdate]).replace(b"WETH/USDC", b"WETH\xffUSDC")
    with pytest.raises(MessageDecodeError, match=r"^MessagePack data is malformed: a string"):
        MARKET_DECODER.decode(data)
    with pytest.raises(MessageDecodeError, match=r"^JSON data is malformed: a string"):
        MARKET_DECODER.decode_json(encode_json(EXAMPLES[QuoteUpdate]).replace(b"/", b"\xff"))


@FORMATS
def test_wrong_tag_is_rejected(fmt: str) -> None:
    data = _dump(fmt, _swap_with(type="quote"))
    with pytest.raises(msgspec.ValidationError, match=r"^Invalid value 'quote' - at `\$\.type`$"):
        _load(fmt, data, PoolSwapEvent)


@FORMATS
def test_unknown_tag_in_a_union_is_rejected(fmt: str) -> None:
    data = _dump(fmt, _swap_with(type="trade"))
    with pytest.raises(msgspec.ValidationError, match=r"^Invalid value 'trade' - at `\$\.type`$"):
        _load_union(fmt, data, MarketMessage)


@FORMATS
def test_market_message_decoded_as_a_signal_is_rejected(fmt: str) -> None:
    data = _dump(fmt, fields_of(SWAP))
    with pytest.raises(msgspec.ValidationError, match=r"^Invalid value 'swap' - at `\$\.type`$"):
        _load_union(fmt, data, SignalMessage)


def test_signal_decoded_by_the_market_decoder_is_rejected() -> None:
    with pytest.raises(
        msgspec.ValidationError, match=r"^Invalid value 'arbitrage' - at `\$\.type`$"
    ):
        MARKET_DECODER.decode(encode(ARBITRAGE))


@FORMATS
def test_wrong_field_type_is_rejected(fmt: str) -> None:
    data = _dump(fmt, _swap_with(amount1_out="12"))
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `int`, got `str` - at `\$\.amount1_out`$"
    ):
        _load(fmt, data, PoolSwapEvent)


@FORMATS
def test_missing_field_is_rejected(fmt: str) -> None:
    fields = _swap_with()
    del fields["timestamp_ns"]
    with pytest.raises(
        msgspec.ValidationError, match=r"^Object missing required field `timestamp_ns`$"
    ):
        _load(fmt, _dump(fmt, fields), PoolSwapEvent)


@FORMATS
def test_a_struct_class_accepts_input_without_its_tag(fmt: str) -> None:
    """Documented msgspec rule: the tag is needed to pick a union member, not for one class."""
    fields = _swap_with()
    del fields["type"]
    assert _load(fmt, _dump(fmt, fields), PoolSwapEvent) == SWAP


@FORMATS
def test_missing_tag_in_a_union_is_rejected(fmt: str) -> None:
    fields = _swap_with()
    del fields["type"]
    with pytest.raises(msgspec.ValidationError, match=r"^Object missing required field `type`$"):
        _load_union(fmt, _dump(fmt, fields), MarketMessage)


@FORMATS
def test_bad_price_level_names_its_position_in_the_book(fmt: str) -> None:
    book = fields_of(EXAMPLES[OrderBookSnapshot]) | {"asks": [[3001.0, 1.0], [-1.0, 1.0]]}
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `float` > 0\.0 - at `\$\.asks\[1\]\[0\]`$"
    ):
        _load(fmt, _dump(fmt, book), OrderBookSnapshot)


@given(msg=MARKET_MESSAGES, data=st.data())
def test_corrupted_bytes_never_decode_to_a_half_valid_message(
    msg: MarketMessage, data: st.DataObject
) -> None:
    """Flip one byte of a valid encoding: decoding raises, or gives a message that is valid."""
    wire = bytearray(encode(msg))
    index = data.draw(st.integers(0, len(wire) - 1))
    wire[index] = data.draw(st.integers(0, 255))
    try:
        decoded = MARKET_DECODER.decode(wire)
    except MessageDecodeError:
        return
    assert validate(decoded) == decoded


@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_message_decode_error(wire: bytes) -> None:
    try:
        decoded = SIGNAL_DECODER.decode(wire)
    except MessageDecodeError:
        return
    assert validate(decoded) == decoded


# --- validate ------------------------------------------------------------------------------


def test_validate_returns_an_equal_message_for_a_valid_one() -> None:
    for msg in EXAMPLES.values():
        assert validate(msg) == msg


def test_validate_rejects_a_directly_built_swap_with_a_short_address() -> None:
    bad = PoolSwapEvent(pool=b"\x01\x02", amount0_in=1, amount1_out=1, timestamp_ns=1)
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `bytes` of length >= 20 - at `\$\.pool`$"
    ):
        validate(bad)


@pytest.mark.parametrize("amount", [-(2**63) - 1, 2**63, 2**64, -(2**70)])
def test_validate_names_an_amount_outside_int64(amount: int) -> None:
    """Past 2**64 msgpack cannot even encode it; the field is still named."""
    bad = PoolSwapEvent(pool=bytes(20), amount0_in=amount, amount1_out=1, timestamp_ns=1)
    with pytest.raises(msgspec.ValidationError, match=r"- at `\$\.amount0_in`$"):
        validate(bad)


def test_validate_rejects_a_nan_nested_in_a_book() -> None:
    bad = OrderBookSnapshot("X", bids=(PriceLevel(math.nan, 1.0),), asks=(), timestamp_ns=0)
    with pytest.raises(msgspec.ValidationError, match=r"- at `\$\.bids\[0\]\[0\]`$"):
        validate(bad)


def test_validate_rejects_a_str_where_bytes_belong() -> None:
    base64_of_20_bytes = "AAECAwQFBgcICQoLDA0ODxAREhM="
    bad = PoolSwapEvent(
        pool=base64_of_20_bytes,  # pyright: ignore[reportArgumentType]
        amount0_in=1,
        amount1_out=1,
        timestamp_ns=1,
    )
    with pytest.raises(
        msgspec.ValidationError, match=r"^Expected `bytes`, got `str` - at `\$\.pool`$"
    ):
        validate(bad)


def test_validate_normalises_a_bytearray_address_to_bytes() -> None:
    built = PoolSwapEvent(
        pool=bytearray(20),  # pyright: ignore[reportArgumentType]
        amount0_in=1,
        amount1_out=1,
        timestamp_ns=1,
    )
    checked = validate(built)
    assert type(checked.pool) is bytes
    assert checked.pool == bytes(20)


class _Unbounded(msgspec.Struct, frozen=True):
    count: int


def test_validate_rejects_an_int_msgpack_cannot_carry_even_without_meta() -> None:
    with pytest.raises(
        msgspec.ValidationError,
        match=(
            r"^Integer outside \[-2\*\*63, 2\*\*64 - 1\], which msgpack cannot carry "
            r"- at `\$\.count`$"
        ),
    ):
        validate(_Unbounded(count=2**64))


def test_validate_names_a_string_utf8_cannot_encode() -> None:
    bad = QuoteUpdate(
        "WETH\ud800", bid_price=1.0, bid_size=1.0, ask_price=2.0, ask_size=1.0, timestamp_ns=0
    )
    with pytest.raises(
        msgspec.ValidationError,
        match=r"^String that UTF-8 cannot encode \(surrogates not allowed\) - at `\$\.instrument`$",
    ):
        validate(bad)


def test_validate_raises_type_error_for_an_unencodable_object() -> None:
    bad = PoolSwapEvent(
        pool=object(),  # pyright: ignore[reportArgumentType]
        amount0_in=1,
        amount1_out=1,
        timestamp_ns=1,
    )
    with pytest.raises(TypeError, match=r"^Encoding objects of type object is unsupported$"):
        validate(bad)
