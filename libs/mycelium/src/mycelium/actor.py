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
from collections.abc import Callable
from typing import Any, Generic, Self, final, overload

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # TypeVar defaults (PEP 696) at runtime, so that Actor[M] stays valid
    from typing_extensions import TypeVar

from ._behaviour import Behaviour
from .actor_ref import ActorRef
from .local_ref import LocalActorRef
from .mailbox import Overflow
from .supervision import Supervision
from .system import DEFAULT_CAPACITY, ActorSystem
from .timers import Timers
from .watch import unwatch, watch

__all__ = ["Actor"]

M = TypeVar("M", contravariant=True)
R = TypeVar("R", covariant=True, default=Any)
N = TypeVar("N")
S = TypeVar("S", default=Any)
T = TypeVar("T")


@final
class _RuntimeName(Generic[T]):
    """An attribute the runtime provides on every actor (``ref``, ``system``, ``children``,
    ``timers``) that a subclass may still use for its own value.

    Reading it gives the runtime's value, unless the instance assigned its own (say
    ``self.system = system`` in ``__init__``): then it gives that one, for that instance only.
    The runtime itself never reads these names on an actor, so its own bookkeeping is not
    affected. A class with ``__slots__`` (no instance dict) cannot keep a value of its own:
    assigning raises an ``AttributeError`` that says so.
    """

    def __init__(self, get: Callable[[Actor[Any]], T]) -> None:
        self._get = get
        self._name = get.__name__
        self.__doc__ = get.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, actor: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, actor: Actor[Any], owner: type | None = None) -> T: ...
    def __get__(self, actor: Actor[Any] | None, owner: type | None = None) -> T | Self:
        if actor is None:
            return self
        own = getattr(actor, "__dict__", None)
        if own is not None and self._name in own:
            value: T = own[self._name]
            return value
        return self._get(actor)

    def __set__(self, actor: Actor[Any], value: Any) -> None:
        own: dict[str, Any] | None = getattr(actor, "__dict__", None)
        if own is None:
            raise AttributeError(
                f"{type(actor).__qualname__}.{self._name} is provided by the runtime "
                f"(the actor's {self._name}) and this class has __slots__, so it cannot keep a "
                f"value of its own under that name: use another name, e.g. "
                f"self._{self._name}"
            )
        own[self._name] = value

    def __delete__(self, actor: Actor[Any]) -> None:
        own: dict[str, Any] = getattr(actor, "__dict__", {})
        own.pop(self._name, None)


class Actor(Behaviour[M, R]):
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

    The names the runtime puts on an actor are ``ref``, ``system``, ``spawn``, ``children``,
    ``watch``, ``unwatch``, ``timers`` and ``on_terminated``. A subclass may still assign one
    of them in ``__init__`` (``self.system = system``): it then reads back its own value
    (the methods are plain methods it overrides; the others see ``_RuntimeName``).

    From ``on_start`` on, ``self.ref`` is the actor's own ref and ``self.system`` its system;
    ``await self.spawn(...)`` makes a child (stopped before this actor's ``on_stop``, newest
    first), ``self.children`` lists them, and ``self.watch(ref)`` has ``on_terminated`` called
    when ``ref`` stops for good.
    """

    # The slot holding its ref, and the hooks (handle, on_start, on_stop, on_terminated),
    # are Behaviour's: what the runtime's lower layers know of an actor.
    __slots__ = ()

    @_RuntimeName
    def ref(self) -> ActorRef[Any]:
        """This actor's own ref (available from ``on_start`` on)."""
        return self._spawned()

    @_RuntimeName
    def system(self) -> ActorSystem:
        """The system running this actor (available from ``on_start`` on)."""
        return _system_of(self._spawned())

    def _spawned(self) -> LocalActorRef[Any]:
        ref = self._mycelium_ref
        if not isinstance(ref, LocalActorRef):  # None until spawned
            raise RuntimeError(
                f"{type(self).__qualname__} is not spawned: ref and system are set by "
                "ActorSystem.spawn, before on_start"
            )
        return ref

    async def spawn(
        self,
        actor_or_factory: Actor[N, S] | Callable[[], Actor[N, S]],
        *,
        name: str | None = None,
        capacity: int = DEFAULT_CAPACITY,
        overflow: Overflow = "block",
        supervision: Supervision | None = None,
    ) -> ActorRef[N, S]:
        """Spawn a child of this actor; same arguments as ``ActorSystem.spawn``.

        A child named ``"x"`` of an actor named ``"p"`` is ``"p/x"`` in ``lookup`` (of an
        unnamed actor, ``"Label#id/x"``). Children stop before their parent's ``on_stop``,
        newest first, and when their parent restarts; a child over its restart limit makes
        its parent fail with its last exception.
        """
        cell = self._spawned()
        return await _system_of(cell).spawn_child(
            cell,
            actor_or_factory,
            name=name,
            capacity=capacity,
            overflow=overflow,
            supervision=supervision,
        )

    @_RuntimeName
    def children(self) -> list[ActorRef[Any]]:
        """The refs of this actor's live children, oldest first."""
        node = self._spawned().node
        return [] if node is None else list(node.children)

    @_RuntimeName
    def timers(self) -> Timers:
        """This actor's timers: ``send_after``, ``send_every``, ``cancel``, ``cancel_all``
        (see ``mycelium.timers``); cancelled when it stops or restarts."""
        cell = self._spawned()
        node = cell.ensure_node()
        timers = node.timers
        if timers is None:
            timers = node.timers = Timers(cell)
        return timers

    def watch(self, ref: ActorRef[Any]) -> None:
        """Have ``on_terminated`` called once ``ref`` has stopped for good (at once if it
        already has); one notice however many calls. See ``mycelium.watch``."""
        cell = self._spawned()
        watch(cell, _system_of(cell).local_cell(ref, "watch"))

    def unwatch(self, ref: ActorRef[Any]) -> None:
        """Stop watching ``ref``; a notice already queued is not delivered either."""
        cell = self._spawned()
        unwatch(cell, _system_of(cell).local_cell(ref, "unwatch"))


def _system_of(cell: LocalActorRef[Any]) -> ActorSystem:
    """The system running ``cell`` (the runtime's own read: never a subclass's ``system``)."""
    system = cell.system
    assert isinstance(system, ActorSystem)  # the only kind that spawns actors
    return system
