"""``ActorMessage``: the envelope a transport carries (seed task MVP-003).

Two variants: *local* carries the Python object itself (no copy, no serialisation: the seed's
``Arc<dyn Any>``), *serialized* carries ``bytes`` for transports that cross a process boundary.

The local actor path does not use this envelope at all: a local ``ActorRef`` puts the message
object straight into the mailbox, so the hot path allocates nothing per message. Transports, which
need one type for everything they move, use ``ActorMessage``.
"""

from __future__ import annotations

from typing import TypeVar, final

__all__ = ["ActorMessage"]

T = TypeVar("T")


@final
class ActorMessage:
    """An envelope holding either a local object or serialized bytes. Immutable.

    Invariant: exactly one of ``value`` (local) and ``data`` (serialized) is meaningful, as told
    by ``is_local``.
    """

    __slots__ = ("_data", "_local", "_value")

    _value: object
    _data: bytes
    _local: bool

    def __init__(self) -> None:
        raise TypeError("build an ActorMessage with ActorMessage.local(obj) or .serialized(data)")

    @classmethod
    def local(cls, obj: object) -> ActorMessage:
        """Wrap ``obj`` for in-process delivery: the object itself travels, nothing is copied."""
        msg = object.__new__(cls)
        msg._value, msg._data, msg._local = obj, b"", True
        return msg

    @classmethod
    def serialized(cls, data: bytes | bytearray | memoryview) -> ActorMessage:
        """Wrap encoded bytes for a transport that crosses a process boundary.

        Raises:
            TypeError: ``data`` is not bytes-like.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"serialized data must be bytes, got {type(data).__name__}")
        msg = object.__new__(cls)
        msg._value, msg._data, msg._local = None, bytes(data), False
        return msg

    @property
    def is_local(self) -> bool:
        """True for the local variant, False for the serialized one."""
        return self._local

    @property
    def value(self) -> object:
        """The carried object (local variant).

        Raises:
            TypeError: this is a serialized message; decode ``data`` instead.
        """
        if not self._local:
            raise TypeError("a serialized ActorMessage has no local value; decode .data")
        return self._value

    @property
    def data(self) -> bytes:
        """The carried bytes (serialized variant).

        Raises:
            TypeError: this is a local message; it was never serialized.
        """
        if self._local:
            raise TypeError("a local ActorMessage carries an object, not bytes; use .value")
        return self._data

    def downcast(self, kind: type[T]) -> T | None:
        """The carried object if it is local and an instance of ``kind``, else ``None``.

        ``None`` is an answer, not a silent drop: callers that need the message must handle it
        (the runtime raises ``MessageTypeError`` at the sender instead of ever ignoring one).
        """
        if self._local and isinstance(self._value, kind):
            return self._value
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActorMessage):
            return NotImplemented
        if self._local != other._local:
            return False
        return self._value == other._value if self._local else self._data == other._data

    __hash__ = None  # type: ignore[assignment]  # equal by content, which may be unhashable

    def __repr__(self) -> str:
        if self._local:
            return f"ActorMessage.local({self._value!r})"
        return f"ActorMessage.serialized(<{len(self._data)} bytes>)"
