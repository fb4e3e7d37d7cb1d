"""Death watch: ``Terminated``, and how a watcher learns that an actor stopped for good.

From outside actors, ``await system.watch(ref)`` returns a ``Terminated`` once the actor has
stopped for good (at once if it already has). Inside an actor, ``self.watch(ref)`` has the
runtime call ``on_terminated(terminated)`` on the watcher: the notice is queued in the
watcher's mailbox like a message, so it is handled in order with the watcher's messages, one
at a time, never concurrently with a handler.

Delivery: one notice per watched actor, however many ``watch`` calls; a watch made after the
death gets its notice at once. ``unwatch`` also suppresses a notice already queued. A restart
is not a death (the ref lives on), so it sends no notice; a watcher that restarts, or stops,
drops its watches. A notice takes no room in the mailbox (it is not refused when the mailbox
is full). An exception in ``on_terminated`` is a handler failure: the watcher's supervision
decides, and the dead letters record the ``Terminated``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, final

from ._signals import Signal, uncounted
from .local_ref import RUNNING, STOPPED

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from .actor_ref import ActorRef
    from .local_ref import LocalActorRef

__all__ = ["Notice", "Terminated", "notify", "unwatch", "watch"]


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


@final
class Notice(Signal):
    """A ``Terminated`` queued for a watcher; handled only if the watch still holds."""

    __slots__ = ("cell", "terminated")

    def __init__(self, cell: LocalActorRef[Any], terminated: Terminated) -> None:
        self.cell = cell  # the watcher
        self.terminated = terminated

    @property
    def message(self) -> object:
        return self.terminated

    def open(self) -> Coroutine[Any, Any, Any] | None:
        cell = self.cell
        node = cell.node
        target: Any = self.terminated.ref
        if node is None or node.watching.get(target) is not self:
            return None  # unwatched (or the watcher restarted) since it was queued
        del node.watching[target]
        return uncounted(cell, cell.actor.on_terminated(self.terminated))


def watch(watcher: LocalActorRef[Any], target: LocalActorRef[Any]) -> None:
    """``watcher`` watches ``target``: it gets one notice when ``target`` stops for good."""
    node = watcher.ensure_node()
    if target in node.watching:
        return
    if target.state == STOPPED:
        node.watching[target] = None
        tnode = target.node
        notify(watcher, target, tnode.reason if tnode is not None else None)
        return
    node.watching[target] = None
    target.ensure_node().watchers[watcher] = None


def unwatch(watcher: LocalActorRef[Any], target: LocalActorRef[Any]) -> None:
    """``watcher`` no longer watches ``target``; a notice already queued is not delivered."""
    node = watcher.node
    if node is None or node.watching.pop(target, False) is False:
        return
    tnode = target.node
    if tnode is not None:
        tnode.watchers.pop(watcher, None)


def notify(
    watcher: LocalActorRef[Any], target: LocalActorRef[Any], reason: BaseException | None
) -> None:
    """Queue the notice that ``target`` stopped for ``watcher``, if it still watches it."""
    node = watcher.node
    if node is None or target not in node.watching or node.watching[target] is not None:
        return
    if watcher.state != RUNNING:
        del node.watching[target]
        return
    notice = Notice(watcher, Terminated(target, reason))
    node.watching[target] = notice
    watcher.post_signal(notice)
