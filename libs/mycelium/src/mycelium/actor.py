"""``Actor[M]``: the base class of every actor (seed task MVP-002).

An actor is an object with private state and one ``handle`` coroutine. The runtime calls
``on_start`` once before the first message, ``handle`` once per message (never two at a time,
so the state needs no locks), and ``on_stop`` once at the end, whatever ended it.

``Actor[M, R]``: ``R``, the type of ``handle``'s answers, is optional (``Actor[M]`` means
``Actor[M, Any]``); declaring it types ``ask``: ``ActorRef[M, R].ask`` returns an ``R``.

The message type ``M`` is read from the class declaration (``class Echo(Actor[str])``) and
enforced at the sender: a message that is not an ``M`` raises ``MessageTypeError`` where it is
sent, so nothing is ever dropped silently at the receiver.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # TypeVar defaults (PEP 696) at runtime, so that Actor[M] stays valid
    from typing_extensions import TypeVar

if TYPE_CHECKING:
    from .actor_ref import ActorRef
    from .local_ref import LocalActorRef
    from .system import ActorSystem

__all__ = ["Actor"]

M = TypeVar("M", contravariant=True)
R = TypeVar("R", covariant=True, default=Any)


class Actor(Generic[M, R]):
    """Base class of actors that handle messages of type ``M`` (and answer with ``R``).

    Subclass it with a concrete message type, a class or a union, and optionally the type of
    the answers (``Any`` when left out)::

        class Counter(Actor[int, int]):
            def __init__(self) -> None:
                self.total = 0

            async def handle(self, msg: int) -> int:
                self.total += msg
                return self.total      # the answer to an ``ask``: an int

    Lifecycle: ``on_start`` runs before the first message is handled (if it raises,
    ``spawn`` raises and the actor never runs); ``handle`` runs once per message, one at a time,
    in mailbox order; ``on_stop`` runs exactly once after the last message, on a graceful stop,
    at shutdown, and after a handler crash.

    Handlers run on the system's dispatcher until they first suspend (``await`` something that
    is not ready); a handler that never suspends costs no task of its own. Every asyncio API
    works from a handler's first line: ``asyncio.current_task()`` is the task the handler
    continues in if it suspends, so ``asyncio.timeout``, ``asyncio.TaskGroup`` and libraries
    that key state by task behave as in any task. Handlers that finish without suspending may
    share that task object (one that keeps or changes its task gets one of its own, which
    finishes after it returns).

    Set the class attribute ``message_type`` to override the type read from the declaration
    (useful for generic actor classes whose ``M`` is only known at runtime).

    From ``on_start`` on, ``self.ref`` is the actor's own ref and ``self.system`` its system.
    """

    # One slot, part of the actor object: spawn stores the actor's ref in it.
    __slots__ = ("_mycelium_ref",)

    message_type: ClassVar[Any] = None

    _mycelium_ref: LocalActorRef[Any] | None

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        self = super().__new__(cls)
        self._mycelium_ref = None
        return self

    @property
    def ref(self) -> ActorRef[Any]:
        """This actor's own ref (available from ``on_start`` on)."""
        return self._spawned()

    @property
    def system(self) -> ActorSystem:
        """The system running this actor (available from ``on_start`` on)."""
        return self._spawned().system

    def _spawned(self) -> LocalActorRef[Any]:
        ref = self._mycelium_ref
        if ref is None:
            raise RuntimeError(
                f"{type(self).__qualname__} is not spawned: ref and system are set by "
                "ActorSystem.spawn, before on_start"
            )
        return ref

    async def handle(self, msg: M, /) -> R:
        """Handle one message; the return value answers an ``ask`` (ignored for ``send``).

        An exception stops the actor: it is logged with the actor's id, ``on_stop`` runs, and
        the messages still in its mailbox become dead letters. Other actors keep running.
        """
        raise NotImplementedError(f"{type(self).__qualname__} must implement handle()")

    async def on_start(self) -> None:
        """Called once before the first message. Raising makes ``spawn`` raise."""

    async def on_stop(self) -> None:
        """Called once after the last message, whatever stopped the actor."""
