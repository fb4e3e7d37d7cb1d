"""``message.py``: the ActorMessage envelope, local or serialized."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mycelium import ActorMessage


class Quote:
    def __init__(self, price: float) -> None:
        self.price = price


def test_local_carries_the_object_itself() -> None:
    quote = Quote(1.5)
    msg = ActorMessage.local(quote)
    assert msg.is_local
    assert msg.value is quote


def test_serialized_carries_bytes() -> None:
    msg = ActorMessage.serialized(b"\x01\x02")
    assert not msg.is_local
    assert msg.data == b"\x01\x02"
    assert type(msg.data) is bytes


@pytest.mark.parametrize("data", [bytearray(b"abc"), memoryview(b"abc")])
def test_serialized_copies_bytes_like_into_bytes(data: bytearray | memoryview) -> None:
    msg = ActorMessage.serialized(data)
    assert msg.data == b"abc"
    assert type(msg.data) is bytes


def test_serialized_keeps_its_bytes_when_the_source_buffer_changes() -> None:
    buffer = bytearray(b"abc")
    msg = ActorMessage.serialized(buffer)
    buffer[0] = ord("z")
    assert msg.data == b"abc"


@pytest.mark.parametrize("data", ["abc", 3, None, [1, 2]])
def test_serialized_refuses_what_is_not_bytes(data: object) -> None:
    with pytest.raises(TypeError, match=r"^serialized data must be bytes, got "):
        ActorMessage.serialized(data)  # pyright: ignore[reportArgumentType]


def test_constructor_refuses_direct_use() -> None:
    with pytest.raises(TypeError, match=r"ActorMessage\.local\(obj\) or \.serialized\(data\)"):
        ActorMessage()


def test_downcast_returns_the_object_for_its_type_and_supertypes() -> None:
    msg = ActorMessage.local(True)
    assert msg.downcast(bool) is True
    assert msg.downcast(int) is True
    assert msg.downcast(object) is True


def test_downcast_returns_none_for_another_type() -> None:
    msg = ActorMessage.local(Quote(1.0))
    assert msg.downcast(str) is None
    assert msg.downcast(int) is None


def test_downcast_returns_none_for_a_serialized_message() -> None:
    msg = ActorMessage.serialized(b"abc")
    assert msg.downcast(bytes) is None
    assert msg.downcast(object) is None


def test_downcast_of_a_local_none_is_none_only_by_value() -> None:
    msg = ActorMessage.local(None)
    assert msg.downcast(type(None)) is None
    assert msg.value is None


def test_value_of_a_serialized_message_raises() -> None:
    with pytest.raises(TypeError, match=r"^a serialized ActorMessage has no local value"):
        _ = ActorMessage.serialized(b"x").value


def test_data_of_a_local_message_raises() -> None:
    with pytest.raises(TypeError, match=r"^a local ActorMessage carries an object, not bytes"):
        _ = ActorMessage.local(b"x").data


def test_the_envelope_is_read_only() -> None:
    msg = ActorMessage.local(1)
    with pytest.raises(AttributeError):
        setattr(msg, "value", 2)  # noqa: B010
    with pytest.raises(AttributeError):
        setattr(msg, "extra", 2)  # noqa: B010
    assert msg.value == 1


def test_equality_follows_variant_and_content() -> None:
    assert ActorMessage.local(1) == ActorMessage.local(1)
    assert ActorMessage.local(1) != ActorMessage.local(2)
    assert ActorMessage.serialized(b"a") == ActorMessage.serialized(bytearray(b"a"))
    assert ActorMessage.serialized(b"a") != ActorMessage.serialized(b"b")
    assert ActorMessage.local(b"a") != ActorMessage.serialized(b"a")
    assert ActorMessage.local(1) != 1


def test_envelopes_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(ActorMessage.local(1))


def test_repr_shows_the_variant() -> None:
    assert repr(ActorMessage.local("hi")) == "ActorMessage.local('hi')"
    assert repr(ActorMessage.serialized(b"abc")) == "ActorMessage.serialized(<3 bytes>)"


@given(st.binary(max_size=64))
def test_serialized_round_trips_any_bytes(data: bytes) -> None:
    msg = ActorMessage.serialized(data)
    assert msg.data == data
    assert msg.downcast(bytes) is None


@given(st.one_of(st.integers(), st.text(), st.binary(), st.none(), st.lists(st.integers())))
def test_local_round_trips_any_object_by_identity(obj: object) -> None:
    msg = ActorMessage.local(obj)
    assert msg.value is obj
    assert msg.downcast(type(obj)) is obj
