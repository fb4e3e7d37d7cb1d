"""Fault tolerance at work: failures, restarts, the tree of children, and what a stop undoes.

What fault tolerance remembers of an actor is its ``Node`` (``_node.py``: its supervision and
factory, its restart history, its parent and children, who watches it and whom it watches, its
timers); this module is what acts on it. The lifecycle (``lifecycle.py``) calls it at four
points:

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
# (a friend of Behaviour: sets an actor's ref slot)

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Final, final

from ._behaviour import Behaviour, handle_is_async
from ._message_type import message_check_for
from ._node import Node
from ._signals import Control
from .local_ref import RUNNING, STOPPING, LocalActorRef
from .watch import notify

__all__ = [
    "HOLLOW",
    "adopt",
    "before_on_stop",
    "child_name",
    "failed",
    "instance_from",
    "start_instance",
    "stop_children",
    "stop_requested",
    "stopped",
    "teardown",
    "teardown_unstarted",
    "unwatch_all",
]

log = logging.getLogger("mycelium")

Factory = Callable[[], Behaviour[Any]]


def instance_from(factory: Factory) -> Behaviour[Any]:
    """Call ``factory`` and check that it gave a fresh actor that can be run.

    Raises:
        TypeError: it did not return an ``Actor``, or its ``handle`` is not ``async``.
        ValueError: it returned an actor that is already spawned.
    """
    actor = factory()
    if not isinstance(actor, Behaviour):  # pyright: ignore[reportUnnecessaryIsInstance]
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
class _Hollow(Behaviour[object]):
    """What a restarting actor's ref holds between two instances: nothing runs it."""

    async def handle(self, msg: object, /) -> None:
        raise RuntimeError("this actor is restarting; no instance can handle messages now")


HOLLOW: Final = _Hollow()
"""The placeholder a ref holds while its actor is between two instances."""


# ------------------------------------------------------------------------- failures


def failed(cell: LocalActorRef[Any], exc: BaseException, *, forced: bool) -> bool:
    """A handler of ``cell`` raised ``exc`` (its message is a dead letter already): decide.
    True if the supervision took over (resumed or restarting); False if the actor must
    stop for good (the caller then crashes it as before). ``forced``: not a failure the
    supervision may decide on (a cancellation from outside)."""
    node = cell.ensure_node()
    over_limit = node.over_limit is exc
    node.over_limit = None
    kind = node.supervision.kind
    # A stop in progress is final: no restart; but a resumed actor goes on draining.
    draining = cell.state == STOPPING and kind == "resume" and node.link is None
    if (
        forced
        or node.final
        or not isinstance(exc, Exception)
        or (cell.state != RUNNING and not draining)
    ):
        node.escalate = node.escalate or over_limit
        _stopped_by(node, exc)
        return False
    if node.link is not None:  # a Supervisor's child: its supervisor decides
        if node.link.child_failed(cell, exc):
            return True
        _stopped_by(node, exc)
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
        delay = _next_restart(cell)
        if delay is None:
            _give_up(cell, exc)
            return False
        log.error(
            "actor %s failed handling a message; restarting it%s",
            cell.label,
            f" in {delay:.3g} s" if delay else "",
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        cell.post_signal(Control(cell, partial(_restart, cell, delay)), front=True)
        cell.dispatcher.settle(cell)
        return True
    node.escalate = over_limit
    _stopped_by(node, exc)
    return False


def _stopped_by(node: Node[Any], exc: BaseException) -> None:
    if node.reason is None:
        node.reason = exc


def _next_restart(cell: LocalActorRef[Any]) -> float | None:
    node = cell.ensure_node()
    history = node.history
    if history is None:
        history = node.history = node.supervision.history()
    return history.failure(cell.runtime.loop.time())


def _give_up(cell: LocalActorRef[Any], exc: BaseException) -> None:
    node = cell.ensure_node()
    supervision = node.supervision
    log.error(
        "actor %s failed more than %d times within %g s; it is stopped for good%s",
        cell.label,
        supervision.max_restarts,
        supervision.within,
        " and its parent fails" if node.parent is not None else "",
    )
    node.escalate = True
    node.final = True
    _stopped_by(node, exc)


def escalated(cell: LocalActorRef[Any], exc: BaseException) -> None:
    """A child of ``cell`` stopped over its restart limit: ``cell`` fails with ``exc`` at
    its next message boundary, as if its own handler had raised it."""
    if cell.state != RUNNING:
        return

    async def fail() -> None:
        raise exc

    cell.post_signal(Control(cell, fail, supervised=True), front=True)


# ------------------------------------------------------------------------- restarts


async def _restart(cell: LocalActorRef[Any], delay: float) -> None:
    """The control turn of a restart (see the module docstring)."""
    old = cell.actor
    cell.actor = HOLLOW
    await teardown(cell, old)
    while True:
        if not await pause(cell, delay):
            cell.abandon_queue("the actor was stopped while restarting")
            return
        try:
            await start_instance(cell)
        except Exception as exc:
            next_delay = _next_restart(cell)
            if next_delay is None:
                _give_up(cell, exc)
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


async def teardown(cell: LocalActorRef[Any], old: Behaviour[Any]) -> None:
    """End instance ``old`` of ``cell``: cancel its timers, drop its watches, stop its
    children newest first, then run its ``on_stop`` (an exception there is logged)."""
    node = cell.ensure_node()
    if node.timers is not None:
        node.timers.cancel_all()
    unwatch_all(cell)
    await stop_children(cell)
    try:
        await old.on_stop()
    except Exception:
        log.exception("on_stop of actor %s raised", cell.label)


async def teardown_unstarted(cell: LocalActorRef[Any]) -> None:
    """``on_start`` of ``cell`` raised at spawn: undo what it began (timers, watches,
    children); ``on_stop`` does not run."""
    node = cell.ensure_node()
    if node.timers is not None:
        node.timers.cancel_all()
    unwatch_all(cell)
    await stop_children(cell)


async def start_instance(cell: LocalActorRef[Any]) -> None:
    """Build a new instance of ``cell`` from its factory and run its ``on_start``; it
    handles the queued messages from then on. Raises what the factory or on_start raised
    (``cell`` then holds no instance)."""
    node = cell.ensure_node()
    factory = node.factory
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


async def pause(cell: LocalActorRef[Any], delay: float) -> bool:
    """Wait ``delay`` seconds unless a stop begins; True if the actor is still running."""
    node = cell.ensure_node()
    if cell.state != RUNNING:
        return False
    if delay > 0:
        wakeup = node.wakeup = cell.runtime.loop.create_future()
        try:
            await asyncio.wait((wakeup,), timeout=delay)
        finally:
            node.wakeup = None
    return cell.state == RUNNING


# ------------------------------------------------------------------------- the tree


def adopt(parent: LocalActorRef[Any], child: LocalActorRef[Any]) -> None:
    """Record ``child`` as the newest child of ``parent`` (whose node this is)."""
    node = parent.ensure_node()
    child.ensure_node().parent = parent
    node.children.append(child)


async def stop_children(cell: LocalActorRef[Any]) -> None:
    """Stop the children of ``cell``, newest first, each one gracefully and for good."""
    node = cell.ensure_node()
    system = cell.system
    children = node.children
    while children:
        child = children[-1]
        await system.stop(child)
        if children and children[-1] is child:  # stopped() has not forgotten it yet
            children.pop()


# ------------------------------------------------------------------------- watches


def unwatch_all(cell: LocalActorRef[Any]) -> None:
    """Drop every watch ``cell`` has (notices already queued are not delivered)."""
    node = cell.ensure_node()
    watching, node.watching = node.watching, {}
    for target in watching:
        tnode = target.node
        if tnode is not None:
            tnode.watchers.pop(cell, None)


# ------------------------------------------------------------------------- lifecycle


def stop_requested(cell: LocalActorRef[Any]) -> None:
    """A stop of ``cell`` began: cancel its timers, cut a restart's backoff short."""
    node = cell.ensure_node()
    if node.timers is not None:
        node.timers.cancel_all()
    wakeup = node.wakeup
    if wakeup is not None and not wakeup.done():
        wakeup.set_result(None)
    if node.link is not None:
        node.link.child_stopping(cell)


async def before_on_stop(cell: LocalActorRef[Any]) -> None:
    """The mailbox of ``cell`` has drained and ``on_stop`` is next: children stop first."""
    node = cell.ensure_node()
    if node.children:
        await stop_children(cell)


def stopped(cell: LocalActorRef[Any]) -> None:
    """``cell`` has stopped for good: tell its watchers and its parent."""
    node = cell.ensure_node()
    if node.timers is not None:
        node.timers.cancel_all()
    unwatch_all(cell)
    watchers, node.watchers = node.watchers, {}
    for watcher in watchers:
        notify(watcher, cell, node.reason)
    parent = node.parent
    if parent is not None:
        pnode = parent.node
        if pnode is not None:
            if cell in pnode.children:
                pnode.children.remove(cell)
            if node.escalate and node.reason is not None:
                escalated(parent, node.reason)
