"""The wire's error mapping, both directions: an exception becomes an ``ERROR`` report on the
serving side (``ActorServer``), and a report becomes our error on the asking side
(``RemoteActorRef``).

A report is a :class:`~mycelium._wire.Failure`: ``[code, type_name, message, traceback]``.

* ``STOPPED``: the actor is stopped (``ActorStopped``) or the handler was cancelled. The ref's
  ``ask`` raises ``ActorStopped`` (reason ``"remote: ..."``), and so do its later calls.
* ``REFUSED``: the message is refused (not of the actor's type: ``MessageTypeError``; or
  undecodable: ``msgspec.DecodeError``); ``type_name`` is the type the actor handles. The ref's
  ``ask`` raises ``MessageTypeError`` naming that type, with a note saying why.
* ``RAISED``: the handler raised (or its answer could not be encoded, or was too large for a
  frame: type name ``FrameTooLarge``). The ref's ``ask`` raises ``RemoteError`` with the type
  name, message and traceback (its last ``MAX_TRACEBACK`` characters).

A refused or stopped *tell* has no question to answer: its report (id 0) is counted by the ref
in ``rejected`` and described by :func:`rejection`.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Final

import msgspec

from ._wire import FAILURE_DECODER, RAISED, REFUSED, STOPPED, Failure
from .errors import ActorStopped, MessageTypeError, RemoteError

__all__ = [
    "MAX_TRACEBACK",
    "error_of",
    "outcome",
    "raised",
    "read_failure",
    "refused",
    "rejection",
    "stopped",
    "too_large",
]

MAX_TRACEBACK: Final = 4000
"""Characters of a remote traceback sent back with an error (its end, where the raise is)."""

# ------------------------------------------------------------ exception -> report (server)


def raised(exc: BaseException, prefix: str = "") -> Failure:
    """The report of a handler (or the encoding of its answer) that raised ``exc``."""
    tb = "".join(traceback.format_exception(exc))[-MAX_TRACEBACK:]
    return Failure(RAISED, type(exc).__qualname__, prefix + str(exc), tb)


def refused(exc: BaseException, expected: str) -> Failure:
    """The report of a refused message: ``type_name`` is the type the actor handles (that of
    a ``MessageTypeError``, else ``expected``, the server's message type)."""
    name = exc.expected if isinstance(exc, MessageTypeError) else expected
    return Failure(REFUSED, name, str(exc), "")


def stopped(exc: BaseException) -> Failure:
    """The report of a message the actor no longer accepts (or whose handler was cancelled)."""
    return Failure(STOPPED, type(exc).__qualname__, str(exc), "")


def outcome(reply: asyncio.Future[object], expected: str) -> Failure | None:
    """The report of an ask's failed outcome, or ``None`` when it has an answer."""
    if reply.cancelled():
        return stopped(asyncio.CancelledError("the handler was cancelled"))
    exc = reply.exception()
    if exc is None:
        return None
    if isinstance(exc, ActorStopped):
        return stopped(exc)
    if isinstance(exc, MessageTypeError):
        return refused(exc, expected)
    return raised(exc)


def too_large(size: int, limit: int) -> Failure:
    """The report sent instead of an answer of ``size`` bytes, above the frame limit."""
    return Failure(
        RAISED,
        "FrameTooLarge",
        f"the answer is {size} bytes encoded, above max_frame_size={limit} of the server's "
        "transport, so it was not sent (the handler ran and its actor goes on): return less, "
        "or raise max_frame_size on both sides",
        "",
    )


def shortened(failure: Failure, size: int, limit: int) -> Failure:
    """``failure`` without its traceback and with its message cut to fit a frame of ``limit``
    bytes (it was ``size`` bytes encoded), saying so."""
    note = (
        f" [shortened: the report was {size} bytes, too large for a frame "
        f"(max_frame_size={limit}); the traceback is left out]"
    )
    message, type_name = failure.message, failure.type_name
    keep = max(0, min(len(message), limit - len(note) - len(type_name) - 64))
    return Failure(failure.code, type_name, message[:keep] + note, "")


# --------------------------------------------------------------- report -> error (client)


def read_failure(payload: msgspec.Raw) -> Failure:
    """The report in an ``ERROR`` envelope's payload; an unreadable one is reported as such."""
    try:
        return FAILURE_DECODER.decode(payload)
    except msgspec.DecodeError as exc:
        return Failure(RAISED, "DecodeError", f"unreadable error report: {exc}")


def error_of(failure: Failure, actor: str, msg: object) -> Exception:
    """What the remote ref ``actor`` raises from ``ask(msg)`` for ``failure``."""
    if failure.code == STOPPED:
        return ActorStopped(actor, msg, reason=f"remote: {failure.message}")
    if failure.code == REFUSED:
        error = MessageTypeError(actor, f"{failure.type_name} (remote)", msg)
        error.add_note(f"the remote side refused it: {failure.message}")
        return error
    return RemoteError(actor, failure.type_name, failure.message, failure.traceback)


def rejection(failure: Failure) -> str:
    """How a refused tell is described (``last_rejection`` and the log)."""
    if failure.code == REFUSED:
        return f"refused (the remote actor handles {failure.type_name}): {failure.message}"
    return f"{failure.type_name}: {failure.message}"
