"""``ActorSystem``: spawns, names, stops and shuts down actors on one event loop (MVP-006).

Use it as an async context manager: entering binds it to the running loop, leaving shuts every
actor down gracefully::

    async with ActorSystem() as system:
        ref = await system.spawn(Counter(), name="counter")
        await ref.send(1)
        assert await ref.ask(2) == 3
"""

# pyright: reportPrivateUsage=false
# (a friend of Actor and LocalActorRef: sets an actor's ref slot, reads a cell's queue and id)

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Final, TypedDict, TypeVar, Unpack, final, overload

from ._behaviour import Behaviour, spawn_check
from ._fault_tolerance import adopt, child_name, instance_from
from ._runtime import Runtime
from .actor_ref import ActorRef, _next_id
from .dead_letters import DeadLetters
from .dispatcher import DEFAULT_THROUGHPUT, ON_BEHALF, Dispatcher, next_start_serial
from .errors import ActorStopped, SystemStopped
from .lifecycle import abandon, begin_stop, finish_stop, start_failed, when_stopped
from .local_ref import FINISHING, RUNNING, STOPPED, STOPPING, LocalActorRef
from .mailbox import MAX_CAPACITY, Overflow, check_capacity, check_overflow
from .registry import Registry
from .supervision import Supervision
from .upgrade import Migrate, upgrade
from .watch import Terminated

__all__ = ["ActorSystem"]

log = logging.getLogger("mycelium")

M = TypeVar("M")
R = TypeVar("R")

_running_loop = asyncio.get_running_loop
_next_actor_id = _next_id  # ActorId.next_value without its Python frame
_set_on_behalf = ON_BEHALF.set
_reset_on_behalf = ON_BEHALF.reset
_BLOCK: Final = "block"

DEFAULT_CAPACITY = 1000
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
DEFAULT_TRIM_INTERVAL = 5.0
FORCED_STOP_GRACE = 0.25
"""Seconds that handlers cancelled at a stop's deadline get to end (and ``on_stop`` to run)
before the stop returns without them; what they held is counted at the deadline already."""


class SpawnOptions(TypedDict, total=False):
    """The keyword arguments of ``spawn`` (for ``spawn_child``, which forwards them)."""

    name: str | None
    capacity: int
    overflow: Overflow
    supervision: Supervision | None


@final
class ActorSystem:
    """Runs actors on one event loop, through one dispatcher.

    Spawning: ``spawn`` runs the actor's ``on_start`` before its first message is handled.
    Stopping: ``stop`` is graceful: the mailbox is closed (later sends raise ``ActorStopped``),
    the messages already in it are handled, then ``on_stop`` runs. ``shutdown`` stops every
    actor, newest first (so an actor can still send to the older actors it was given while it
    drains), within one deadline after which the actors still busy are force-stopped together
    and what they still held is counted in ``dead_letters``.
    Crashes: a handler that raises stops only its own actor, by default (see ``Actor.handle``;
    ``Supervision.resume()`` and ``restart(...)`` keep it going); the message it was handling
    is a dead letter whose reason names the exception.
    Accounting: for each actor, ``ref.mailbox.handled`` plus its dead letters is exactly the
    number of messages accepted for it, once it has stopped.
    Threads: loop-affine; use the system and its refs from the loop it was started on.
    """

    __slots__ = (
        "_dispatcher",
        "_loop",
        "_registry",
        "_runtime",
        "_shut_down",
        "_shutting_down",
        "_throughput",
        "_trim_handle",
        "_trim_interval",
        "dead_letters",
        "name",
    )

    def __init__(
        self,
        name: str = "mycelium",
        *,
        throughput: int = DEFAULT_THROUGHPUT,
        dead_letter_history: int = 16,
        trim_interval: float | None = DEFAULT_TRIM_INTERVAL,
    ) -> None:
        if throughput < 1:
            raise ValueError(f"throughput must be >= 1, got {throughput}")
        if trim_interval is not None and not trim_interval > 0:
            raise ValueError(f"trim_interval must be > 0 or None, got {trim_interval}")
        # How often idle actors' mailbox buffers are released (see trim()); None: never.
        self._trim_interval = trim_interval
        self._trim_handle: asyncio.TimerHandle | None = None
        # The task doing the shutdown's work, shared by every caller (see shutdown()).
        self._shutting_down: asyncio.Task[None] | None = None
        self.name = name
        self.dead_letters = DeadLetters(dead_letter_history)
        self._throughput = throughput
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher: Dispatcher | None = None
        # What its cells use of it (see _runtime.py); built with the dispatcher.
        self._runtime: Runtime[LocalActorRef[Any]] | None = None
        # Its actors, by id and by name, and those whose on_start is running (registry.py).
        self._registry = Registry()
        self._shut_down = False

    # --------------------------------------------------------------------- context manager

    async def __aenter__(self) -> ActorSystem:
        self._bind()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Shut every actor down gracefully, whatever ended the block (see ``shutdown``)."""
        await self.shutdown()

    @property
    def shut_down(self) -> bool:
        """True once the shutdown has begun (spawns are refused from then on)."""
        return self._shut_down

    def _bind(self) -> tuple[Dispatcher, Runtime[LocalActorRef[Any]]]:
        loop = asyncio.get_running_loop()
        if self._dispatcher is None or self._runtime is None:
            self._loop = loop
            dispatcher = self._dispatcher = Dispatcher(
                loop, self._registry.starting, throughput=self._throughput
            )
            self._runtime = Runtime(
                loop,
                self,
                self.dead_letters,
                run_detached=dispatcher.run_detached,
                forget=self._registry.forget,
            )
            if self._trim_interval is not None:
                self._trim_handle = loop.call_later(self._trim_interval, self._trim_tick)
        elif loop is not self._loop:
            raise RuntimeError(f"actor system {self.name!r} is bound to another event loop")
        return self._dispatcher, self._runtime

    # ------------------------------------------------------------------------------ actors

    def spawn(
        self,
        actor_or_factory: Behaviour[M, R] | Callable[[], Behaviour[M, R]],
        *,
        name: str | None = None,
        capacity: int = DEFAULT_CAPACITY,
        overflow: Overflow = "block",
        supervision: Supervision | None = None,
    ) -> Coroutine[Any, Any, ActorRef[M, R]]:
        """Start an actor and return its ref; ``on_start`` has run when this returns.

        (Awaited, as ``async def`` would be: the arguments are checked, in order, when it is.)

        ``actor_or_factory`` is an ``Actor``, or a factory: any zero-argument callable that
        returns a new ``Actor`` (an ``Actor`` subclass itself qualifies). ``supervision``
        says what a failure of its handler does (``Supervision.stop()`` by default; see
        ``mycelium.supervision``); only an actor spawned from a factory can be restarted.
        ``overflow`` says what its full mailbox does with one more message: ``"block"``
        (wait for room; ``try_send`` raises ``MailboxFull``), ``"drop_new"``, ``"drop_oldest"``
        or ``"fail"`` (see ``mailbox.Overflow``).

        Raises:
            TypeError: ``actor_or_factory`` is neither an ``Actor`` nor a factory returning
                one, its ``handle`` is not ``async``, its message type cannot be checked at
                runtime, ``capacity`` is not an int, or ``supervision`` is not a Supervision.
            ValueError: ``capacity`` < 1 or > ``mailbox.MAX_CAPACITY`` (2**31 - 1), an empty
                name, an actor already spawned, an ``overflow`` not among
                ``mailbox.OVERFLOW_POLICIES``, or ``Supervision.restart(...)`` with an
                instance instead of a factory.
            NameTaken: another live actor has this name.
            SystemStopped: the system is shut down, or its shutdown has begun.
            Exception: whatever the factory or ``on_start`` raised (the actor is then not
                running).
        """
        if supervision is None and isinstance(actor_or_factory, Behaviour):
            # The usual spawn (an instance, no supervision, no parent): nothing of _spawn's
            # applies but the overflow check, which _spawn_actor then makes first.
            actor: Behaviour[M, R] = actor_or_factory  # pyright: ignore[reportUnknownVariableType]
            return self._spawn_actor(actor, name, capacity, overflow, unchecked=True)
        return self._spawn(actor_or_factory, name, capacity, supervision, None, overflow=overflow)

    def spawn_child(
        self,
        parent: LocalActorRef[Any],
        actor_or_factory: Behaviour[M, R] | Callable[[], Behaviour[M, R]],
        **options: Unpack[SpawnOptions],
    ) -> Coroutine[Any, Any, ActorRef[M, R]]:
        """``spawn`` for ``Actor.spawn``: the new actor is a child of ``parent``."""
        return self._spawn(
            actor_or_factory,
            options.get("name"),
            options.get("capacity", DEFAULT_CAPACITY),
            options.get("supervision"),
            parent,
            overflow=options.get("overflow", "block"),
        )

    async def _spawn(
        self,
        actor_or_factory: Behaviour[M, R] | Callable[[], Behaviour[M, R]],
        name: str | None,
        capacity: int,
        supervision: Supervision | None,
        parent: LocalActorRef[Any] | None,
        *,
        overflow: Overflow,
    ) -> ActorRef[M, R]:
        overflow = check_overflow(overflow)
        if supervision is not None and not isinstance(supervision, Supervision):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"supervision must be a Supervision or None, got {type(supervision).__name__}"
            )
        factory: Callable[[], Behaviour[Any]] | None = None
        actor: Behaviour[M, R]
        if isinstance(actor_or_factory, Behaviour):
            actor = actor_or_factory  # pyright: ignore[reportUnknownVariableType]
            if supervision is not None and supervision.kind == "restart":
                raise ValueError(
                    f"Supervision.restart needs a factory to build a new instance from, got a "
                    f"{type(actor).__qualname__} instance: spawn the class (or a zero-argument "
                    f"callable returning a new {type(actor).__qualname__}) instead"
                )
        elif callable(actor_or_factory):
            if self._shut_down:
                raise SystemStopped(self.name)
            factory = actor_or_factory
            actor = instance_from(factory)
        else:
            raise TypeError(
                "spawn expects an Actor or a zero-argument callable returning one, got "
                f"{type(actor_or_factory).__name__}"
            )
        if parent is not None:
            if name is not None and (not isinstance(name, str) or not name):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"name must be a non-empty string or None, got {name!r}")
            if parent.state >= FINISHING:
                raise ActorStopped(parent.label, reason="a stopping actor spawns no children")
            name = child_name(parent, name)
        cell = await self._spawn_actor(actor, name, capacity, overflow)
        if (
            factory is None
            and parent is None
            and (supervision is None or supervision.kind == "stop")
        ):
            return cell
        node = cell.ensure_node()
        if supervision is not None:
            node.supervision = supervision
        node.factory = factory
        if parent is not None:
            if parent.state >= FINISHING:  # it stopped its children while this one started
                await self.stop(cell)
                raise ActorStopped(parent.label, reason="a stopping actor spawns no children")
            adopt(parent, cell)
        return cell

    async def _spawn_actor(
        self,
        actor: Behaviour[M, R],
        name: str | None,
        capacity: int,
        overflow: Overflow,
        *,
        unchecked: bool = False,
    ) -> LocalActorRef[M, R]:
        """Start ``actor`` (checked here) and return its cell; see ``spawn``.

        ``overflow`` was checked by the caller, unless ``unchecked``. An actor whose
        ``on_start`` is the base class's own (it does nothing) is not started on anyone's
        behalf: no code of it runs.
        """
        if unchecked and overflow is not _BLOCK:  # (the default is checked: it is "block")
            overflow = check_overflow(overflow)
        # (An actor, a Behaviour: both callers made sure of it.)
        if type(capacity) is not int or not 0 < capacity <= MAX_CAPACITY:
            check_capacity(capacity)  # raises: 1 <= capacity <= MAX_CAPACITY in both builds
        if name is not None and (not isinstance(name, str) or not name):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"name must be a non-empty string or None, got {name!r}")
        starts = spawn_check(actor)  # TypeError unless handle is an async def
        if actor._mycelium_ref is not None:
            raise ValueError(f"{type(actor).__qualname__} object is already spawned")
        if self._shut_down:
            raise SystemStopped(self.name)
        dispatcher, runtime = self._dispatcher, self._runtime
        if dispatcher is None or runtime is None or _running_loop() is not self._loop:
            dispatcher, runtime = self._bind()  # the first spawn, or the wrong loop (refused)
        # The cell reads the message check of the actor's class: an uncheckable message type
        # raises TypeError here, before a name taken is refused (the id is then left unused).
        actor_id = _next_actor_id()
        cell: LocalActorRef[M, R] = LocalActorRef(
            actor,
            actor_id,
            name,
            capacity,
            dispatcher=dispatcher,
            runtime=runtime,
            overflow=overflow,
        )
        registry = self._registry
        if name is not None:
            registry.check_name(name)
        actor._mycelium_ref = cell
        registry.add(cell)
        if not starts:
            cell.scheduled = False
            return cell
        # on_start's code (and any task it starts) runs on behalf of the actor: it may not
        # wait for the actor itself (a self-ask, a self-stop, room in its own full mailbox).
        starting = registry.starting
        serial = starting[actor_id] = next_start_serial()
        behalf = _set_on_behalf(serial)
        try:
            try:
                await actor.on_start()
            finally:
                _reset_on_behalf(behalf)
        except BaseException as exc:
            starting.pop(actor_id, None)
            await start_failed(cell)  # it never ran: see lifecycle.start_failed
            actor._mycelium_ref = None
            if isinstance(exc, Exception):
                exc.add_note(f"raised by on_start of actor {cell.label}; it was not spawned")
            raise
        starting.pop(actor_id, None)
        cell.scheduled = False
        if cell._queue:  # sent to during on_start (by itself, or by others once named)
            dispatcher.schedule(cell)
        elif cell.state == STOPPING:  # stopped during on_start, with nothing to drain
            cell.scheduled = True
            finish_stop(cell)
        if self._shut_down and cell.state != RUNNING:
            # The system shut down while on_start ran: the actor is stopping (on_stop runs
            # after on_start, never before); it is of no use to the caller.
            raise SystemStopped(self.name)
        return cell

    def trim(self) -> int:
        """Release the mailbox buffers of idle actors; returns how many were released.

        A mailbox creates its queue on its first message and keeps it, so an actor idle again
        after use costs ~1 KB instead of ~220 B. This lets idle actors' queues go; the next
        message creates one again. The system does it every ``trim_interval`` seconds.
        """
        released = 0
        for cell in self._registry:
            if cell.release_queue_if_idle():
                released += 1
        return released

    def _trim_tick(self) -> None:
        self.trim()
        if self._shut_down or self._loop is None or self._trim_interval is None:
            self._trim_handle = None
            return
        self._trim_handle = self._loop.call_later(self._trim_interval, self._trim_tick)

    async def watch(self, ref: ActorRef[Any]) -> Terminated:
        """Wait until the actor of ``ref`` has stopped for good; at once if it already has.

        A restart is not a stop: this waits through restarts. Cancelling the wait leaves the
        actor untouched. See ``mycelium.watch`` for watches from inside actors.

        Raises:
            TypeError: ``ref`` is not a local ref of this system.
        """
        cell = self.local_cell(ref, "watch")
        if cell.state != STOPPED:
            await when_stopped(cell)
        node = cell.node
        return Terminated(cell, None if node is None else node.reason)

    async def upgrade(
        self,
        ref: ActorRef[Any],
        factory: Callable[[], Behaviour[Any]],
        *,
        migrate: Migrate | None = None,
    ) -> None:
        """Swap the behaviour of a running actor in place, at its next message boundary.

        The handler in progress finishes; then ``migrate(old_actor) -> new_actor`` (a function
        or a coroutine function: the state moves, neither ``on_stop`` nor ``on_start`` runs) or,
        without it, ``factory()`` (the old ``on_stop`` then the new ``on_start`` run, as in a
        restart) builds the new instance, which handles the queue. The ref, mailbox, timers,
        children and watches are kept; no message is lost or handled twice; later restarts
        use ``factory``. Returns once the new instance is in place (cancelling the wait does
        not cancel the upgrade). See ``mycelium.upgrade``.

        Raises:
            ActorStopped: the actor is stopping or stopped.
            TypeError: ``ref`` is not a local ref of this system, or ``factory``/``migrate``
                is not callable or built no Actor.
            Exception: what ``migrate`` or the factory raised (the old instance goes on), or
                what the new ``on_start`` raised (a failure of the actor).
        """
        await upgrade(self.local_cell(ref, "upgrade"), factory, migrate)

    def local_cell(self, ref: ActorRef[Any], what: str) -> LocalActorRef[Any]:
        """The cell behind ``ref``, a local ref of this system.

        Raises:
            TypeError: it is not (``what`` names the call in the message).
        """
        if not isinstance(ref, LocalActorRef):
            raise TypeError(f"{what} expects a local ActorRef of this system, got {ref!r}")
        if ref.runtime is not self._runtime:
            raise TypeError(f"{ref!r} belongs to another actor system")
        return ref

    @overload
    def lookup(self, name: str, /) -> ActorRef[Any] | None: ...
    @overload
    def lookup(self, name: str, message_type: type[M], /) -> ActorRef[M] | None: ...
    def lookup(self, name: str, message_type: Any = None, /) -> ActorRef[Any] | None:
        """The ref of the live actor called ``name``, or ``None``.

        With a ``message_type`` (a class, or a union of classes), the ref is typed for sending
        it (``ActorRef[message_type]``), once checked: the actor must accept every
        ``message_type``, that is, it must be a subclass of the actor's declared type.

        Raises:
            TypeError: the actor called ``name`` does not accept every ``message_type``, or
                ``message_type`` cannot be checked at runtime.
        """
        cell = self._registry.named(name)
        if cell is not None and message_type is not None:
            cell.check.require(message_type, cell.label)
        return cell

    @property
    def actors(self) -> list[ActorRef[Any]]:
        """Refs to every actor not yet fully stopped, in spawn order."""
        return list(self._registry)

    def __len__(self) -> int:
        return len(self._registry)

    # ---------------------------------------------------------------------------- stopping

    def stop(
        self, ref: ActorRef[Any], *, timeout: float | None = None
    ) -> Coroutine[Any, Any, None]:
        """Stop one actor gracefully; awaiting this waits until ``on_stop`` has returned.

        The mailbox closes at once (later sends raise ``ActorStopped``); the messages already
        in it are handled first. With a ``timeout`` (seconds, ``0`` included), an actor still
        busy at that deadline is force-stopped: the message in progress and the rest of its
        mailbox are counted as dead letters at once, its handler is cancelled (and handles
        nothing more, even if it goes on), and ``on_stop`` runs once that handler has ended;
        this waits up to ``FORCED_STOP_GRACE`` more for that. ``None`` or ``math.inf``: no
        deadline. Stopping a stopped actor is a no-op.
        Called from the actor's own code (its handler or ``on_start``, or a task one of them
        started after suspending), it does not wait: the stop completes after that handler
        returns (waiting for it there would wait forever). Which code is calling, and the
        arguments, are checked at the call; the stop itself begins when awaited. A caller
        cancelled while it waits leaves the actor stopping: it goes on draining, and is not
        forced at the deadline.

        Raises (at the call):
            TypeError: ``ref`` is not a local ref of this system, or ``timeout`` is not a
                number of seconds or None.
            ValueError: ``timeout`` is negative or NaN.
        """
        seconds = _seconds(timeout, none_allowed=True)
        cell = self.local_cell(ref, "stop")
        return self._stop(cell, seconds, itself=cell.dispatcher.runs_code_of(cell))

    async def _stop(self, cell: LocalActorRef[Any], seconds: float | None, itself: bool) -> None:
        node = cell.node
        if itself and node is not None and node.link is not None and node.link.exit(cell):
            return  # a permanent child of a Supervisor that stops itself is restarted
        begin_stop(cell)
        if not itself:
            await self._stop_in_order([cell], self._deadline(seconds), set())

    def shutdown(self, *, timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> Coroutine[Any, Any, None]:
        """Stop every actor gracefully, then refuse further spawns. Idempotent.

        Spawns are refused (``SystemStopped``) once it begins. Everything happens within one
        deadline, ``timeout`` seconds after it begins, whatever the number of actors. First the
        system is let go quiet: every actor keeps running and accepting messages until none
        has mail and no handler is in progress, so work that actors pass to one another (an
        older actor forwarding to one it spawned) is finished, not cut off. Then each actor,
        newest first, is stopped: it drains what arrived meanwhile and ``on_stop`` runs (an
        idle actor stops at once, without waiting for the loop). At the deadline, every actor
        still busy (a cycle of actors telling each other forever, a handler stuck) is
        force-stopped, all together, as ``stop`` with a timeout does, and this returns at most
        ``FORCED_STOP_GRACE`` later. Called from an actor's own code (as ``stop`` tells it
        apart, at the call), it does not wait for the system to go quiet (that code is part of
        it), nor for that actor.
        The work runs in a task of its own, shared by every caller: a caller cancelled
        meanwhile does not leave the shutdown half done. A later call finishes what an
        earlier one left (an actor that called it stops after its handler returns); a call
        refused for a bad ``timeout`` starts nothing.

        Raises (at the call):
            TypeError: ``timeout`` is not a number of seconds.
            ValueError: ``timeout`` is negative or NaN.
        """
        seconds = _seconds(timeout, none_allowed=False)
        return self._shutdown(seconds, self._calling_cells())

    async def _shutdown(self, seconds: float | None, calling: set[LocalActorRef[Any]]) -> None:
        self._shut_down = True
        if self._dispatcher is None:
            return
        task = self._shutting_down
        if task is not None and task.done():
            if not self._registry:
                return
            task = None  # an earlier shutdown left actors (its caller's, or it failed)
        if task is None:
            # The work runs in a task of its own: a caller that is cancelled meanwhile (say a
            # handler whose wait_for is cancelled when its actor is stopped) cannot leave the
            # shutdown half done. Which actor is calling was known at the call, in its code.
            task = self._shutting_down = self._dispatcher.loop.create_task(
                self._shut_everything(self._deadline(seconds), calling)
            )
        await asyncio.shield(task)

    async def _shut_everything(
        self, deadline: float | None, calling: set[LocalActorRef[Any]]
    ) -> None:
        dispatcher = self._dispatcher
        assert dispatcher is not None
        if not calling:
            await dispatcher.quiesce(self._left(deadline))
        if self._trim_handle is not None:
            self._trim_handle.cancel()
            self._trim_handle = None
        await self._stop_in_order(self._registry.newest_first(), deadline, calling)
        dispatcher.release_standby()

    def _deadline(self, seconds: float | None) -> float | None:
        if seconds is None:
            return None
        assert self._dispatcher is not None
        return self._dispatcher.loop.time() + seconds

    def _left(self, deadline: float | None) -> float | None:
        if deadline is None:
            return None
        assert self._dispatcher is not None
        return max(0.0, deadline - self._dispatcher.loop.time())

    def _calling_cells(self) -> set[LocalActorRef[Any]]:
        """The actors whose own code is running now (a handler, an on_start, a task of one)."""
        dispatcher = self._dispatcher
        if dispatcher is None:
            return set()
        return {cell for cell in self._registry if dispatcher.runs_code_of(cell)}

    async def _stop_in_order(
        self,
        cells: Iterable[LocalActorRef[Any]],
        deadline: float | None,
        calling: set[LocalActorRef[Any]],
    ) -> None:
        """Stop ``cells`` gracefully one after the other, then force the rest at ``deadline``.

        Each one is waited for before the next is stopped (so it can still send to them while
        it drains), except those that stop at once (idle, with an ``on_stop`` that does not
        suspend): a thousand idle actors cost no loop turn. The ``calling`` ones are stopped
        but not waited for: they stop when their handler returns.
        """
        order = list(cells)
        for cell in order:
            if cell.state == STOPPED:
                continue
            begin_stop(cell)
            if cell.state == STOPPED or cell in calling:
                continue
            left = self._left(deadline)
            if left == 0.0:
                break
            done_stopping = when_stopped(cell)
            done, _ = await asyncio.wait((done_stopping,), timeout=left)
            if not done:
                done_stopping.cancel()
                break
        else:
            return
        await self._force(order, calling)

    async def _force(
        self, cells: list[LocalActorRef[Any]], calling: set[LocalActorRef[Any]]
    ) -> None:
        """The deadline has passed: force-stop, all at once, every one of ``cells`` still busy."""
        stuck: list[LocalActorRef[Any]] = []
        for cell in cells:
            if cell.state == STOPPED or cell in calling:
                continue
            begin_stop(cell)  # one the graceful pass did not reach: if idle, it stops now
            if cell.state == STOPPED:
                continue
            if cell._id in self._registry.starting:
                log.warning(
                    "actor %s is still in on_start; it stops when on_start returns", cell.label
                )
            else:
                stuck.append(cell)
        for cell in stuck:
            abandon(cell)
        waiting = [when_stopped(cell) for cell in stuck if cell.state != STOPPED]
        if not waiting:
            return
        # Cancellation runs the handlers' cleanup, then on_stop; give them a bounded moment.
        _, late = await asyncio.wait(waiting, timeout=FORCED_STOP_GRACE)
        for fut in late:
            fut.cancel()
        for cell in stuck:
            if cell.state != STOPPED:
                log.error(
                    "actor %s did not finish stopping (its handler or on_stop goes on despite "
                    "the cancellation); it is let go, and everything it held was counted",
                    cell.label,
                )
                self._registry.forget(cell)

    def __repr__(self) -> str:
        alive = sum(1 for cell in self._registry if cell.state == RUNNING)
        state = "shut down" if self._shut_down else "running"
        return f"<ActorSystem {self.name!r} {state} actors={alive}>"


def _seconds(timeout: object, *, none_allowed: bool) -> float | None:
    """``timeout`` as seconds (None: no deadline, as is ``math.inf``); refuses anything else."""
    if timeout is None and none_allowed:
        return None
    allowed = " or None" if none_allowed else ""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(
            f"timeout must be a number of seconds{allowed}, got {type(timeout).__name__}"
        )
    if not timeout >= 0:  # NaN fails this too
        raise ValueError(f"timeout must be >= 0{allowed}, got {timeout}")
    return None if timeout == math.inf else float(timeout)
