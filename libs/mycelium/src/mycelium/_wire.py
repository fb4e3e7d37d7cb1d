"""What ``RemoteActorRef`` and ``ActorServer`` put in transport frames, and how they move them.

Wire envelope (version 1), one per frame, a msgpack array ``[version, kind, id, payload]``:

* ``TELL`` (1): ``payload`` is the message; ``id`` is 0. No answer, unless it is refused.
* ``ASK`` (2): ``payload`` is the message; ``id`` (>= 1) names the question.
* ``REPLY`` (3): ``payload`` is what the handler returned for question ``id``.
* ``ERROR`` (4): ``payload`` is ``[code, type_name, message, traceback]``: the handler raised
  (code ``RAISED``), the message was refused (``REFUSED``: undecodable, or not of the type the
  receiver handles; ``type_name`` is then that type) or the actor is stopped (``STOPPED``).
  ``id`` 0 reports a refused ``TELL``, which has no question to answer.

Readers ignore extra trailing array items, so a later version can add fields; a reader refuses
an envelope whose version it does not know, and says so.
"""

from __future__ import annotations

from typing import Any, Final, Generic, TypeVar, cast

import msgspec

from ._message_type import MessageCheck, _describe, _runtime_classes  # pyright: ignore

__all__ = [
    "ASK",
    "ENVELOPE_DECODER",
    "ENVELOPE_VERSION",
    "ERROR",
    "FAILURE_DECODER",
    "RAISED",
    "REFUSED",
    "REPLY",
    "STOPPED",
    "TELL",
    "Envelope",
    "Failure",
    "decoder_for",
    "describe_type",
    "message_check",
    "typed_envelope_decoder",
]

T = TypeVar("T")

ENVELOPE_VERSION: Final = 1

TELL: Final = 1
ASK: Final = 2
REPLY: Final = 3
ERROR: Final = 4

RAISED: Final = 1
REFUSED: Final = 2
STOPPED: Final = 3


class Envelope(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One frame's content, payload left undecoded. Written as a plain tuple (same array)."""

    version: int
    kind: int
    id: int
    payload: msgspec.Raw


class _TypedEnvelope(msgspec.Struct, Generic[T], array_like=True, frozen=True, gc=False):
    """One frame's content with its payload decoded as ``T``, in one pass (the server's path)."""

    version: int
    kind: int
    id: int
    payload: T


class Failure(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """The payload of an ``ERROR`` envelope."""

    code: int
    type_name: str
    message: str
    traceback: str = ""


ENVELOPE_DECODER: Final = msgspec.msgpack.Decoder(Envelope)
FAILURE_DECODER: Final = msgspec.msgpack.Decoder(Failure)


def message_check(message_type: object, owner: str) -> MessageCheck:
    """The sender's check of messages against ``message_type`` (as for a local actor).

    Raises:
        TypeError: ``message_type`` cannot be checked at runtime.
    """
    try:
        classes = _runtime_classes(message_type, object)
    except TypeError as exc:
        raise TypeError(
            f"{owner}: message_type {message_type!r} cannot be checked at runtime; give a class "
            "or a union of classes (e.g. a union of tagged msgspec Structs)"
        ) from exc
    return MessageCheck(classes, _describe(message_type))


def decoder_for(message_type: object, owner: str) -> msgspec.msgpack.Decoder[Any]:
    """A msgpack decoder of ``message_type``.

    Raises:
        TypeError: msgspec cannot decode ``message_type``.
    """
    try:
        return msgspec.msgpack.Decoder(message_type)
    except TypeError as exc:
        raise TypeError(
            f"{owner}: msgspec cannot decode message_type {message_type!r}: {exc}"
        ) from exc


def describe_type(message_type: object) -> str:
    """``message_type`` as errors name it: ``Add``, ``Add | Total``."""
    return _describe(message_type)


def typed_envelope_decoder(message_type: object) -> msgspec.msgpack.Decoder[Any]:
    """A decoder of whole envelopes whose payload is a ``message_type``."""
    generic = cast("Any", _TypedEnvelope)
    return msgspec.msgpack.Decoder(generic[message_type])
