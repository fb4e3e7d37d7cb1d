"""What an actor's cell needs of the rest of the runtime, as two small interfaces.

* ``Runtime``: the services of the system a cell runs in (its loop, its dead letters, the ask
  deadlines, running lifecycle steps, forgetting a stopped actor). One object, built by the
  ``ActorSystem`` when it binds to its loop and handed to every cell it spawns; nothing else
  builds one.
* ``Scheduler``: what a cell needs of the dispatcher that runs it (waking it, knowing whose code
  is running, settling it after a failure, giving up on a suspended handler). The
  ``Dispatcher`` (``dispatcher.py``) is the one implementation. It is a ``Protocol`` for the
  type checker only: the send path reads ``thread_id``, ``completed`` and ``schedule`` as plain
  attributes (the C fast path reads them from the ``DispatcherCore`` layout itself).

Both are loop-affine: use them from the loop's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Final, Generic, Protocol, TypeVar, final

from ._deadlines import AskDeadlines
from .actor_ref import ActorRef
from .dead_letters import DeadLetters

__all__ = ["Parked", "Runtime", "Scheduler", "SystemHandle"]

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class SystemHandle(Protocol):
    """What the runtime's lower layers need of the ``ActorSystem`` itself."""

    @property
    def name(self) -> str:
        """The system's name, for logs."""
        ...

    @property
    def shut_down(self) -> bool:
        """True once the system's shutdown has begun."""
        ...

    def stop(
        self, ref: ActorRef[Any], *, timeout: float | None = None
    ) -> Coroutine[Any, Any, None]:
        """Stop one actor gracefully (see ``ActorSystem.stop``)."""
        ...


class Parked(Protocol):
    """A suspended handler that a forced stop took off the dispatcher's books: its message and
    its asker's reply (None for a tell), which the caller now accounts for."""

    @property
    def msg(self) -> object: ...

    @property
    def reply(self) -> asyncio.Future[Any] | None: ...


class Scheduler(Protocol[C_contra]):
    """What a cell (``C``: a ``LocalActorRef``) needs of the dispatcher that runs it
    (``Dispatcher`` implements it).

    Invariant: a cell is on the scheduler's ready queue, or has a handler in progress, iff its
    ``scheduled`` flag is set; only the scheduler clears the flag.
    """

    thread_id: int
    """The ident of the thread running the loop; the send path's thread check."""

    wake_inline: bool
    """True when an awaited ``send`` that wakes an idle actor may run its handler at the await
    (``run_woken``): outside the dispatcher's turns, or nested in an inline run."""

    @property
    def completed(self) -> Coroutine[Any, Any, None]:
        """What ``send`` returns when it enqueued at once (already complete)."""
        ...

    @property
    def idle(self) -> bool:
        """True when no actor has mail waiting to run and no handler is in progress."""
        ...

    async def quiesce(self, timeout: float | None) -> bool:
        """Wait until ``idle``; False if ``timeout`` passed first."""
        ...

    def schedule(self, cell: C_contra, /) -> None:
        """Put the idle ``cell`` (``scheduled`` False) on the ready queue; sets the flag."""
        ...

    def settle(self, cell: C_contra, /) -> None:
        """After a failure its supervision lets ``cell`` survive: requeue it if it has mail,
        finish a stop in progress, or let it go idle."""
        ...

    def runs_code_of(self, cell: C_contra, /) -> bool:
        """True if the code running now is ``cell``'s own (its handler, its ``on_start``, or a
        task started on behalf of one of them), which must not wait for ``cell`` itself."""
        ...

    def task_of(self, cell: C_contra, /) -> asyncio.Task[None] | None:
        """The task running ``cell``'s handler that suspended (None when none is)."""
        ...

    def run_inline(self, cell: C_contra, msg: object, asking: bool, /) -> Any:
        """Run the idle ``cell``'s handler of ``msg`` now, in the caller's stack, as a turn
        would: None if it declined (the caller takes the queued path), ``(True, answer)`` if
        it returned, ``(False, reply)`` if it suspended (``reply``: an ask's future)."""
        ...

    def run_woken(self, cell: C_contra, /) -> None:
        """An awaited ``send`` that woke ``cell``: run its next message now if its turn has not
        come yet and the dispatcher allows it; else nothing (the turn handles it)."""
        ...

    def give_up(self, cell: C_contra, /) -> Parked | None:
        """A forced stop: cancel ``cell``'s suspended handler, if any, and return what it held."""
        ...


@final
class Runtime(Generic[C]):
    """The services of one system that its cells (``C``: ``LocalActorRef``) use (see the
    module docstring).

    ``loop``: the system's event loop. ``dead_letters``: where every message accepted and not
    handled is recorded. ``ask_deadlines``: the timeouts of the loop's asks, in buckets.
    ``run_detached(coro, label)``: run a lifecycle step now, in a task only if it suspends
    (errors are logged). ``forget(cell)``: the system's registry lets go of a stopped actor.
    ``system``: the system itself. ``signal_reply``: the already-complete future that the
    runtime's own mailbox items travel with (their envelope needs a reply).
    """

    __slots__ = (
        "ask_deadlines",
        "dead_letters",
        "forget",
        "loop",
        "run_detached",
        "signal_reply",
        "system",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        system: SystemHandle,
        dead_letters: DeadLetters,
        *,
        run_detached: Callable[[Coroutine[Any, Any, None], str], None],
        forget: Callable[[C], None],
    ) -> None:
        self.loop: Final = loop
        self.system: Final = system
        self.dead_letters: Final = dead_letters
        self.ask_deadlines: Final = AskDeadlines(loop)
        self.run_detached: Final = run_detached
        self.forget: Final = forget
        reply: asyncio.Future[None] = loop.create_future()
        reply.set_result(None)
        self.signal_reply: Final = reply
