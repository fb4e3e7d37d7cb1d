"""``Node``: an actor's place in the fault-tolerance machinery.

Everything fault tolerance adds to an actor lives here, one object per actor, created only
when the actor uses one of the features (a supervision other than ``stop``, a parent or
children, a watch, a timer) or when it fails (to remember why): its supervision and factory,
its restart history, its parent and children, who watches it and whom it watches, and its
timers. The lifecycle in ``local_ref.py`` calls it at four points:

* ``failed`` when a handler raised: dead-letter the failing message, then let the supervision
  decide (``resume``: go on; ``restart``: a control turn replaces the instance; ``stop``, or
  over the restart limit: the actor stops for good, as before);
* ``stop_requested`` when a stop begins: its timers are cancelled and a restart in progress
  is abandoned (stopping is final);
* ``before_on_stop`` when its mailbox has drained: its children stop, newest first;
* ``stopped`` once it has stopped for good: its watchers are told, its parent forgets it, and
  a failure over the restart limit escalates to the parent.

A restart runs as a *control turn* of the actor (``_signals.Control``): posted ahead of the
queued messages, it holds the actor (nothing else is handled meanwhile, the mailbox keeps
accepting up to its capacity), cancels its timers, drops its watches, stops its children
newest first, runs the old instance's ``on_stop``, waits out the backoff, and starts a new
instance from the factory behind the same ref, id, name and mailbox.
"""

# pyright: reportPrivateUsage=false
# (a friend of Actor and the Dispatcher: sets an actor's ref slot, settles a failed actor)

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Final, final

from ._message_type import message_check_for
from ._signals import Control
from .actor import Actor, handle_is_async
from .local_ref import RUNNING, STOPPING
from .supervision import RestartHistory, Supervision
from .timers import Timers
from .watch import notify

if TYPE_CHECKING:
    from .local_ref import LocalActorRef
    from .supervisor import Hold, SupervisorLink
    from .watch import Notice

__all__ = ["HOLLOW", "Node", "child_name", "instance_from"]

log = logging.getLogger("mycelium")

Factory = Callable[[], Actor[Any]]


def instance_from(factory: Factory) -> Actor[Any]:
    """Call ``factory`` and check that it gave a fresh actor that can be run.

    Raises:
        TypeError: it did not return an ``Actor``, or its ``handle`` is not ``async``.
        ValueError: it returned an actor that is already spawned.
    """
    actor = factory()
    if not isinstance(actor, Actor):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"the factory {_name_of(factory)} returned {type(actor).__name__}, not an Actor"
        )
    if not handle_is_async(actor):
        raise TypeError(f"{type(actor).__qualname__}.handle must be an `async def`")
    if actor._mycelium_ref is not None:
        raise ValueError(
            f"the factory {_name_of(factory)} returned a {type(actor).__qualname__} that is "
            "already spawned; a factory must build a new instance each time"
        )
    message_check_for(type(actor))  # raises TypeError for an uncheckable message type
    return actor


def _name_of(factory: object) -> str:
    return getattr(factory, "__qualname__", None) or repr(factory)


def child_name(parent: LocalActorRef[Any], name: str | None) -> str | None:
    """The name a child called ``name`` gets in ``lookup``: ``"parent/name"``."""
    if name is None:
        return None
    return f"{parent.name or parent.label}/{name}"


@final
class _Hollow(Actor[object]):
    """What a restarting actor's ref holds between two instances: nothing runs it."""

    async def handle(self, msg: object, /) -> None:
        raise RuntimeError("this actor is restarting; no instance can handle messages now")


HOLLOW: Final = _Hollow()
"""The placeholder a ref holds while its actor is between two instances."""


@final
class Node:
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
        self.factory: Factory | None = None
        self.history: RestartHistory | None = None
        self.parent: LocalActorRef[Any] | None = None
        self.children: list[LocalActorRef[Any]] = []
        # Actors watching this one (insertion order), and those it watches, each with the
        # notice already queued for it (None while the watched actor lives).
        self.watchers: dict[LocalActorRef[Any], None] = {}
        self.watching: dict[LocalActorRef[Any], Notice | None] = {}
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
        self.link: SupervisorLink | None = None
        self.hold: Hold | None = None
        # The exception it is about to fail with for being over a restart limit (a
        # Supervisor's): if that failure stops it, its parent fails too.
        self.over_limit: BaseException | None = None
        # Invariant: how many of the runtime's own items (signals) its mailbox holds.
        self.signals = 0

    # ------------------------------------------------------------------------- failures

    def failed(self, cell: LocalActorRef[Any], exc: BaseException, *, forced: bool) -> bool:
        """A handler of ``cell`` raised ``exc`` (its message is a dead letter already): decide.
        True if the supervision took over (resumed or restarting); False if the actor must
        stop for good (the caller then crashes it as before). ``forced``: not a failure the
        supervision may decide on (a cancellation from outside)."""
        over_limit = self.over_limit is exc
        self.over_limit = None
        kind = self.supervision.kind
        # A stop in progress is final: no restart; but a resumed actor goes on draining.
        draining = cell.state == STOPPING and kind == "resume" and self.link is None
        if (
            forced
            or self.final
            or not isinstance(exc, Exception)
            or (cell.state != RUNNING and not draining)
        ):
            self.escalate = self.escalate or over_limit
            self._stopped_by(exc)
            return False
        if self.link is not None:  # a Supervisor's child: its supervisor decides
            if self.link.child_failed(cell, exc):
                return True
            self._stopped_by(exc)
            return False
        if kind == "resume":
            log.error(
                "actor %s failed handling a message; resumed with its next message",
                cell.label,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
            cell.dispatcher.settle(cell)
            return True
        if kind == "restart":
            delay = self._next_restart(cell)
            if delay is None:
                self._give_up(cell, exc)
                return False
            log.error(
                "actor %s failed handling a message; restarting it%s",
                cell.label,
                f" in {delay:.3g} s" if delay else "",
                exc_info=(type(exc), exc, exc.__traceback__),
            )
            cell.post_signal(Control(cell, partial(self._restart, cell, delay)), front=True)
            cell.dispatcher.settle(cell)
            return True
        self.escalate = over_limit
        self._stopped_by(exc)
        return False

    def _stopped_by(self, exc: BaseException) -> None:
        if self.reason is None:
            self.reason = exc

    def _next_restart(self, cell: LocalActorRef[Any]) -> float | None:
        history = self.history
        if history is None:
            history = self.history = self.supervision.history()
        return history.failure(cell.runtime.loop.time())

    def _give_up(self, cell: LocalActorRef[Any], exc: BaseException) -> None:
        supervision = self.supervision
        log.error(
            "actor %s failed more than %d times within %g s; it is stopped for good%s",
            cell.label,
            supervision.max_restarts,
            supervision.within,
            " and its parent fails" if self.parent is not None else "",
        )
        self.escalate = True
        self.final = True
        self._stopped_by(exc)

    def escalated(self, cell: LocalActorRef[Any], exc: BaseException) -> None:
        """A child of ``cell`` stopped over its restart limit: ``cell`` fails with ``exc`` at
        its next message boundary, as if its own handler had raised it."""
        if cell.state != RUNNING:
            return

        async def fail() -> None:
            raise exc

        cell.post_signal(Control(cell, fail, supervised=True), front=True)

    # ------------------------------------------------------------------------- restarts

    async def _restart(self, cell: LocalActorRef[Any], delay: float) -> None:
        """The control turn of a restart (see the module docstring)."""
        old = cell.actor
        cell.actor = HOLLOW
        await self.teardown(cell, old)
        while True:
            if not await self.pause(cell, delay):
                cell.abandon_queue("the actor was stopped while restarting")
                return
            try:
                await self.start_instance(cell)
            except Exception as exc:
                next_delay = self._next_restart(cell)
                if next_delay is None:
                    self._give_up(cell, exc)
                    raise
                log.error(
                    "on_start of actor %s raised during a restart; restarting it again%s",
                    cell.label,
                    f" in {next_delay:.3g} s" if next_delay else "",
                    exc_info=(type(exc), exc, exc.__traceback__),
                )
                delay = next_delay
            else:
                return

    async def teardown(self, cell: LocalActorRef[Any], old: Actor[Any]) -> None:
        """End instance ``old`` of ``cell``: cancel its timers, drop its watches, stop its
        children newest first, then run its ``on_stop`` (an exception there is logged)."""
        if self.timers is not None:
            self.timers.cancel_all()
        self.unwatch_all(cell)
        await self.stop_children(cell)
        try:
            await old.on_stop()
        except Exception:
            log.exception("on_stop of actor %s raised", cell.label)

    async def teardown_unstarted(self, cell: LocalActorRef[Any]) -> None:
        """``on_start`` of ``cell`` raised at spawn: undo what it began (timers, watches,
        children); ``on_stop`` does not run."""
        if self.timers is not None:
            self.timers.cancel_all()
        self.unwatch_all(cell)
        await self.stop_children(cell)

    async def start_instance(self, cell: LocalActorRef[Any]) -> None:
        """Build a new instance of ``cell`` from its factory and run its ``on_start``; it
        handles the queued messages from then on. Raises what the factory or on_start raised
        (``cell`` then holds no instance)."""
        factory = self.factory
        if factory is None:  # pragma: no cover - spawn refuses restart without a factory
            raise RuntimeError(f"actor {cell.label} has no factory to restart from")
        new = instance_from(factory)
        new._mycelium_ref = cell
        try:
            await new.on_start()
        except BaseException:
            new._mycelium_ref = None
            raise
        cell.replace_actor(new)

    async def pause(self, cell: LocalActorRef[Any], delay: float) -> bool:
        """Wait ``delay`` seconds unless a stop begins; True if the actor is still running."""
        if cell.state != RUNNING:
            return False
        if delay > 0:
            wakeup = self.wakeup = cell.runtime.loop.create_future()
            try:
                await asyncio.wait((wakeup,), timeout=delay)
            finally:
                self.wakeup = None
        return cell.state == RUNNING

    def timers_for(self, cell: LocalActorRef[Any]) -> Timers:
        """The ``Timers`` of ``cell`` (whose node this is), created on first use."""
        timers = self.timers
        if timers is None:
            timers = self.timers = Timers(cell)
        return timers

    # ------------------------------------------------------------------------- the tree

    def adopt(self, parent: LocalActorRef[Any], child: LocalActorRef[Any]) -> None:
        """Record ``child`` as the newest child of ``parent`` (whose node this is)."""
        child.ensure_node().parent = parent
        self.children.append(child)

    async def stop_children(self, cell: LocalActorRef[Any]) -> None:
        """Stop the children of ``cell``, newest first, each one gracefully and for good."""
        system = cell.system
        children = self.children
        while children:
            child = children[-1]
            await system.stop(child)
            if children and children[-1] is child:  # stopped() has not forgotten it yet
                children.pop()

    # ------------------------------------------------------------------------- watches

    def unwatch_all(self, cell: LocalActorRef[Any]) -> None:
        """Drop every watch ``cell`` has (notices already queued are not delivered)."""
        watching, self.watching = self.watching, {}
        for target in watching:
            node = target.node
            if node is not None:
                node.watchers.pop(cell, None)

    # ------------------------------------------------------------------------- lifecycle

    def stop_requested(self, cell: LocalActorRef[Any]) -> None:
        """A stop of ``cell`` began: cancel its timers, cut a restart's backoff short."""
        if self.timers is not None:
            self.timers.cancel_all()
        wakeup = self.wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)
        if self.link is not None:
            self.link.child_stopping(cell)

    async def before_on_stop(self, cell: LocalActorRef[Any]) -> None:
        """The mailbox of ``cell`` has drained and ``on_stop`` is next: children stop first."""
        if self.children:
            await self.stop_children(cell)

    def stopped(self, cell: LocalActorRef[Any]) -> None:
        """``cell`` has stopped for good: tell its watchers and its parent."""
        if self.timers is not None:
            self.timers.cancel_all()
        self.unwatch_all(cell)
        watchers, self.watchers = self.watchers, {}
        for watcher in watchers:
            notify(watcher, cell, self.reason)
        parent = self.parent
        if parent is not None:
            pnode = parent.node
            if pnode is not None:
                if cell in pnode.children:
                    pnode.children.remove(cell)
                if self.escalate and self.reason is not None:
                    pnode.escalated(parent, self.reason)
