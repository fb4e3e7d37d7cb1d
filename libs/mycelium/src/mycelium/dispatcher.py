"""The dispatcher: runs actors that have mail, on one event loop (seed task MVP-007).

There is no task and no queue per actor. An actor is put on the dispatcher's *ready queue* when
its mailbox goes from empty to non-empty, and the dispatcher, called once per loop turn,
runs the ready actors one after the other. Each run handles up to ``throughput`` messages of
one actor (fairness), then moves on; an actor that still has mail goes to the back of the ready
queue. Actors made ready *during* a turn (one actor telling another) are run in the same turn,
so an actor-to-actor hop costs no loop iteration. A turn ends when the ready queue is empty or
once its handlers have run for ``turn_budget_s`` seconds (the time is checked after every
handler, see ``run_batch``), so I/O callbacks (a transport's flush, a socket read) and timers
wait at most about that long plus one handler; a run cut short resumes first next turn.

Each handler coroutine is driven by hand, by ``run_batch`` (``_core.py``; in C when built). One
that finishes without suspending (the common case) costs no task and no future; one that
suspends is handed to a task, and its actor is parked (it handles nothing else) until that task
finishes, which keeps "one message at a time". A run also ends right after a message whose
handler made another actor ready (a hand-off), so work passed along a chain moves on at once.

Tasks: while a turn runs handlers, the current task (``asyncio.current_task()``) is the
dispatcher's *standby* ``HandlerTask`` (``_handler_task.py``), so every asyncio API works from a
handler's first line. A handler that suspends continues in that very task (the standby adopts
it, and a new standby is made); handlers that finish without suspending share the standby,
unless one keeps or changes it, which retires it after that handler.

Failures: the message whose handler raised (before or after suspending) is recorded in the dead
letters, with a reason naming the exception, and its actor crashes (``lifecycle.crash``);
if its supervision lets it go on (resume, restart), it keeps its place: the rest of its batch
runs next (``_go_on_first``). A
suspended handler given up on at a stop's deadline (``abandon``) is unparked first: what it
held is counted then, and whatever its task does afterwards is not counted again.

On whose behalf: a handler that suspends gets a serial of its own, set as ``ON_BEHALF`` in its
task's context (``on_start`` gets one too, see ``ActorSystem.spawn``), so a task it starts (as
``asyncio.wait_for`` does) can still tell that it runs for that handler while the handler is
in progress (``acting_for``). This costs nothing on a run: only parking sets it. Tasks started
before the handler's first suspension do not carry it; the calls that could wait for their own
actor (``ask``, ``send``, ``stop``, ``shutdown``) check at the call instead, in the handler.

What the dispatcher reads of a cell (a ``LocalActorRef``), and nothing else: its queue
(``_queue``, a plain field the batch loop pops from), ``actor.handle``, ``handled``, ``state``,
``scheduled``, ``waiters``/``admit_waiters`` (to let waiting senders in as room frees) and
``take_signal``; the lifecycle's ``crash``/``finish_stop``/``handler_ended`` when a run ends
that way. What a cell may use of the dispatcher is ``_runtime.Scheduler``.

Inline runs: an idle actor's handler may also run outside any turn, in its caller's stack
(``run_inline``: an ask to an idle actor when no turn is pending; ``run_woken``: the await of a
send that woke an idle actor, before its turn came, at most ``INLINE_SENDS_PER_TURN`` times
between two turns from outside the runtime). Such a run keeps what a turn guarantees: the cell
is scheduled meanwhile (other messages queue behind it, no turn runs it), ``running`` names it,
the handler runs in an empty context with a standby task of its depth as the current task (the
caller's task is put back after), a handler that suspends is parked in that task (``_park``)
exactly as under a turn, one that raises is a failure of the actor (``crash``), settled with no
task current and in an empty context. Runs nest (a handler run inline that asks an idle actor)
up to ``MAX_INLINE_DEPTH``; all of them (nested ones included) share a budget of
``turn_budget_s`` per loop iteration. Their common case is in C when built
(``_core.inline_ask``, ``WokenSend``).

Threads: everything here runs on the loop's thread.
"""

# pyright: reportPrivateUsage=false
# (a friend of LocalActorRef: the hot path reads its queue directly, as MailboxCore's C twin)

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from _thread import get_ident
from asyncio.tasks import _enter_task, _leave_task
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Mapping
from functools import partial
from sys import getrefcount
from typing import Any, Final, final

from ._core import (
    ASK,
    DONE,
    OVERTIME,
    PARKED,
    RAISED,
    TAINTED,
    DispatcherCore,
    clock,
    completed_send,
    deadline_after,
    run_batch,
    run_first,
)
from ._handler_task import CURRENT_TASKS, HandlerTask
from ._signals import Signal
from .lifecycle import crash, finish_stop, handler_ended
from .local_ref import RUNNING, STOPPING, Ask, LocalActorRef

__all__ = ["DEFAULT_THROUGHPUT", "ON_BEHALF", "Dispatcher", "next_start_serial"]

log = logging.getLogger("mycelium")

DEFAULT_THROUGHPUT: Final = 128
"""Messages one actor may handle per run before the next ready actor gets its turn."""

DEFAULT_TURN_BUDGET_S: Final = 0.00025
"""How long one turn may run handlers before the dispatcher yields to I/O and timers, s (the
handler running when it runs out finishes first)."""

ON_BEHALF: Final[contextvars.ContextVar[int]] = contextvars.ContextVar(
    "mycelium_on_behalf", default=0
)
"""Whose code is running: the serial of the suspended handler (> 0) or of the ``on_start``
(< 0) it was started from; 0 elsewhere. Contexts are copied into new tasks, so a task that
such code creates (``asyncio.wait_for`` does) carries the serial."""

_set_on_behalf: Final = ON_BEHALF.set

INLINE_SENDS_PER_TURN: Final = 2
"""Awaited sends from outside the runtime that may run the actor they woke inline, between two
turns of the dispatcher: the next ones queue, so a burst of sends still runs as one batch (two,
not one: a sender that sends again as soon as the last one's work is done, which is a burst
to the runtime, gets most of its sends run inline; a long burst pays one more inline run)."""

MAX_INLINE_DEPTH: Final = 8
"""How deep inline runs may nest (a handler run inline asking another idle actor...): past it,
messages take the queued path, which bounds the stack."""

_start_serials: Final = itertools.count(-1, -1)


def next_start_serial() -> int:
    """A fresh serial for one ``on_start`` (negative: never a suspended handler's)."""
    return next(_start_serials)


@final
class _Parked:
    """A handler that suspended: its message, its asker's reply, its serial, its task.

    Invariant: it is in its dispatcher's ``_parked`` while the dispatcher still owes its
    message an outcome (handled or dead letter); ``abandoned`` once a forced stop took it out.
    ``serial`` is the ON_BEHALF serial of its task's context.
    """

    __slots__ = ("abandoned", "msg", "reply", "serial", "started", "task")

    def __init__(self, msg: object, reply: asyncio.Future[Any] | None, serial: int) -> None:
        self.msg = msg
        self.reply = reply
        self.serial = serial
        self.started = False  # its task's coroutine has begun (else cancelling it skipped it)
        self.abandoned = False
        self.task: asyncio.Task[None] | None = None


@final
class Dispatcher(DispatcherCore):
    """Schedules ready actors onto one event loop and drives their handlers; the
    ``_runtime.Scheduler`` of every cell of its system.

    Invariant: ``_pending`` is True iff a call to ``_run`` is scheduled on the loop or running;
    every cell in ``_ready`` has ``scheduled`` set. ``schedule`` and those fields come from
    ``DispatcherCore`` (``_core.py``; in C when built).
    """

    __slots__ = (
        "_context",
        "_cut",
        "_cut_left",
        "_idle_waiters",
        "_moved_up",
        "_parked",
        "_serial",
        "_standby",
        "_starting",
        "completed",
        "loop",
        "throughput",
        "turn_budget_s",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        starting: Mapping[int, int],
        *,
        throughput: int = DEFAULT_THROUGHPUT,
        turn_budget_s: float = DEFAULT_TURN_BUDGET_S,
    ) -> None:
        if throughput < 1:
            raise ValueError(f"throughput must be >= 1, got {throughput}")
        if not turn_budget_s > 0:
            raise ValueError(f"turn_budget_s must be > 0, got {turn_budget_s}")
        self.loop = loop
        # The system's registry of the actors whose on_start is running, each with the serial
        # its code runs under (read only here, see acting_for).
        self._starting = starting
        self.throughput = throughput
        self.turn_budget_s = turn_budget_s
        self._ready = deque()
        self._call_soon = loop.call_soon
        self._pending = False
        # The actor whose handler the dispatcher is running right now (not while suspended).
        self.running: LocalActorRef[Any] | None = None
        # The empty context the next actor run uses; replaced as soon as a handler sets a
        # variable in it or a suspended handler takes it along, so no actor sees another's.
        self._context = contextvars.Context()
        # Invariant: the handlers suspended in a task (their actors are parked), by actor id.
        self._parked: dict[int, _Parked] = {}
        # The serial of the last handler that parked: each one sets ON_BEHALF to its own.
        self._serial = 0
        # The task the next handler that suspends continues in: the current task while a
        # turn runs (see _handler_task.py). None until the first turn.
        self._standby: HandlerTask | None = None
        # The actor whose run the last turn's budget cut short (it is first in the ready
        # queue) and how many messages that run may still handle; None when no run was cut.
        self._cut: LocalActorRef[Any] | None = None
        self._cut_left = 0
        self._moved_up = 0.0  # the deadline of the last turn _go_on_first moved a cell up in
        # Futures resolved when the dispatcher next has nothing to do (see quiesce()).
        self._idle_waiters: list[asyncio.Future[None]] = []
        # One bound method, reused for every call_soon: each turn in a fresh, empty context.
        self._run_handle = self._run_in_fresh_context
        # Already complete: what send returns when it enqueued at once (see _core.py).
        self.completed: Coroutine[Any, Any, None] = completed_send(loop)
        # Handlers run inline, from their asker or their awaited send (see run_inline): how
        # deep they nest now, the standby task and the empty context of each depth, when the
        # budget of this loop iteration's inline runs ends (0.0: none ran since the loop last
        # turned), and how many awaited sends from outside the runtime ran one since the last
        # turn. ``wake_inline`` (DispatcherCore): an awaited
        # send that wakes an idle actor may run it (outside turns, or nested in an inline run).
        self._inline_depth = 0
        self._inline_tasks: list[HandlerTask | None] = [None] * MAX_INLINE_DEPTH
        self._inline_contexts: list[contextvars.Context | None] = [None] * MAX_INLINE_DEPTH
        self._inline_deadline = 0.0
        self._inline_sent = 0
        self._inline_free = False
        self.wake_inline = True
        # What the C fast path of an awaited send that woke an actor reads (WokenSend).
        self._inline_cap = MAX_INLINE_DEPTH
        self._inline_budget = turn_budget_s
        self._current_tasks = CURRENT_TASKS
        self._inline_loop = loop
        self._ask_type = Ask
        self._loop_turned_handle = self._loop_turned

    # ------------------------------------------------------------------------- the turn

    def _run_in_fresh_context(self) -> None:
        """Run a turn in a new empty ``contextvars.Context``.

        ``call_soon`` would run the turn in a copy of whatever context the sender that woke
        the dispatcher had, handing one sender's context variables to every actor. Handlers
        instead start each turn from an empty context (variables at their defaults); what a
        handler sets lasts until the end of that turn (or, if it suspends, in its task).
        """
        contextvars.Context().run(self._run)

    def _run(self) -> None:
        """One turn: run ready actors until none is left or the turn's budget is spent.

        An actor's run handles up to ``throughput`` messages with ``run_batch`` (in C when
        built), which returns here only for what needs Python: a question, a handler that
        suspended or raised, or a hand-off. Messages that arrive during the run wait for the
        next one (fairness). A run ends right after a message whose handler made another actor
        ready: the work it handed on goes next. Both go to the back of the ready queue, so a
        ping-pong pair cannot starve the others. The turn ends after the first handler that
        returns once the budget is spent; unless that run had just handed off, the next turn
        resumes it first, for what was left of its batch.
        """
        ready = self._ready
        loop = self.loop
        self.wake_inline = False  # no inline send from inside a turn
        self._inline_sent = 0
        self._inline_deadline = 0.0  # the loop turned: a new budget for inline runs
        standby = self._standby
        if standby is not None:
            if standby.held is None:
                if CURRENT_TASKS is not None:
                    CURRENT_TASKS[loop] = standby  # what _enter_task does, without a call
                else:
                    _enter_task(loop, standby)
            else:  # changed between turns: the next run makes a new one
                standby.retire()
                self._standby = None
        deadline = deadline_after(self.turn_budget_s)
        throughput = self.throughput
        cut = self._cut  # the run the last turn's budget cut short, first in the queue
        try:
            while ready:
                cell = ready.popleft()
                queue: deque[Any] = cell._queue  # type: ignore[assignment]  # scheduled => deque
                batch = len(queue)
                if cell is cut:  # it resumes that run: what was left of its batch
                    cut = self._cut = None
                    if batch > self._cut_left:  # noqa: PLR1730 - min() costs a call here
                        batch = self._cut_left
                elif batch > throughput:
                    batch = throughput
                handle = cell.actor.handle
                before = len(ready)
                context = self._context
                self.running = cell
                handled = 0
                settled = True  # False once the cell is parked or crashed: settled elsewhere
                overtime = False  # True once the turn's budget is spent
                while True:
                    standby = self._standby
                    if standby is None:  # made just before it is needed: see _park
                        standby = self._standby = HandlerTask(loop, context)
                        _enter_task(loop, standby)
                    done, code, a, b, msg = context.run(
                        run_batch, queue, handle, batch - handled, ready, Ask, standby, deadline
                    )
                    handled += done
                    if code == OVERTIME:
                        overtime = True
                    elif code == ASK:
                        # (The time this took is read on entry to the next run_batch.)
                        held = getrefcount(standby)
                        try:
                            answered = context.run(self._run_ask, cell, a, context)
                        except BaseException as exc:
                            cell.handled += handled
                            self._retire_standby(standby)  # its traceback may hold it
                            self._fail(cell, exc, a.msg)
                            self._go_on_first(cell, deadline)
                            handled = 0
                            settled = False
                            break
                        if not answered:
                            settled = False
                            break
                        handled += 1
                        if getrefcount(standby) != held:
                            self._retire_standby(standby)
                        if handled < batch and len(ready) == before:
                            continue
                    elif code == TAINTED:
                        self._retire_standby(standby)
                        if handled < batch and len(ready) == before:
                            continue
                    elif code == PARKED:
                        self._park(cell, a, b, None, context, msg=msg)
                        settled = False
                    elif code == RAISED:
                        cell.handled += handled
                        self._retire_standby(standby)  # its traceback may hold it
                        self._fail(cell, a, msg)
                        self._go_on_first(cell, deadline)
                        handled = 0
                        settled = False
                    break
                self.running = None
                if len(context) and context is self._context:
                    self._context = contextvars.Context()  # a handler set something in it
                cell.handled += handled
                if not settled:  # the time it took is read when the next run starts
                    continue
                # Settle (inlined): requeue if mail is left, finish a stop, or release.
                if cell.waiters:
                    cell.admit_waiters()
                if queue:
                    if overtime and handled < batch and len(ready) == before:
                        # Cut short by the budget, not by a hand-off: the next turn resumes
                        # this run first (what it handed on, if anything, goes next anyway).
                        ready.appendleft(cell)
                        self._cut = cell
                        self._cut_left = batch - handled
                        break
                    ready.append(cell)
                elif cell.state == STOPPING:
                    finish_stop(cell)
                else:
                    cell.scheduled = False
                if overtime:
                    break
        finally:
            self.running = None
            self.wake_inline = True
            standby = self._standby
            if standby is not None:
                if CURRENT_TASKS is not None:
                    del CURRENT_TASKS[loop]  # what _leave_task does, without a call
                else:
                    _leave_task(loop, standby)
            if ready:
                self.loop.call_soon(self._run_handle)
            else:
                self._pending = False
                if self._idle_waiters:
                    self._wake_if_idle()

    def _run_ask(self, cell: LocalActorRef[Any], ask: Ask, context: contextvars.Context) -> bool:
        """Handle one question; False if its handler suspended (cell parked).

        A signal of the runtime's own (``_signals.py``) travels as a question too: it runs the
        turn it opens, if any, and answers no one.
        """
        reply = ask.reply
        msg = ask.msg
        if isinstance(msg, Signal):
            turn = cell.take_signal(msg)
            if turn is None:
                cell.handled -= 1  # nothing was handled
                return True
            steps = turn.__await__()
        else:
            steps = cell.actor.handle(msg).__await__()
        try:
            yielded = steps.send(None)
        except StopIteration as stop:
            if not reply.done():
                reply.set_result(stop.value)
            return True
        except (Exception, asyncio.CancelledError) as exc:
            if not reply.done():
                reply.set_exception(exc)
            raise
        self._park(cell, steps, yielded, reply, context, msg=ask.msg, entered=True)
        return False

    # ------------------------------------------------------------------- inline runs

    def run_inline(self, cell: LocalActorRef[Any], msg: object, asking: bool) -> Any:
        """Run ``cell``'s handler of ``msg`` here, in the caller's stack, as a turn would.

        The caller has made sure that ``cell`` is idle (not scheduled: no mail, no handler in
        progress, RUNNING; or, for an awaited send, just taken off the ready queue with ``msg``
        taken from the head of its mailbox) and that the caller's own code is not that actor's.
        ``asking``: an ask's question.

        As under a turn: the cell is scheduled while the handler runs (other messages queue
        behind, nothing else runs it), ``running`` names it, the handler runs in an empty
        context of its own (``ON_BEHALF`` unset) with a standby task of this depth as the
        current task. A handler that returns is counted in ``handled`` and the cell is settled
        (requeued if mail arrived meanwhile); one that raises is a failure of the actor
        (``LocalActorRef.crash``: dead letter, supervision, on_stop), settled with no task
        current, in an empty context, as a turn does; one that suspends is parked in that
        standby task (``_park``), which continues it exactly as for a turn.

        Returns None if it declined (see ``_may_run_inline``: take the queued path); else
        ``(True, answer)`` if the handler returned (or raised, for a send), ``(False, reply)``
        if it suspended: ``reply`` (an ask's; None for a send) receives the answer. Raises
        what the handler raised, for an ask (after the accounting).
        """
        if not self._may_run_inline(True):
            return None
        return self._run_here(cell, msg, asking)

    def _may_run_inline(self, asking: bool) -> bool:
        """Whether a handler may run inline now: nested less than ``MAX_INLINE_DEPTH`` deep; from
        outside any handler, an ask only while no turn is pending (it would go ahead of the
        actors waiting for it); and only within a budget per loop iteration: ``turn_budget_s``
        of inline runs, nested ones included (the clock is read before each), after which they
        all take the queued path until the loop has turned (a task, or a handler run inline,
        asking idle actors in a loop still lets the loop turn: the next ask suspends it)."""
        depth = self._inline_depth
        if depth:  # the outermost run started this iteration's budget; a run's first nested
            # run is not held to it (a chain still reaches the cap; a loop of asks does not)
            return depth < MAX_INLINE_DEPTH and (
                self._inline_free or clock() < self._inline_deadline
            )
        if asking and self._pending:
            return False
        deadline = self._inline_deadline
        if deadline == 0.0:  # the first inline run since the loop turned
            if not self._pending:  # else the turn to come resets it
                self.loop.call_soon(self._loop_turned)  # (if it fails, nothing has changed)
            self._inline_deadline = deadline_after(self.turn_budget_s)
            return True
        return clock() < deadline

    def _loop_turned(self) -> None:
        self._inline_deadline = 0.0

    def _run_here(self, cell: LocalActorRef[Any], msg: object, asking: bool) -> Any:
        """``run_inline`` once allowed (its first step in C when built: ``run_first``)."""
        depth = self._inline_depth
        loop = self.loop
        task = self._inline_tasks[depth]
        if task is None:
            task = self._inline_tasks[depth] = HandlerTask(loop, contextvars.Context())
        context = self._inline_contexts[depth]
        if context is None:
            context = self._inline_contexts[depth] = contextvars.Context()
        running = self.running
        wake_inline = self.wake_inline
        self.running = cell
        self._inline_depth = depth + 1
        self.wake_inline = depth + 1 < MAX_INLINE_DEPTH
        self._inline_free = True
        cell.scheduled = True
        if CURRENT_TASKS is not None:
            code, a, b = run_first(cell.actor.handle, msg, context, task, loop, CURRENT_TASKS)
        else:
            outer = asyncio.current_task(loop)
            if outer is not None:
                _leave_task(loop, outer)
            _enter_task(loop, task)
            try:
                code, a, b = run_first(cell.actor.handle, msg, context, task, loop, None)
            finally:
                _leave_task(loop, task)
                if outer is not None:
                    _enter_task(loop, outer)
        self.running = running
        self._inline_depth = depth
        self.wake_inline = wake_inline
        self._inline_free = False  # the run this one is nested in (if any) has had its first
        if (
            code == DONE
            and not len(context)
            and task.held is None
            and not cell._queue
            and not cell.waiters
            and cell.state == RUNNING
        ):  # the common ending, as the C twin has it
            cell.handled += 1
            cell.scheduled = False
            return True, a
        return self._after_run(cell, msg, asking, depth, task, context, code, a, b)

    def _after_run(  # noqa: PLR0917 - positional, for the C fast path's call
        self,
        cell: LocalActorRef[Any],
        msg: object,
        asking: bool,
        depth: int,
        task: HandlerTask,
        context: contextvars.Context,
        code: int,
        a: Any,
        b: Any,
    ) -> Any:
        """The end of an inline run of ``msg`` at ``depth``, whose first step ended with
        ``code`` (``run_first``'s): count it, settle the cell, park or crash; see
        ``run_inline`` for what it returns."""
        if code in {DONE, TAINTED}:  # returned: the common case
            cell.handled += 1
            if code == TAINTED or task.held is not None:
                task.retire()
                self._inline_tasks[depth] = None
            if len(context):
                self._inline_contexts[depth] = None
            if cell._queue or cell.waiters or cell.state != RUNNING:
                self._outside(self.settle, cell)
            else:
                cell.scheduled = False
            return True, a
        self._inline_contexts[depth] = None
        self._inline_tasks[depth] = None
        if code == PARKED:  # suspended: its standby task continues it
            reply: asyncio.Future[Any] | None = self.loop.create_future() if asking else None
            self._park(cell, a, b, reply, context, msg=msg, inline=task)
            return False, reply
        task.retire()  # raised: its traceback may hold the task
        self._outside(crash, cell, a, msg)
        if asking or not isinstance(a, Exception | asyncio.CancelledError):
            raise a  # the asker gets it; KeyboardInterrupt and the like propagate
        return True, None

    def _outside(self, call: Callable[..., object], *args: Any) -> None:
        """Run ``call(*args)`` (a settle or a crash after an inline run: it may run on_stop's
        first step) as a turn would: with no task current, in an empty context."""
        loop = self.loop
        outer = asyncio.current_task(loop)
        if outer is not None:
            _leave_task(loop, outer)
        try:
            contextvars.Context().run(call, *args)
        finally:
            if outer is not None:
                _enter_task(loop, outer)

    def run_woken(self, cell: LocalActorRef[Any]) -> None:
        """An awaited ``send`` that woke the idle ``cell`` is being awaited: if the cell still
        waits for its turn (last on the ready queue, its next item a message) and
        ``wake_inline`` allows it, take it off the ready queue and run that message now
        (``run_inline``). Else nothing: the turn handles it, as for any send. Outside the
        runtime (not nested in an inline run) this happens ``INLINE_SENDS_PER_TURN`` times per
        turn: the next ones queue, so a burst of sends still runs as one batch."""
        ready = self._ready
        if not (self.wake_inline and ready and ready[-1] is cell) or cell is self._cut:
            return
        queue: deque[Any] = cell._queue  # type: ignore[assignment]  # scheduled => a deque
        if not queue or type(queue[0]) is Ask or cell.waiters or cell.state != RUNNING:
            return
        if get_ident() != self.thread_id:
            return
        if not self._may_run_inline(False):
            return
        if self._inline_depth == 0:  # from outside the runtime: counted
            self._inline_sent += 1
            if self._inline_sent >= INLINE_SENDS_PER_TURN:
                self.wake_inline = False  # until the next turn
        ready.pop()
        self._run_here(cell, queue.popleft(), False)

    def release_standby(self) -> None:
        """Let the idle standby task finish (its system has shut down), so that no task of
        ours is left pending; a later turn would make a new one."""
        standby = self._standby
        if standby is not None and asyncio.current_task(self.loop) is not standby:
            standby.retire()
            self._standby = None
        tasks = self._inline_tasks
        for depth in range(self._inline_depth, MAX_INLINE_DEPTH):  # not those running now
            task = tasks[depth]
            if task is not None:
                task.retire()
                tasks[depth] = None

    def _retire_standby(self, standby: HandlerTask) -> None:
        """A handler kept or changed the standby task: no other handler will run in it. The
        next run makes a new one."""
        _leave_task(self.loop, standby)
        standby.retire()
        self._standby = None

    def _fail(self, cell: LocalActorRef[Any], exc: BaseException, msg: object) -> None:
        """A handler raised ``exc`` handling ``msg``: ``msg`` becomes a dead letter and the
        actor crashes; KeyboardInterrupt and the like then propagate."""
        self.running = None
        crash(cell, exc, msg)
        if not isinstance(exc, Exception | asyncio.CancelledError):
            raise exc

    def _go_on_first(self, cell: LocalActorRef[Any], turn: float) -> None:
        """After a failure in ``cell``'s run: if its supervision requeued it (resumed, or a
        restart's control turn is first in its mailbox), it keeps its place: moved from the
        back to the front of the ready queue, it runs next, once per turn (``turn``: the
        turn's deadline), so an actor failing on every message still lets the others run.
        Else it would wait behind every other ready actor's full run: their sends to it are no
        hand-offs while it is ready, so they run whole batches (the hot path's p99 under
        ``--faults`` paid for that)."""
        ready = self._ready
        if ready and ready[-1] is cell and self._moved_up != turn:
            ready.pop()
            ready.appendleft(cell)
            self._moved_up = turn

    def settle(self, cell: LocalActorRef[Any]) -> None:
        """After a run: requeue the cell if it has mail, finish a stop, or release it."""
        if cell.waiters:
            cell.admit_waiters()
        if cell._queue:
            self._ready.append(cell)
            if not self._pending:
                self._pending = True
                self.loop.call_soon(self._run_handle)
        elif cell.state == STOPPING:
            finish_stop(cell)
        else:
            cell.scheduled = False

    # ---------------------------------------------------------------- suspended handlers

    def _park(
        self,
        cell: LocalActorRef[Any],
        steps: Generator[Any, Any, Any],
        yielded: Any,
        reply: asyncio.Future[Any] | None,
        context: contextvars.Context,
        *,
        msg: object,
        entered: bool = False,
        inline: HandlerTask | None = None,
    ) -> None:
        """A handler suspended handling ``msg``: finish it in the standby task (the current
        task it saw), in the context it started in (which is then the task's alone, marked as
        on behalf of this handler); the cell handles nothing until then. The next run makes a
        new standby (just before it is needed: one adopted within the turn it was made in never
        waits idle). ``entered``: the code runs in that context already. ``inline``: the handler
        ran inline (``run_inline``): that standby task adopts it instead, and the caller puts
        the current task back."""
        serial = self._serial = self._serial + 1
        parked = _Parked(msg, reply, serial)
        self._parked[cell._id] = parked
        if context is self._context:
            self._context = contextvars.Context()
        if entered:
            _set_on_behalf(serial)
        else:
            context.run(_set_on_behalf, serial)
        task: HandlerTask = self._standby if inline is None else inline  # type: ignore[assignment]
        task.adopt(
            self._resume(cell, steps, yielded, parked),
            context,
            partial(self._resumed, cell, steps, parked),
        )
        parked.task = task
        if inline is None:
            _leave_task(self.loop, task)
            self._standby = None

    def _unpark(self, cell: LocalActorRef[Any], parked: _Parked) -> bool:
        """Take ``parked`` off the books; False if a forced stop already did (it is abandoned)."""
        if self._parked.get(cell._id) is not parked:
            return False
        del self._parked[cell._id]
        return True

    def give_up(self, cell: LocalActorRef[Any]) -> _Parked | None:
        """A forced stop: take ``cell``'s suspended handler, if any, off the books (abandoned)
        and cancel it.

        Its message and reply are the caller's to account for; whatever its task does from now
        on (a handler that catches the cancellation and goes on) is not counted, and the task's
        end starts the actor's ``on_stop`` (see ``_resumed``). A task that has not begun yet is
        not cancelled (that would skip the handler's ``except CancelledError``): it throws the
        cancellation into the handler as it begins.
        """
        parked = self._parked.pop(cell._id, None)
        if parked is None:
            return None
        parked.abandoned = True
        task = parked.task
        if task is not None and parked.started:
            task.cancel()
        if self._idle_waiters:
            self._wake_if_idle()
        return parked

    def _resumed(
        self,
        cell: LocalActorRef[Any],
        steps: Generator[Any, Any, Any],
        parked: _Parked,
        task: asyncio.Task[None],
    ) -> None:
        """A parked handler's task ended. Normally ``_resume`` has settled everything; a task
        cancelled before its first step never ran it: settle it here as a cancelled handler.
        An abandoned handler's end lets its actor's stop complete (``on_stop`` runs)."""
        if self._unpark(cell, parked):  # cancelled from outside before _resume could run
            steps.close()
            exc = asyncio.CancelledError()
            reply = parked.reply
            if reply is not None and not reply.done():
                reply.set_exception(exc)
            crash(cell, exc, parked.msg, from_outside=True)
            if self._idle_waiters:
                self._wake_if_idle()
        elif parked.abandoned:
            if not parked.started:
                steps.close()
            handler_ended(cell)

    async def _resume(
        self,
        cell: LocalActorRef[Any],
        steps: Generator[Any, Any, Any],
        yielded: Any,
        parked: _Parked,
    ) -> None:
        parked.started = True
        try:
            result = await _Continue(
                steps, yielded, asyncio.CancelledError() if parked.abandoned else None
            )
        except BaseException as exc:  # any kind stops the actor; see the re-raise below
            if self._unpark(cell, parked):  # else abandoned: its message is counted already
                reply = parked.reply
                if reply is not None and not reply.done():
                    reply.set_exception(exc)
                crash(cell, exc, parked.msg, from_outside=_cancelled_from_outside(exc))
                if self._idle_waiters:
                    self._wake_if_idle()
            if not isinstance(exc, Exception | asyncio.CancelledError):
                raise  # KeyboardInterrupt, SystemExit...: after stopping the actor
            return
        if not self._unpark(cell, parked):
            return  # abandoned at a deadline: not handled, its message is a dead letter
        cell.handled += 1
        reply = parked.reply
        if reply is not None and not reply.done():
            reply.set_result(result)
        self.settle(cell)
        if self._idle_waiters:
            self._wake_if_idle()

    def runs_code_of(self, cell: LocalActorRef[Any]) -> bool:
        """True if the code running now is ``cell``'s own, which cannot wait for the actor
        itself: its handler or its ``on_start``, or, while that is in progress, a task started
        by ``on_start`` or by the handler once it has suspended (``asyncio.wait_for`` starts
        one). A task started before the handler's first suspension is not recognised: the
        calls that wait for an actor check this when called, in the handler."""
        if self.running is cell and self._in_running_task():
            return True
        if not cell.scheduled:
            return False  # idle: no handler and no on_start of it is in progress
        parked = self._parked.get(cell._id)
        if parked is not None and parked.task is asyncio.current_task():
            return True
        return self.acting_for(cell)

    def _in_running_task(self) -> bool:
        """While ``running`` names a cell: False if the code running now is in a handler task
        other than the one this dispatcher made current for that run (the turn's standby, or
        the standby of the inline run's depth): the run of another dispatcher on the same loop
        nested in it (another system's actor run inline from this handler), whose code is not
        that cell's. True otherwise (no task, or another kind of task, as before)."""
        current = asyncio.current_task(self.loop)
        if type(current) is not HandlerTask:
            return True
        depth = self._inline_depth
        return current is (self._inline_tasks[depth - 1] if depth else self._standby)

    def task_of(self, cell: LocalActorRef[Any]) -> asyncio.Task[None] | None:
        """The task running ``cell``'s handler that suspended (None when none is)."""
        parked = self._parked.get(cell._id)
        return None if parked is None else parked.task

    def acting_for(self, cell: LocalActorRef[Any]) -> bool:
        """True if the code running now was started on behalf of ``cell``'s handler in progress
        (suspended) or of its ``on_start``: it runs in that context or in a task created from it,
        which the handler may be waiting for. Only for the slow paths (a contextvar read)."""
        serial = ON_BEHALF.get()
        if serial > 0:
            parked = self._parked.get(cell._id)
            return parked is not None and parked.serial == serial
        if serial < 0:
            return self._starting.get(cell._id) == serial
        return False

    # ----------------------------------------------------------------------------- quiet

    @property
    def idle(self) -> bool:
        """True when no actor has mail waiting to run and no handler is in progress."""
        return not self._pending and not self._parked

    async def quiesce(self, timeout: float | None) -> bool:
        """Wait until the dispatcher is idle (see ``idle``); False if ``timeout`` passed first.

        Actors keep running and accepting messages meanwhile; with a cycle of actors that keep
        telling each other, this only ends by the timeout.
        """
        if self.idle:
            return True
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._idle_waiters.append(waiter)
        done, _ = await asyncio.wait((waiter,), timeout=timeout)
        if not done:
            waiter.cancel()
            self._idle_waiters.remove(waiter)
        return bool(done)

    def _wake_if_idle(self) -> None:
        """Resolve the quiesce() waiters if nothing is left to run or in progress."""
        if not self.idle:
            return
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ---------------------------------------------------------------- lifecycle helpers

    def run_detached(self, coro: Coroutine[Any, Any, None], label: str) -> None:
        """Run ``coro`` now, and in a task only if it suspends. Errors are logged.

        Its first step does not run in the standby task (which belongs to handlers): during a
        turn, no task is current for it.
        """
        steps = coro.__await__()
        standby = self._standby
        if standby is not None and asyncio.current_task(self.loop) is not standby:
            standby = None
        if standby is not None:
            _leave_task(self.loop, standby)
        try:
            for yielded in steps:  # noqa: B007 - read after the loop
                break
            else:
                return
        except Exception:
            log.exception("lifecycle step of actor %s failed", label)
            return
        finally:
            if standby is not None:
                _enter_task(self.loop, standby)
        self.loop.create_task(_detached(_Continue(steps, yielded)))


async def _detached(step: _Continue) -> None:
    await step


def _cancelled_from_outside(exc: BaseException) -> bool:
    """True if ``exc`` is the cancellation of the running task itself (``task.cancel()``: the
    event loop ending, or code that cancelled every task), not one the handler merely met."""
    if not isinstance(exc, asyncio.CancelledError):
        return False
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@final
class _Continue:
    """Awaitable that resumes a coroutine which already yielded ``first`` outside any task.

    Awaited inside a task, it hands ``first`` (the future the coroutine waits on) to the task,
    then relays every value and exception between the task and the coroutine until it returns.
    With ``throw``, it first throws that into the coroutine instead (a cancellation that came
    before the task began).
    """

    __slots__ = ("_first", "_steps", "_throw")

    def __init__(
        self, steps: Generator[Any, Any, Any], first: Any, throw: BaseException | None = None
    ) -> None:
        self._steps = steps
        self._first = first
        self._throw = throw

    def __await__(self) -> Generator[Any, Any, Any]:
        steps = self._steps
        yielded = self._first
        self._first = None
        if self._throw is not None:
            exc, self._throw = self._throw, None
            try:
                yielded = steps.throw(exc)
            except StopIteration as stop:
                return stop.value
        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as exc:  # relayed into the coroutine, e.g. a cancellation
                try:
                    yielded = steps.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                yielded = steps.send(sent)
            except StopIteration as stop:
                return stop.value
