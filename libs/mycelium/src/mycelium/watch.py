"""Death watch: ``Terminated``, and how a watcher learns that an actor stopped for good.

(``Terminated`` is defined in ``_behaviour.py``, beside ``on_terminated``, and re-exported here.)

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

from collections.abc import Coroutine
from typing import Any, final

from ._behaviour import Terminated
from ._signals import Signal, uncounted
from .local_ref import RUNNING, STOPPED, LocalActorRef

__all__ = ["Notice", "Terminated", "notify", "unwatch", "watch"]


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
