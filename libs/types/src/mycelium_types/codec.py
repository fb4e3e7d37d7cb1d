"""Wire and human codecs for the message schema: msgpack for the wire, JSON for people.

Encoding: :func:`encode` (msgpack) and :func:`encode_json` write any message; neither
validates, so a directly-built object with a bad value is written as it is (see
:func:`validate`). A value that the format cannot represent at all (an int outside
[-2**63, 2**64 - 1] for msgpack, a string with a lone surrogate, an object msgspec does not
know) raises ``OverflowError``, ``UnicodeEncodeError`` or ``TypeError`` from msgspec.

Decoding: :func:`decode` (msgpack) and :func:`decode_json` read one message of the type you
name: a Struct class such as :class:`~mycelium_types.messages.PoolSwapEvent`, or a tagged
union such as :data:`~mycelium_types.messages.MarketMessage`, where the ``type`` tag picks
the member. Decoding one Struct class accepts input without the tag (msgspec's rule) but
rejects a different one. :data:`MARKET_DECODER` and :data:`SIGNAL_DECODER` decode the two
unions with precise static types.

Errors: :class:`MessageDecodeError` (msgspec's ``DecodeError``) is the one exception that
decoding raises, for every bad input:

- bytes that are not msgpack/JSON, are cut short, or hold a string that is not UTF-8:
  ``MessageDecodeError`` itself, whose message says what is wrong with the bytes ("Input data
  was truncated", "JSON is malformed: ... (byte 0)"); msgspec gives no field for these.
  (msgspec itself raises ``UnicodeDecodeError`` for bad UTF-8, msgspec issue #714; this
  module wraps it so that one exception type covers every bad input.)
- well-formed data with a wrong type, a value out of range, a missing field or an unknown tag:
  its subclass ``msgspec.ValidationError``, whose message names the field, e.g.
  "Expected `bytes` of length >= 20 - at `$.pool`", "Invalid value 'quote' - at `$.type`",
  "Object missing required field `timestamp_ns`".

Decoding never returns a half-valid object: either every invariant of the schema holds for
the result, or it raises.

Reuse: encoders are built once; decoders are built on first use for each type and cached
for the life of the process, so the hot path allocates only the decoded message. The caches
are plain dicts: safe to share between threads (a race builds a decoder twice, harmlessly).
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Final, Generic, TypeAlias, TypeVar, final, overload

import msgspec

from .messages import MarketMessage, SignalMessage

__all__ = [
    "MARKET_DECODER",
    "SIGNAL_DECODER",
    "MessageDecodeError",
    "MessageDecoder",
    "decode",
    "decode_json",
    "encode",
    "encode_json",
    "validate",
]

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)

_Bytes: TypeAlias = bytes | bytearray | memoryview

MessageDecodeError = msgspec.DecodeError
"""Raised by every decode of a bad input; never a half-valid object.

Its subclass ``msgspec.ValidationError`` means the bytes were well-formed but a value broke
the schema, and its message names the field (``- at `$.pool```). ``MessageDecodeError``
itself means the bytes were not msgpack/JSON at all (malformed or truncated).
"""

_MSGPACK_ENCODER: Final = msgspec.msgpack.Encoder()
_JSON_ENCODER: Final = msgspec.json.Encoder()

# Invariant: each value decodes exactly its key (a Struct class or a union of them).
_MSGPACK_DECODERS: Final[dict[object, msgspec.msgpack.Decoder[Any]]] = {}
_JSON_DECODERS: Final[dict[object, msgspec.json.Decoder[Any]]] = {}


def _msgpack_decoder(type_: object) -> msgspec.msgpack.Decoder[Any]:
    decoder = _MSGPACK_DECODERS.get(type_)
    if decoder is None:
        decoder = _MSGPACK_DECODERS.setdefault(type_, msgspec.msgpack.Decoder(type_))
    return decoder


def _json_decoder(type_: object) -> msgspec.json.Decoder[Any]:
    decoder = _JSON_DECODERS.get(type_)
    if decoder is None:
        decoder = _JSON_DECODERS.setdefault(type_, msgspec.json.Decoder(type_))
    return decoder


def _invalid_utf8(format_name: str, exc: UnicodeDecodeError) -> MessageDecodeError:
    """Cold path: msgspec lets UnicodeDecodeError through; report it as malformed data."""
    return MessageDecodeError(
        f"{format_name} data is malformed: a string is not valid UTF-8 ({exc.reason})"
    )


def _unencodable(
    msg: msgspec.Struct, exc: OverflowError | UnicodeEncodeError
) -> msgspec.ValidationError:
    """Cold path: name the field of ``msg`` that msgpack could not encode.

    ``convert`` checks the same constraints as decoding without encoding, so it names the
    path of any value out of its ``Meta`` bounds (``$.bids[0][0]``). Failing that, the value
    cannot be carried at all (an int past 2**64 - 1 in a field with no bound, a string with a
    lone surrogate): encode the fields one by one to find it.
    """
    builtins = msgspec.to_builtins(msg, builtin_types=(bytes,))
    try:
        msgspec.convert(builtins, type(msg), builtin_types=(bytes,))
    except msgspec.ValidationError as named:
        return named
    why = (
        "Integer outside [-2**63, 2**64 - 1], which msgpack cannot carry"
        if isinstance(exc, OverflowError)
        else f"String that UTF-8 cannot encode ({exc.reason})"
    )
    for name in msg.__struct_fields__:
        try:
            _MSGPACK_ENCODER.encode(getattr(msg, name))
        except (OverflowError, UnicodeEncodeError):
            return msgspec.ValidationError(f"{why} - at `$.{name}`")
    return msgspec.ValidationError(f"{why} in {type(msg).__name__}")


def encode(msg: msgspec.Struct) -> bytes:
    """Encode one message as msgpack, the wire format. Does not validate (see module doc)."""
    return _MSGPACK_ENCODER.encode(msg)


def encode_json(msg: msgspec.Struct) -> bytes:
    """Encode one message as compact UTF-8 JSON; ``bytes`` fields are written as base64."""
    return _JSON_ENCODER.encode(msg)


@overload
def decode(data: _Bytes, msg_type: type[T]) -> T: ...
@overload
def decode(data: _Bytes, msg_type: UnionType) -> object: ...
def decode(data: _Bytes, msg_type: object) -> object:
    """Decode one msgpack message of ``msg_type`` (a Struct class or a tagged union of them).

    For a Struct class the result has that static type. For a union the static type is
    ``object``, since a type checker cannot read a union from a value: narrow it with
    ``match``/``isinstance``, or use :data:`MARKET_DECODER`/:data:`SIGNAL_DECODER`.

    Raises:
        MessageDecodeError: on any bad input; ``msgspec.ValidationError`` (a subclass) names
            the field. Never returns a half-valid object.
    """
    try:
        return _msgpack_decoder(msg_type).decode(data)
    except UnicodeDecodeError as exc:
        raise _invalid_utf8("MessagePack", exc) from exc


@overload
def decode_json(data: _Bytes | str, msg_type: type[T]) -> T: ...
@overload
def decode_json(data: _Bytes | str, msg_type: UnionType) -> object: ...
def decode_json(data: _Bytes | str, msg_type: object) -> object:
    """Decode one JSON message of ``msg_type``; the JSON twin of :func:`decode`, same errors."""
    try:
        return _json_decoder(msg_type).decode(data)
    except UnicodeDecodeError as exc:
        raise _invalid_utf8("JSON", exc) from exc


def validate(msg: S) -> S:
    """Return a copy of ``msg`` that is known to satisfy every invariant of its schema.

    Directly-built messages skip msgspec's checks; this round-trips ``msg`` through msgpack,
    so it accepts exactly what a receiver would accept from the wire. The result equals
    ``msg`` but is a new object (``bytearray``/``memoryview`` fields come back as ``bytes``).

    Raises:
        msgspec.ValidationError: (a :class:`MessageDecodeError`) when a value breaks the
            schema; the message names the field. A value msgpack cannot carry at all (an
            integer past 2**64 - 1, a string with a lone surrogate) is reported the same way.
        TypeError: when a field holds an object msgspec cannot encode at all.
    """
    try:
        data = _MSGPACK_ENCODER.encode(msg)
    except (OverflowError, UnicodeEncodeError) as exc:
        raise _unencodable(msg, exc) from exc
    return decode(data, type(msg))


@final
class MessageDecoder(Generic[T]):
    """A ready pair of msgpack and JSON decoders for one message type, typed as ``T``.

    It keeps no state between calls, so one instance may be shared by any number of actors
    and threads. Errors as in :func:`decode`.
    """

    __slots__ = ("_json", "_msgpack", "_type")

    def __init__(self, msg_type: type[T] | UnionType) -> None:
        """Decode ``msg_type``: a Struct class (``T`` is inferred) or a tagged union.

        For a union, state ``T`` yourself and make it the union you pass, as
        ``MessageDecoder[MarketMessage](MarketMessage)`` does: a type checker cannot check it.
        """
        self._type: object = msg_type
        self._msgpack: msgspec.msgpack.Decoder[T] = _msgpack_decoder(msg_type)
        self._json: msgspec.json.Decoder[T] = _json_decoder(msg_type)

    def decode(self, data: _Bytes) -> T:
        """Decode one msgpack message. Raises MessageDecodeError, naming the field."""
        try:
            return self._msgpack.decode(data)
        except UnicodeDecodeError as exc:
            raise _invalid_utf8("MessagePack", exc) from exc

    def decode_json(self, data: _Bytes | str) -> T:
        """Decode one JSON message. Raises MessageDecodeError, naming the field."""
        try:
            return self._json.decode(data)
        except UnicodeDecodeError as exc:
            raise _invalid_utf8("JSON", exc) from exc

    def __repr__(self) -> str:
        name: str = getattr(self._type, "__name__", None) or repr(self._type)
        return f"MessageDecoder({name})"


MARKET_DECODER: Final = MessageDecoder[MarketMessage](MarketMessage)
"""Decodes any :data:`~mycelium_types.messages.MarketMessage`, typed as that union."""

SIGNAL_DECODER: Final = MessageDecoder[SignalMessage](SignalMessage)
"""Decodes any :data:`~mycelium_types.messages.SignalMessage`, typed as that union."""
