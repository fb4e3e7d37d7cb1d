"""``Node``: what fault tolerance remembers of one actor (the record; ``_fault_tolerance.py``
acts on it).

One object per actor, created only when the actor uses one of the features (a supervision
other than ``stop``, a parent or children, a watch, a timer, a signal in its mailbox) or when
it fails (to remember why): its supervision and factory, its restart history, its parent and
children, who watches it and whom it watches, its timers, and the hold of its supervisor.

This module is low in the runtime: a ``Node`` is generic in the cell type ``C`` it links
(``LocalActorRef``), so it imports no cell; a ``Supervisor`` child's link to its supervisor is
a ``Link``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, final

from ._behaviour import Behaviour
from ._signals import Signal
from .supervision import RestartHistory, Supervision
from .timers import Timers

__all__ = ["Hold", "Link", "Node"]

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class Link(Protocol[C_contra]):
    """What a child of a ``Supervisor`` asks of it (``supervisor.SupervisorLink``)."""

    def child_failed(self, cell: C_contra, exc: Exception, /) -> bool:
        """The child's handler raised ``exc``: True if the supervisor takes over."""
        ...

    def exit(self, cell: C_contra, /) -> bool:
        """The child stops itself: True if, being permanent, it is to be restarted."""
        ...

    def child_stopping(self, cell: C_contra, /) -> None:
        """A stop of the child began: stopping is final, a hold lets go of it."""
        ...


@final
class Hold:
    """A child held at a message boundary by its supervisor (a control turn of the child).

    While held the child handles nothing, its mailbox keeps accepting, and the supervisor
    replaces its instance. ``held`` resolves once the child's turn has started (or it is gone);
    ``release`` ends the turn: the child goes on with its queue, or, if a stop began meanwhile
    (stopping is final), it stops: it drains with a live instance, dead-letters its queue if
    it has none, and fails for good with ``failure`` if its instance had failed.
    """

    __slots__ = ("failure", "held", "released")

    def __init__(self, loop: asyncio.AbstractEventLoop, failure: Exception | None) -> None:
        self.held: asyncio.Future[None] = loop.create_future()
        self.released: asyncio.Future[None] = loop.create_future()
        # The failure that made it held (its instance is dead), None for a live instance.
        self.failure = failure

    def release(self) -> None:
        if not self.released.done():
            self.released.set_result(None)

    def gone(self) -> None:
        """The child stopped before its turn came (its mailbox was abandoned)."""
        if not self.held.done():
            self.held.set_result(None)
        self.release()


@final
class Node(Generic[C]):
    """Supervision, tree, watches and timers of one actor (see the module docstring).

    Invariants: ``children`` lists the live children in spawn order, and each has this
    actor's cell as its ``parent``; ``watching`` and the ``watchers`` of the actors it names
    agree (``w`` watches ``t`` iff ``t in w.node.watching``, and, until ``t`` has stopped,
    ``w in t.node.watchers``); ``reason`` is set at most once, by the failure that stopped it.
    """

    __slots__ = (
        "children",
        "escalate",
        "factory",
        "final",
        "history",
        "hold",
        "link",
        "over_limit",
        "parent",
        "reason",
        "signals",
        "supervision",
        "timers",
        "wakeup",
        "watchers",
        "watching",
    )

    def __init__(self) -> None:
        self.supervision: Supervision = Supervision.stop()
        # The factory that builds a new instance (None: spawned as an instance).
        self.factory: Callable[[], Behaviour[Any]] | None = None
        self.history: RestartHistory | None = None
        self.parent: C | None = None
        self.children: list[C] = []
        # Actors watching this one (insertion order), and those it watches, each with the
        # notice already queued for it (None while the watched actor lives).
        self.watchers: dict[C, None] = {}
        self.watching: dict[C, Signal | None] = {}
        self.timers: Timers | None = None
        # Why it stopped for good (None: a graceful stop, or not stopped).
        self.reason: BaseException | None = None
        # Set when it stopped for good over its restart limit: the parent fails too.
        self.escalate = False
        # Set when its next failure must stop it whatever its supervision.
        self.final = False
        # Resolved to cut a restart's backoff short when a stop begins.
        self.wakeup: asyncio.Future[None] | None = None
        # The supervisor that decides for it, when it is a Supervisor's child, and the hold
        # its supervisor has on it while replacing its instance.
        self.link: Link[C] | None = None
        self.hold: Hold | None = None
        # The exception it is about to fail with for being over a restart limit (a
        # Supervisor's): if that failure stops it, its parent fails too.
        self.over_limit: BaseException | None = None
        # Invariant: how many of the runtime's own items (signals) its mailbox holds.
        self.signals = 0
