"""The lifecycle of an actor: how each way it can end is carried out, one copy of each cleanup.

States (``LocalActorRef.state``): RUNNING -> STOPPING (graceful: the mailbox is closed and
drains) -> FINISHING (``on_stop`` runs) -> STOPPED. A handler crash or a forced stop goes from
RUNNING or STOPPING straight to FINISHING, abandoning the queue to the dead letters. ``on_stop``
runs exactly once, never while a handler of the actor is still running (after a forced stop,
once the cancelled handler has ended). An actor whose ``on_start`` raised never ran: it goes
straight to STOPPED, without ``on_stop``.

The ways an actor ends, each a function here:

* ``begin_stop``: a graceful stop (``system.stop``, shutdown); the dispatcher calls
  ``finish_stop`` once the mailbox has drained.
* ``crash``: its handler raised (its supervision may take over first, see ``_fault_tolerance.py``).
* ``abandon``: a forced stop at a deadline.
* ``start_failed``: its ``on_start`` raised at spawn.

Each of them ends in ``_finished`` (unregister, wake whoever waits for the stop), and each
dead-letters what the actor still holds with ``_drop_mail``.

Accounting: every message a call accepted is handled (counted in ``handled``) or recorded once in
the system's dead letters: the message whose handler raised, with a reason naming the
exception; the queue left by a crash; at a forced stop, the message in progress and the queue,
at once (the cancelled handler's task, whatever it does next, handles nothing more).

Loop-affine: call from the loop's thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final, final

from ._behaviour import Behaviour
from ._fault_tolerance import before_on_stop, failed, stop_requested, teardown_unstarted
from ._fault_tolerance import stopped as node_stopped
from ._signals import NO_MESSAGE, letter_of
from .errors import ActorStopped
from .local_ref import FINISHING, RUNNING, STOPPED, STOPPING, LocalActorRef

__all__ = [
    "FINISHING",
    "RELEASED",
    "RUNNING",
    "STOPPED",
    "STOPPING",
    "abandon",
    "begin_stop",
    "crash",
    "failure_reason",
    "finish_stop",
    "handler_ended",
    "start_failed",
    "when_stopped",
]

log = logging.getLogger("mycelium")

Cell = LocalActorRef[Any]


def begin_stop(cell: Cell) -> None:
    """Close the mailbox and let it drain; the dispatcher finishes the stop when empty (at
    once if the actor is idle)."""
    if cell.state != RUNNING:
        return
    cell.state = STOPPING
    cell.close()
    cell.refuse_waiters("the actor is stopping")
    if cell.node is not None:
        stop_requested(cell)
    if not cell.scheduled:
        cell.scheduled = True
        finish_stop(cell)


def crash(cell: Cell, exc: BaseException, msg: object, *, from_outside: bool = False) -> None:
    """Stop at once after the handler of ``msg`` failed with ``exc``: record ``msg`` as a
    dead letter (with ``exc``), log the failure, dead-letter the mailbox, run ``on_stop``.

    ``from_outside``: ``exc`` is the cancellation of the suspended handler's task by someone
    else (typically the event loop ending while the system was not shut down): said in one
    warning line, not as a crash.

    The actor's supervision may take over after the dead letter is recorded (resume it, or
    restart it): see ``_fault_tolerance.py``.
    """
    runtime = cell.runtime
    label = cell.label
    letter = letter_of(msg)
    if letter is NO_MESSAGE:  # a control turn of the runtime's own: nothing was sent
        pass
    elif from_outside:
        runtime.dead_letters.record(
            label, letter, "handler cancelled from outside while suspended", exc
        )
    else:
        runtime.dead_letters.record(label, letter, failure_reason(exc), exc)
    rest = "its handler was cancelled from outside" if from_outside else "actor crashed"
    if failed(cell, exc, forced=from_outside):
        return
    if cell.state >= FINISHING:
        return
    if from_outside:
        system = runtime.system
        if system.shut_down:
            log.warning(
                "actor %s: its handler was cancelled while suspended, from outside the "
                "system, during its shutdown; the actor is stopped",
                label,
            )
        else:
            log.warning(
                "actor %s: its handler was cancelled while suspended (the event loop ended, "
                "or its task was cancelled) and system %r was not shut down; the actor is "
                "stopped. Call `await system.shutdown()` (or use `async with`) before the "
                "loop ends.",
                label,
                system.name,
            )
    else:
        log.error(
            "actor %s crashed handling a message; it is stopped",
            label,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
    _drop_mail(cell, rest)
    cell.scheduled = True
    finish_stop(cell)


def abandon(cell: Cell) -> None:
    """Forced stop (a deadline passed): everything the actor holds becomes a dead letter now.

    The message of a suspended handler is counted and its asker gets ``ActorStopped``; the
    handler is cancelled (``Scheduler.give_up``) and, whatever it does next, handles nothing
    more: ``on_stop`` runs once it has ended. The queue is dead-lettered, waiting senders are
    refused.
    """
    if cell.state >= FINISHING:
        return  # on_stop is running (or done): there is nothing left to count
    log.warning("actor %s did not stop in time and was cancelled", cell.label)
    cell.close()
    cell.scheduled = True
    parked = cell.dispatcher.give_up(cell)
    if parked is not None:
        label = cell.label
        reason = "handler cancelled: the actor did not stop in time"
        letter = letter_of(parked.msg)
        if letter is not NO_MESSAGE:
            cell.runtime.dead_letters.record(label, letter, reason)
        reply = parked.reply
        if reply is not None and not reply.done():
            reply.set_exception(ActorStopped(label, parked.msg, reason=reason))
    _drop_mail(cell, "the actor did not stop in time")
    if parked is None:
        finish_stop(cell)
        return
    cell.state = FINISHING  # on_stop runs when the handler has ended: handler_ended()


def handler_ended(cell: Cell) -> None:
    """The task of a handler given up on by ``abandon`` has ended: run ``on_stop`` now."""
    if cell.state == FINISHING:
        cell.runtime.run_detached(_on_stop(cell), cell.label)


def finish_stop(cell: Cell) -> None:
    """Enter FINISHING: run ``on_stop`` once, then STOPPED: unregister, wake the waiters."""
    if cell.state >= FINISHING:
        return
    cell.state = FINISHING
    cell.close()
    cell.runtime.run_detached(_on_stop(cell), cell.label)


async def start_failed(cell: Cell) -> None:
    """``on_start`` of ``cell`` raised at spawn: it never ran. What others sent it meanwhile
    (it was named, so reachable) becomes dead letters, its asks and waiting senders fail, what
    ``on_start`` began (children, timers, watches) is undone, and ``stop()`` callers are
    released (``when_stopped``). ``on_stop`` does not run."""
    _drop_mail(cell, "on_start raised")
    if cell.node is not None:
        await teardown_unstarted(cell)
    _finished(cell)


def when_stopped(cell: Cell) -> asyncio.Future[None]:
    """A future resolved once ``cell`` has STOPPED and ``on_stop`` has returned."""
    fut: asyncio.Future[None] = cell.runtime.loop.create_future()
    if cell.state == STOPPED:
        fut.set_result(None)
    else:
        if cell.watchers is None:
            cell.watchers = []
        cell.watchers.append(fut)
    return fut


async def _on_stop(cell: Cell) -> None:
    node = cell.node
    try:
        if node is not None:
            await before_on_stop(cell)  # its children stop first, newest first
        await cell.actor.on_stop()
    except Exception:
        log.exception("on_stop of actor %s raised", cell.label)
    finally:
        _finished(cell)
        if node is not None:
            node_stopped(cell)


def _drop_mail(cell: Cell, reason: str) -> None:
    """Close the mailbox, dead-letter what it holds and refuse the waiting senders."""
    cell.close()
    cell.abandon_queue(reason)
    cell.refuse_waiters(reason)


def _finished(cell: Cell) -> None:
    """STOPPED for good: let go of the actor object (refs may outlive it), leave the system's
    registry, and resolve every ``stopped`` future."""
    cell.state = STOPPED
    cell.actor = RELEASED
    cell.runtime.forget(cell)
    watchers, cell.watchers = cell.watchers, None
    for watcher in watchers or ():
        if not watcher.done():
            watcher.set_result(None)


_REASON_LIMIT: Final = 200
"""Characters of an exception's message kept in a dead letter's reason (``error`` has it all)."""


def failure_reason(exc: BaseException) -> str:
    """A dead letter's reason for a handler that raised ``exc``: its type and message."""
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not break the accounting
        text = "<unprintable message>"
    if len(text) > _REASON_LIMIT:
        text = text[: _REASON_LIMIT - 3] + "..."
    name = type(exc).__name__
    return f"handler raised {name}: {text}" if text else f"handler raised {name}"


@final
class _Released(Behaviour[object]):
    """What a stopped actor's ref holds instead of the actor: nothing runs it any more."""

    async def handle(self, msg: object, /) -> None:
        raise RuntimeError("this actor has stopped; its handler cannot run")


RELEASED: Final = _Released()
"""The placeholder a stopped actor's ref holds (it keeps no actor object alive)."""
