"""In-place upgrade: a running actor gets new behaviour behind the same ref and mailbox.

``await system.upgrade(ref, factory, migrate=None)`` (this module's ``upgrade``) swaps the
instance at the actor's next message boundary, ahead of its queued messages: the handler in
progress finishes, then the new instance takes over and handles the queue. No message is lost
or handled twice; senders notice nothing (the mailbox keeps accepting meanwhile).

* With ``migrate(old) -> new`` (a function or a coroutine function) the state moves: neither
  ``on_stop`` nor ``on_start`` runs. With the factory alone the old instance's ``on_stop`` runs,
  then the new one's ``on_start``, as in a restart.
* Timers, children and watches are kept. The new factory is the one later restarts use.
* An exception in ``migrate`` or in the factory leaves the old instance running and is raised
  to the caller. An exception in the new instance's ``on_start`` is raised to the caller and is
  a failure of the actor (its supervision decides; a restart uses the factory it had before).
* ``upgrade`` returns once the new instance is in place. Cancelling the wait does not cancel the
  upgrade. On an actor that is stopping or stopped it raises ``ActorStopped``.
"""

# pyright: reportPrivateUsage=false
# (a friend of Actor: moves an actor's ref slot from the old instance to the new one)

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ._behaviour import Behaviour, handle_is_async
from ._fault_tolerance import HOLLOW, instance_from
from ._message_type import message_check_for
from ._signals import Control
from .errors import ActorStopped
from .local_ref import RUNNING

if TYPE_CHECKING:
    from .local_ref import LocalActorRef

__all__ = ["Migrate", "upgrade"]

log = logging.getLogger("mycelium")

Migrate = Callable[[Any], "Behaviour[Any] | Awaitable[Behaviour[Any]]"]
"""``migrate(old_actor) -> new_actor``, or a coroutine function returning it."""


async def upgrade(
    cell: LocalActorRef[Any],
    factory: Callable[[], Behaviour[Any]],
    migrate: Migrate | None = None,
) -> None:
    """Swap the instance of ``cell`` (see the module docstring).

    Raises:
        TypeError: ``factory`` or ``migrate`` is not callable, or they built no Actor.
        ActorStopped: the actor is stopping or stopped.
        RuntimeError: called (and awaited) from the actor's own handler.
        Exception: what ``migrate``, the factory or the new ``on_start`` raised.
    """
    given: object = factory
    kind = type(given).__name__
    if isinstance(given, Behaviour) or not callable(given):
        raise TypeError(
            f"upgrade needs a factory (a zero-argument callable returning a new Actor), got {kind}"
        )
    if migrate is not None and not callable(migrate):  # pyright: ignore[reportUnnecessaryComparison]
        raise TypeError(f"migrate must be callable or None, got {type(migrate).__name__}")
    if cell.state != RUNNING:
        raise ActorStopped(cell.label, reason="a stopped actor cannot be upgraded")
    if cell.dispatcher.runs_code_of(cell):
        raise RuntimeError(
            f"actor {cell.label} awaited its own upgrade from its handler: the swap happens "
            "after that handler returns, so it would wait forever. Call upgrade from outside "
            "the actor, or start it with asyncio.ensure_future and do not await it."
        )
    done: asyncio.Future[None] = cell.runtime.loop.create_future()

    def dropped() -> None:
        if not done.done():
            done.set_exception(ActorStopped(cell.label, reason="it stopped before the upgrade"))

    turn = partial(_swap, cell, factory, migrate, done)
    cell.post_signal(Control(cell, turn, supervised=True, dropped=dropped), front=True)
    await asyncio.shield(done)


async def _swap(
    cell: LocalActorRef[Any],
    factory: Callable[[], Behaviour[Any]],
    migrate: Migrate | None,
    done: asyncio.Future[None],
) -> None:
    """The control turn of an upgrade, at a message boundary of ``cell``."""

    def fail(exc: BaseException) -> None:
        if not done.done():
            done.set_exception(exc)

    if cell.state != RUNNING:
        fail(ActorStopped(cell.label, reason="it is stopping; stopping is final"))
        return
    old = cell.actor
    try:
        new = await _migrated(old, migrate) if migrate is not None else instance_from(factory)
    except Exception as exc:  # the old instance goes on, untouched
        fail(exc)
        return
    node = cell.ensure_node()
    if migrate is not None:
        new._mycelium_ref = cell
        cell.replace_actor(new)
    else:  # as in a restart, but timers, children and watches are kept
        cell.actor = HOLLOW
        try:
            await old.on_stop()
        except Exception:
            log.exception("on_stop of actor %s raised during an upgrade", cell.label)
        new._mycelium_ref = cell
        try:
            await new.on_start()
        except Exception as exc:
            new._mycelium_ref = None
            fail(exc)
            raise  # a failure of the actor: its supervision decides
        cell.replace_actor(new)
    node.factory = factory
    log.info("actor %s upgraded to %s", cell.label, type(new).__qualname__)
    if not done.done():
        done.set_result(None)


async def _migrated(old: Behaviour[Any], migrate: Migrate) -> Behaviour[Any]:
    made: object = migrate(old)
    if inspect.isawaitable(made):
        made = await made
    if not isinstance(made, Behaviour):
        raise TypeError(f"migrate returned {type(made).__name__}, not an Actor")
    new: Behaviour[Any] = made  # pyright: ignore[reportUnknownVariableType]
    if new._mycelium_ref is not None:
        raise ValueError(
            f"migrate returned a {type(new).__qualname__} that is already spawned (the old "
            "instance itself?); build a new instance and move the state into it"
        )
    if not handle_is_async(new):
        raise TypeError(f"{type(new).__qualname__}.handle must be an `async def`")
    message_check_for(type(new))  # raises TypeError for an uncheckable message type
    return new
