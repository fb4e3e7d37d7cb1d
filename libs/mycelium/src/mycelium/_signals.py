"""Signals: the runtime's own items in an actor's mailbox (timer messages, ``Terminated``
notices, control turns such as a restart or an upgrade).

A signal travels in the mailbox like a question (wrapped in an ``Ask`` whose reply is already
complete, so the batch loop hands it back to Python without any change to the hot path), but
it is not a message anyone sent: it bypasses the capacity and the type check, it is never
counted in ``handled``, and an abandoned mailbox drops it (``drop``) instead of counting it as
a dead letter. ``LocalActorRef.post_signal`` puts one in; the dispatcher calls ``open`` when the
actor reaches it, at a message boundary. A signal knows its actor from the start (it is made
for one mailbox), so ``open`` and ``drop`` take no argument.

This module is low in the runtime: it knows an actor's cell only as a ``SignalTarget``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, Protocol, final

__all__ = ["NO_MESSAGE", "Control", "Signal", "SignalTarget", "letter_of", "uncounted"]


class _Finality(Protocol):
    final: bool
    """Set when the actor's next failure must stop it whatever its supervision."""


class SignalTarget(Protocol):
    """What a signal's turn needs of the actor it was made for (a ``LocalActorRef``)."""

    handled: int
    """Messages handled: a signal's turn takes its count back (it is not a message)."""

    @property
    def node(self) -> _Finality | None:
        """The actor's fault-tolerance node, if it has one."""
        ...


@final
class _NoMessage:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no message>"


NO_MESSAGE: Final = _NoMessage()
"""Stands for "no message" where a failure has none to dead-letter (a control turn)."""


class Signal:
    """One of the runtime's own mailbox items; see the module docstring."""

    __slots__ = ()

    @property
    def message(self) -> object:
        """What the dead letters record if the handler this signal runs raises."""
        return NO_MESSAGE

    def open(self) -> Coroutine[Any, Any, Any] | None:
        """The actor reached this signal: the coroutine to run as its turn, or ``None``."""
        raise NotImplementedError

    def drop(self) -> None:
        """The mailbox was abandoned with this signal still in it (the actor is stopping)."""


def letter_of(msg: object) -> object:
    """What the dead letters record for the item whose handler failed: the message itself,
    a signal's user-visible message, or ``NO_MESSAGE`` for a control turn."""
    return msg.message if isinstance(msg, Signal) else msg


async def uncounted(cell: SignalTarget, awaitable: Awaitable[Any]) -> Any:
    """Await ``awaitable`` as a turn of ``cell`` that ``handled`` does not count.

    The dispatcher counts every turn that completes; a signal's turn is not a message anyone
    sent, so it takes its count back once it has completed.
    """
    result = await awaitable
    cell.handled -= 1
    return result


@final
class Control(Signal):
    """Runs ``body()`` as the actor's turn: the actor handles nothing else until it returns.

    Posted at the front of the mailbox, it runs at the next message boundary, ahead of the
    queued messages (the handler in progress, if any, finishes first). The turn always
    suspends once before ``body`` starts, so the dispatcher reads the actor afresh afterwards
    (a body may replace the instance). When ``supervised`` is False an exception from ``body``
    stops the actor for good; when True it is a failure of the actor, as if its handler had
    raised it, and its supervision decides. ``dropped`` runs if the actor stops first.
    """

    __slots__ = ("_body", "_cell", "_dropped", "_supervised")

    def __init__(
        self,
        cell: SignalTarget,
        body: Callable[[], Coroutine[Any, Any, None]],
        *,
        supervised: bool = False,
        dropped: Callable[[], None] | None = None,
    ) -> None:
        self._cell = cell
        self._body = body
        self._supervised = supervised
        self._dropped = dropped

    def open(self) -> Coroutine[Any, Any, None]:
        return self._turn()

    async def _turn(self) -> None:
        cell = self._cell
        await asyncio.sleep(0)
        try:
            await self._body()
        except Exception:
            if not self._supervised and cell.node is not None:
                cell.node.final = True
            raise
        cell.handled -= 1

    def drop(self) -> None:
        if self._dropped is not None:
            self._dropped()
