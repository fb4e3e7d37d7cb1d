"""``Behaviour[M, R]``: what the runtime runs of an actor, and ``Terminated``, what it tells one.

The runtime's lower layers (the send path, the dispatcher, the lifecycle, supervision) see an
actor only as this: the hooks they call (``on_start`` once, ``handle`` once per message, never
two at a time, ``on_terminated`` for a watch notice, ``on_stop`` once at the end) and the slot
where ``spawn`` keeps its ref. Users subclass ``Actor`` (``actor.py``), which adds the runtime's
services on top (``ref``, ``system``, ``spawn``, ``timers``, ``watch``); the hooks' contracts
are documented there too.
"""

from __future__ import annotations

import inspect
import sys
from types import FunctionType, MethodType
from typing import Any, ClassVar, Final, Generic, NamedTuple, Self

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # TypeVar defaults (PEP 696) at runtime, so that Behaviour[M] stays valid
    from typing_extensions import TypeVar

from .actor_ref import ActorRef

__all__ = ["Behaviour", "Terminated", "handle_is_async", "spawn_check", "starts_itself"]

M = TypeVar("M", contravariant=True)
R = TypeVar("R", covariant=True, default=Any)


class Terminated(NamedTuple):
    """An actor stopped for good.

    ``reason`` is ``None`` for a stop (``system.stop``, a parent's stop, shutdown, the actor
    stopping itself, or a stop forced at its deadline), else the exception that ended it: the
    handler's, or the last one of a restart limit that was exceeded.
    """

    ref: ActorRef[Any]
    """The actor that stopped."""
    reason: BaseException | None
    """Why: ``None`` for a graceful stop, else the exception."""


class Behaviour(Generic[M, R]):
    """The hooks the runtime calls on an actor handling ``M`` (answering ``R``); see ``Actor``.

    Invariant: ``_mycelium_ref`` is None until ``spawn`` stores the actor's ref in it, and
    again once the actor is let go (its ``on_start`` raised, or a restart replaced it).
    """

    # One slot, part of the actor object: spawn stores the actor's ref in it.
    __slots__ = ("_mycelium_ref",)

    message_type: ClassVar[Any] = None

    _mycelium_ref: ActorRef[Any] | None

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        self = super().__new__(cls)
        self._mycelium_ref = None
        return self

    async def handle(self, msg: M, /) -> R:
        """Handle one message; the return value answers an ``ask`` (ignored for ``send``).

        An exception is logged with the actor's id and the message becomes a dead letter whose
        reason names the exception; then the actor's supervision decides (``spawn(...,
        supervision=...)``, see ``mycelium.supervision``). By default the actor stops:
        ``on_stop`` runs and the messages still in its mailbox become dead letters. Other
        actors keep running.
        """
        raise NotImplementedError(f"{type(self).__qualname__} must implement handle()")

    async def on_start(self) -> None:
        """Called once before the first message. Raising makes ``spawn`` raise."""

    async def on_stop(self) -> None:
        """Called once after the last message, whatever stopped the actor."""

    async def on_terminated(self, terminated: Terminated, /) -> None:
        """Called, in order with the messages, when an actor this one watches has stopped
        for good. An exception here is a handler failure (the supervision decides)."""


_ASYNC_CODE: Final = inspect.CO_COROUTINE


def handle_is_async(actor: Behaviour[Any]) -> bool:
    """True if ``actor.handle`` is an ``async def`` (what ``inspect.iscoroutinefunction`` says).

    For the usual case, a method whose function's code is flagged a coroutine, the flag is read
    directly (no cache: a class whose ``handle`` is replaced, or an instance given its own, is
    judged on what it has now); anything else is left to ``inspect.iscoroutinefunction``.
    """
    handle = actor.handle
    if type(handle) is MethodType:
        func = handle.__func__
        if type(func) is FunctionType and func.__code__.co_flags & _ASYNC_CODE:
            return True
    return inspect.iscoroutinefunction(handle)


_NO_START: Final[object] = Behaviour[Any].on_start


def starts_itself(actor: Behaviour[Any]) -> bool:
    """False if ``actor.on_start`` is ``Behaviour``'s own, which does nothing (so spawning
    need not run it); True for any other (an override, or an instance's own attribute)."""
    on_start = actor.on_start
    return type(on_start) is not MethodType or on_start.__func__ is not _NO_START


_CHECKED_CLASSES: Final = 256
_checked: dict[type, tuple[object, object, bool]] = {}


def spawn_check(actor: Behaviour[Any]) -> bool:
    """What spawning checks of ``actor``'s methods: raise unless its ``handle`` is an
    ``async def``; return ``starts_itself(actor)``.

    The verdict is kept per class whose instances cannot carry methods of their own (no
    ``__dict__``, the default attribute lookup), with the ``handle`` and ``on_start`` the
    class had when it was checked, and reused only while the class still has those: a class
    patched later (or a base class it inherits them from) is checked again.

    Raises:
        TypeError: ``actor.handle`` is not an ``async def``.
    """
    kind = type(actor)
    seen = _checked.get(kind)
    if seen is not None and seen[0] is kind.handle and seen[1] is kind.on_start:
        return seen[2]
    if not handle_is_async(actor):
        raise TypeError(f"{kind.__qualname__}.handle must be an `async def`")
    starts = starts_itself(actor)
    if (
        kind.__dictoffset__ == 0
        and kind.__getattribute__ is object.__getattribute__
        and len(_checked) < _CHECKED_CLASSES
    ):
        _checked[kind] = (kind.handle, kind.on_start, starts)
    return starts
