"""The two hottest pieces of the runtime: the send fast path and the dispatcher's batch loop.

``MailboxCore`` holds the fields and the ``try_send``/``send`` fast path of a local actor ref;
``DispatcherCore`` the scheduling fields and ``schedule`` of a dispatcher (so the C send path
wakes an idle actor without a Python call); ``run_batch`` handles a batch of one actor's
messages, ``clock`` is the clock its deadlines are on and ``deadline_after`` makes one; ``READY``
(a ``Ready``) is what ``send`` returns when it enqueued at once. Each exists twice with one
behaviour: in C (``_speedups.c``, built when a compiler is available) and here in Python, the
reference and the fallback, always importable under their own names (``PyMailboxCore``,
``PyDispatcherCore``, ``py_run_batch``, ``PY_READY``, ``py_clock``, ``py_deadline_after``). The
C ones are used when importable, unless the environment variable ``MYCELIUM_PURE_PYTHON`` is set
to a non-empty value; ``SPEEDUPS`` tells which are in use.

The fast path is taken only when the message's exact class is in ``accepts``,
``len(_queue) < _limit`` and the caller runs on the dispatcher's thread (``thread_id``);
everything else goes to the subclass's ``put_nowait`` (``try_send``) or ``_send_slow``
(``send``), which perform the full checks and raise the right error.

Scheduling an idle actor can fail (the loop's ``call_soon`` raises once the loop is closed).
Then nothing is left behind, in both builds: ``schedule`` takes the cell back off the ready
queue and restores ``scheduled`` and ``_pending``, and the send takes its message back out of
the queue before the error propagates.

Invariants (kept by the subclasses that assign the fields): ``_limit > 0`` implies ``_queue`` is a
``collections.deque``; ``scheduled`` is True whenever the queue is non-empty.

Intended differences between the builds. None is visible through the public API (refs,
``Mailbox``, the system): ``tests/mycelium`` runs whole on both builds, and
``tests/mycelium/test_twins.py`` runs every operation of the twins through both side by side in
one process (results, errors and their messages and tracebacks, the state left). What remains
is means, seen only by code that reaches into the cores:

* What ``send`` returns when its message woke an idle actor while the dispatcher's
  ``wake_inline`` is set: a ``WokenSend`` in both (``PyWokenSend`` in Python), which calls
  ``dispatcher.run_woken(cell)`` when first stepped; the C one first tries that method's common
  case itself (checks, run, ending: ``woken_fast`` in ``_speedups.c``) and calls ``run_woken``
  only when it does not apply. Likewise ``inline_ask`` (C) runs the common case of
  ``Dispatcher.run_inline(cell, msg, True)`` and leaves the rest to it; ``py_inline_ask`` just
  calls it. Same outcomes; the C build reads the inline fields from the ``DispatcherCore``
  layout, and leaves everything to the Python methods when asyncio's dict of current tasks is
  not usable (``_current_tasks`` None). C reads ``cell.actor.handle`` with its checks, before
  it changes anything; Python (``_run_here``) once the run has begun: a cell whose actor has
  no readable ``handle`` (never one of the runtime's) raises in both, but in Python only after
  taking the message and setting ``running`` and the depth.
* How the fast path recognises the dispatcher's thread. Python: ``_thread.get_ident()``
  against ``thread_id`` (~30 ns a send). C: the address of a thread-local byte against the one
  noted with ``thread_id`` (free; the ident itself where the compiler or libc lacks
  initial-exec thread-locals). ``thread_id`` is the same ident in both, and the slow path's
  check (``LocalActorRef.check_thread``), which raises ``WrongThread``, is shared. C notes the
  address when ``thread_id`` is set from the thread it names (the slow path does that when the
  loop has moved); set from another thread, it notes none and leaves every send to the slow
  path, where Python's fast path would serve the named thread.
* How often ``run_batch`` reads the clock. Python: ``perf_counter`` (the same
  ``CLOCK_MONOTONIC``) after every handler. C: on x86-64 with an invariant TSC, a TSC read says
  when the clock is worth reading; the clock alone decides that the deadline has passed.
* The C fast path takes itself only for a ``DispatcherCore`` dispatcher (whose fields it reads
  directly); with any other object it leaves every send to the slow path.
* The fields are typed in C and read directly: ``_limit`` a ``Py_ssize_t``, ``scheduled`` and
  ``_pending`` bools, ``thread_id`` an unsigned long (anything else raises ``TypeError`` or
  ``OverflowError``; those cannot be deleted, and read 0/False before they are first set);
  ``schedule`` wants ``_ready`` a deque (else ``RuntimeError``), and a fast path that finds a
  field unset or the queue no deque leaves the send to the slow path. C reads and writes its own
  objects' fields past any property a subclass might put over them. Python's slots take any
  value, are unset (``AttributeError``) until assigned, and are read through the attribute
  protocol. The subclasses (``MailboxState``, ``LocalActorRef``, ``Dispatcher``) assign every
  field, with these types, before any use.
* The order of the fast path's checks. C: its fields, the thread, the class in ``accepts``, the
  room; Python: the class, the room, the thread. Only a message class whose metaclass
  ``__hash__`` has side effects or raises can tell (how often it is hashed; sent from another
  thread, its error comes before ``WrongThread`` in Python).
* ``run_batch``'s and ``deadline_after``'s arguments: C converts ``batch`` to an int and the
  seconds and ``deadline`` to a float (``TypeError`` if they do not convert) and wants deques
  for ``queue`` and ``ready`` (``TypeError``); Python computes with them as given. A
  ``PARKED`` outcome's coroutine (of ``run_batch`` and ``run_first``) is the handler's
  coroutine itself in C and its ``__await__()`` iterator in Python (the dispatcher only calls
  ``send``, ``throw`` and ``close`` on it). A handler result whose ``__await__`` returns a
  non-iterator fails with each build's own error. ``run_first`` in C wants a
  ``contextvars.Context`` and, for ``tasks``, a dict (exactly) or None (``TypeError``);
  ``WokenSend(cell)`` in C wants a ``MailboxCore``; Python uses them as given.
* Wrong calls and introspection. A call with the wrong number of arguments, or keywords, raises
  ``TypeError`` in both, worded by each one's calling machinery. The C methods are builtins
  (no ``__code__``); the classes' names and modules differ (``mycelium._speedups.MailboxCore``,
  ``mycelium._core.PyMailboxCore``: ``repr`` and ``__mro__`` show it); ``MailboxCore.tell`` is
  ``try_send`` itself in Python, a method of its own in C. An error raised through the send
  path (the slow path's, a failed wake-up's) has the Python twin's frames in its traceback
  (``try_send``, ``_fast_put``, ``schedule``), where C has none; a handler's error, which the
  dispatcher reports, has the same traceback in both (``py_run_batch`` drops its own frame).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from _thread import get_ident
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from sys import getrefcount
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final, NoReturn, Self, final

__all__ = [
    "ASK",
    "DONE",
    "HANDOFF",
    "OVERTIME",
    "PARKED",
    "PY_READY",
    "RAISED",
    "READY",
    "SPEEDUPS",
    "TAINTED",
    "DispatcherCore",
    "MailboxCore",
    "PyDispatcherCore",
    "PyMailboxCore",
    "PyWokenSend",
    "Ready",
    "SendFuture",
    "WokenSend",
    "clock",
    "completed_send",
    "deadline_after",
    "inline_ask",
    "py_clock",
    "py_completed_send",
    "py_deadline_after",
    "py_inline_ask",
    "py_run_batch",
    "py_run_first",
    "run_batch",
    "run_first",
]

# run_batch's outcome codes (the same numbers in _speedups.c). An outcome is
# (done, code, a, b, msg): ``msg`` is the message whose handler suspended or raised (PARKED,
# RAISED), so that the dispatcher can account for it; None for the other codes.
DONE: Final = 0
"""``done`` messages handled; the batch is over (or the queue ran out)."""
HANDOFF: Final = 1
"""``done`` messages handled; the last one made another actor ready."""
ASK: Final = 2
"""``done`` messages handled, then question ``a`` was taken from the queue: the caller runs it."""
PARKED: Final = 3
"""``done`` messages handled, then the next handler suspended: ``a`` is its coroutine (to be
resumed with send/throw) and ``b`` what it yielded."""
RAISED: Final = 4
"""``done`` messages handled, then the next handler raised ``a``."""
TAINTED: Final = 5
"""``done`` messages handled; the last one kept or changed the watched task (its reference
count moved): the caller replaces that task before running the next handler."""
OVERTIME: Final = 6
"""``done`` messages handled; the clock had reached the deadline when the last one returned
(or, with ``done`` 0, already on entry)."""

BatchOutcome = tuple[int, int, Any, Any, Any]


@final
class SendFuture(asyncio.Future[None], Coroutine[Any, Any, None]):
    """What ``send`` returns while its message waits for room; complete once it is admitted.

    A future of the dispatcher's loop, and a coroutine to asyncio too, so that every asyncio
    API takes it: ``await``, ``create_task`` and ``TaskGroup.create_task`` (which want a
    coroutine), ``ensure_future``, ``gather``, ``wait_for``, ``shield`` (which want an
    awaitable). ``asyncio.wait`` refuses it, as it refuses every coroutine: wrap it in
    ``create_task`` first.

    Resolved with ``None`` once the message is in the mailbox (the dispatcher moves waiting
    messages in, oldest first, as room frees), or failed with ``ActorStopped``. Cancelling it
    (directly, or by cancelling the task that awaits it, even before that task first ran) or
    closing it before then withdraws the message: it is never delivered. Once admitted, the
    message is delivered whatever happens to the awaiter.
    """

    __slots__ = ()

    __name__ = "send"  # how a task driving it names its coroutine

    def send(self, value: None, /) -> Any:
        """Step it as a task steps a coroutine: yields this future until it is done."""
        return self.__await__().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None, /) -> Any:
        """Raise ``typ`` in it; if the message was not admitted yet, it is withdrawn."""
        if not self.done():
            self.cancel()
        steps = self.__await__()
        if val is None and tb is None:
            return steps.throw(typ)
        return steps.throw(typ, val, tb)  # pyright: ignore[reportDeprecated]

    def close(self) -> None:
        """Withdraw the message if it was not admitted yet (as a closed coroutine ends)."""
        if not self.done():
            self.cancel()


@final
class Ready(Coroutine[Any, Any, None]):
    """A coroutine that is already complete: ``await`` gives ``None`` at once. One is shared
    by every send (``READY``): it holds no state and belongs to no loop.

    What ``send`` returns when it enqueued at once, in both builds (the C twin is
    ``_speedups.Ready``). A coroutine to asyncio, so that ``create_task`` and
    ``TaskGroup.create_task`` take it; ``ensure_future`` wraps it in a task.
    """

    __slots__ = ()

    # An exhausted C iterator, called without a Python frame: awaiting costs no bytecode.
    __await__ = ().__iter__  # pyright: ignore[reportAssignmentType]

    def __iter__(self) -> Self:
        """Itself, exhausted (as the C one): ``yield from`` it gives ``None`` at once."""
        return self

    def __next__(self) -> NoReturn:
        raise StopIteration

    def send(self, value: None, /) -> Any:
        """Step it as a task steps a coroutine: it returns ``None`` at once."""
        raise StopIteration

    def throw(self, *args: Any) -> Any:
        """``throw(typ[, val[, tb]])``: a finished coroutine raises what is thrown into it."""
        if not 1 <= len(args) <= 3:  # the arity of coroutine.throw
            raise TypeError("throw expected 1 to 3 arguments")
        typ = args[0]
        val = args[1] if len(args) > 1 else None
        if isinstance(typ, BaseException):
            raise typ
        if isinstance(typ, type) and issubclass(typ, BaseException):
            if val is None:
                raise typ
            if isinstance(val, typ):
                raise val
            raise typ(*val) if isinstance(val, tuple) else typ(val)  # pyright: ignore[reportUnknownArgumentType]
        raise TypeError("exceptions must be classes or instances deriving from BaseException")

    def close(self) -> None:
        """Nothing to close: it is complete."""


PY_READY: Final = Ready()
"""The pure-Python ``READY``: what ``send`` returns when it enqueued at once."""


def py_completed_send(loop: asyncio.AbstractEventLoop) -> Coroutine[Any, Any, None]:
    """What the Python build's ``send`` returns when it enqueued at once: ``PY_READY``,
    whatever the loop (the C build's is ``_speedups.READY``)."""
    return PY_READY


class PyMailboxCore:
    """The pure-Python ``MailboxCore`` (the reference behaviour)."""

    __slots__ = ("_limit", "_queue", "accepts", "dispatcher", "scheduled")

    _queue: deque[Any] | tuple[()]
    _limit: int
    accepts: set[type]
    dispatcher: Any
    scheduled: bool

    def try_send(self, msg: Any, /) -> None:
        """Deliver ``msg`` without waiting (see ``LocalActorRef.try_send``)."""
        if not _fast_put(self, msg):
            self.put_nowait(msg)

    tell = try_send

    def send(self, msg: Any, /) -> Coroutine[Any, Any, None]:
        """Deliver ``msg`` now if there is room (see ``LocalActorRef.send``). If that woke the
        actor while the dispatcher's ``wake_inline`` is set, a ``WokenSend``."""
        was_idle = not self.scheduled
        if _fast_put(self, msg):
            if was_idle and self.dispatcher.wake_inline:
                return PyWokenSend(self)
            return PY_READY
        return self._send_slow(msg)

    if TYPE_CHECKING:  # the subclass's (as in C, a core without them has no such attribute)

        def put_nowait(self, msg: Any, /) -> None:
            """The slow path of ``try_send``."""

        def _send_slow(self, msg: Any, /) -> Coroutine[Any, Any, None]:
            """The slow path of ``send``."""
            ...

    def __getstate__(self) -> NoReturn:
        """Refused (as C refuses): a copy would share the original's queue and flags."""
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")


def _fast_put(core: PyMailboxCore, msg: Any, /) -> bool:
    """The fast path of ``try_send`` and ``send`` (C: ``core_fast_put``): True if ``msg`` was
    appended (and the idle actor scheduled), False if the caller must take the slow path."""
    queue = core._queue  # pyright: ignore[reportPrivateUsage]  # the core's own fields
    if (
        type(msg) in core.accepts
        and len(queue) < core._limit  # pyright: ignore[reportPrivateUsage]
        and get_ident() == core.dispatcher.thread_id
    ):
        queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
        if not core.scheduled:
            try:
                core.dispatcher.schedule(core)
            except BaseException:
                queue.pop()  # type: ignore[union-attr]  # a failed wake-up leaves nothing
                raise
        return True
    return False


@final
class PyWokenSend(Coroutine[Any, Any, None]):
    """What ``send`` returns when its message woke an idle actor (enqueued, the actor
    scheduled) while the dispatcher's ``wake_inline`` was set: awaiting it (its first step)
    calls ``cell.dispatcher.run_woken(cell)`` once, which may run the handler at once; it then
    completes with None. Thrown into, it raises what was thrown; closed, it forgets the cell:
    either way the message, accepted already, is the dispatcher's turn's to handle."""

    __slots__ = ("_cell",)

    __name__ = "send"  # how a task driving it names its coroutine

    def __init__(self, cell: Any) -> None:
        self._cell: Any = cell

    def send(self, value: None, /) -> Any:
        cell = self._cell
        if cell is not None:
            self._cell = None
            cell.dispatcher.run_woken(cell)
        raise StopIteration

    def throw(self, *args: Any) -> Any:
        """``throw(typ[, val[, tb]])``: raises what is thrown, as ``Ready.throw`` (C: the
        same function)."""
        self._cell = None
        return PY_READY.throw(*args)

    def close(self) -> None:
        self._cell = None

    def __await__(self) -> Generator[Any, None, None]:
        return self  # type: ignore[return-value]  # an iterator: __next__ is send(None)

    def __iter__(self) -> Self:
        """Itself (as the C one): ``yield from`` it takes its first step."""
        return self

    def __next__(self) -> Any:
        return self.send(None)


class PyDispatcherCore:
    """The pure-Python ``DispatcherCore`` (the reference behaviour).

    Invariant (kept with the subclass): ``_pending`` is True iff a call of ``_run_handle`` is
    scheduled on the loop or running; every cell in ``_ready`` has ``scheduled`` set.
    ``thread_id`` is the ``threading.get_ident()`` of the thread that created the dispatcher
    (the loop's thread); the send path moves it when it finds the loop running on another.
    """

    __slots__ = (
        "_ask_type",
        "_call_soon",
        "_current_tasks",
        "_inline_budget",
        "_inline_cap",
        "_inline_contexts",
        "_inline_deadline",
        "_inline_depth",
        "_inline_free",
        "_inline_loop",
        "_inline_sent",
        "_inline_tasks",
        "_loop_turned_handle",
        "_pending",
        "_ready",
        "_run_handle",
        "running",
        "thread_id",
        "wake_inline",
    )

    _ready: deque[Any]
    _call_soon: Callable[[Callable[[], None]], object]
    _run_handle: Callable[[], None]
    _pending: bool
    thread_id: int
    wake_inline: bool
    # The fields of inline runs (set by the subclass; the C WokenSend's fast path reads them).
    running: Any
    _inline_sent: int
    _inline_depth: int
    _inline_free: bool
    _inline_cap: int
    _inline_deadline: float
    _inline_budget: float
    _inline_tasks: list[Any]
    _inline_contexts: list[Any]
    _current_tasks: dict[object, object] | None
    _inline_loop: Any
    _ask_type: type
    _loop_turned_handle: Callable[[], None]

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        self = super().__new__(cls)
        self.thread_id = get_ident()
        self.wake_inline = False
        return self

    def __getstate__(self) -> NoReturn:
        """Refused (as C refuses): a copy would share the original's ready queue and flags."""
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def schedule(self, cell: Any, /) -> None:
        """Put ``cell`` on the ready queue. Precondition: ``cell.scheduled`` is False.

        If asking the loop for a run fails, the cell is taken back off the ready queue, its
        flag and ``_pending`` are restored, and the error propagates.
        """
        cell.scheduled = True
        ready = self._ready
        ready.append(cell)
        if not self._pending:
            self._pending = True
            try:
                self._call_soon(self._run_handle)
            except BaseException:
                self._pending = False
                ready.pop()
                cell.scheduled = False
                raise


def py_run_batch(  # noqa: PLR0917 - positional, as the C twin's fast call
    queue: deque[Any],
    handle: Callable[[Any], Awaitable[Any]],
    batch: int,
    ready: deque[Any],
    ask_type: type,
    task: object,
    deadline: float,
    /,
) -> BatchOutcome:
    """Handle up to ``batch`` messages of ``queue`` with ``handle``; stop at anything special.

    Each handler's coroutine is driven by hand; one that finishes without suspending costs no
    task. The batch stops early at a question (``ASK``), a handler that suspends (``PARKED``) or
    raises (``RAISED``), a handler after which ``task`` (the dispatcher's standby task; None:
    not watched) has more or fewer references than before it (``TAINTED``), a handler that
    returned once ``clock()`` had reached ``deadline`` (``OVERTIME``, read after every handler,
    and on entry: then nothing is handled), a message whose handler made another actor ready,
    seen as ``ready`` growing (``HANDOFF``), or an empty queue. Returns ``(done, code, a, b,
    msg)``: see the codes; ``msg`` is the message of a handler that suspended or raised, else
    None.
    """
    before = len(ready)
    watched = task is not None
    refs, clock = getrefcount, perf_counter  # locals: read after every handler
    held = refs(task)
    done = 0
    if clock() >= deadline:  # spent by what ran before (a question, say)
        return done, OVERTIME, None, None, None
    while done < batch and queue:
        msg = queue.popleft()
        if type(msg) is ask_type:
            return done, ASK, msg, None, None
        try:
            awaitable = handle(msg)
            try:
                steps = awaitable.__await__()
            except AttributeError:
                if hasattr(type(awaitable), "__await__"):
                    raise  # its own error
                # Made, not raised (as in C): no context, no traceback.
                error = f"handle() returned {type(awaitable).__name__}, not an awaitable"
                return done, RAISED, TypeError(error), None, msg
            for yielded in steps:
                return done, PARKED, steps, yielded, msg
        except BaseException as exc:  # the dispatcher decides what each kind means
            # Drop this frame (caught here, it is the first): the traceback starts at the
            # handler's, as in C. No local holds it: that would be a cycle through the frame.
            exc.__traceback__ = exc.__traceback__.tb_next  # pyright: ignore[reportOptionalMemberAccess]
            return done, RAISED, exc, None, msg
        del msg, awaitable, steps  # released now (as in C): the checks below see what that does
        done += 1
        if watched and refs(task) != held:
            return done, TAINTED, None, None, None
        if clock() >= deadline:
            return done, OVERTIME, None, None, None
        if len(ready) != before:
            return done, HANDOFF, None, None, None
    return done, DONE, None, None, None


def py_run_first(  # noqa: PLR0917 - positional, as the C twin's fast call
    handle: Callable[[Any], Awaitable[Any]],
    msg: object,
    context: contextvars.Context,
    task: object,
    loop: object,
    tasks: dict[object, object] | None,
    /,
) -> tuple[int, Any, Any]:
    """Take the first step of ``handle(msg)``, run inline (``Dispatcher._run_here``).

    It runs in ``context``, with ``task`` as ``loop``'s current task in ``tasks`` (asyncio's
    dict of current tasks; None: the caller makes ``task`` current itself), the previous one
    put back after. Returns ``(code, a, b)``, with run_batch's codes: ``DONE`` (``a``: the
    answer), ``TAINTED`` (it returned, ``a``: the answer, and ``task`` has more or fewer
    references than before it), ``PARKED`` (``a``: its coroutine, ``b``: what it yielded),
    ``RAISED`` (``a``: the exception).
    """
    outer = None
    if tasks is not None:
        outer = tasks.get(loop)
        tasks[loop] = task
    held = getrefcount(task)
    try:
        try:
            steps, value = context.run(_py_start, handle, msg)
        except BaseException as exc:  # the dispatcher decides what each kind means
            below = exc.__traceback__.tb_next  # pyright: ignore[reportOptionalMemberAccess]
            if below is None:  # context.run's own (an entered context): raised, as in C
                raise
            # Drop this frame and _py_start's (the first two): the traceback starts at the
            # handler's, as in C (None for an error of _py_start's own, made there in C).
            exc.__traceback__ = below.tb_next
            outcome: tuple[int, Any, Any] = (RAISED, exc, None)
        else:
            if steps is not None:
                outcome = (PARKED, steps, value)
            elif getrefcount(task) != held:
                outcome = (TAINTED, value, None)
            else:
                outcome = (DONE, value, None)
    finally:
        if tasks is not None:
            if outer is None:
                del tasks[loop]
            else:
                tasks[loop] = outer
    return outcome


def py_inline_ask(dispatcher: Any, cell: Any, msg: object, /) -> Any:
    """``dispatcher.run_inline(cell, msg, True)``: an ask's inline run (the C twin does its
    common case itself, and leaves the rest to ``run_inline``)."""
    return dispatcher.run_inline(cell, msg, True)


def _py_start(handle: Callable[[Any], Awaitable[Any]], msg: object) -> tuple[Any, Any]:
    """``(steps, yielded)`` if ``handle(msg)`` suspended, ``(None, answer)`` if it returned."""
    awaitable = handle(msg)
    try:
        steps = awaitable.__await__()
    except AttributeError:
        if hasattr(type(awaitable), "__await__"):
            raise  # its own error
        steps = None
    if steps is None:  # raised outside the handler above (as in C): no context
        raise TypeError(f"handle() returned {type(awaitable).__name__}, not an awaitable")
    try:
        return steps, next(steps)  # (as C: an iterator need not have send)
    except StopIteration as stop:
        return None, stop.value


py_clock: Callable[[], float] = perf_counter
"""The pure-Python ``clock``: ``time.perf_counter`` (what ``py_run_batch`` reads)."""


def py_deadline_after(seconds: float, /) -> float:
    """``clock() + seconds``: a deadline for ``run_batch`` (the C one also primes its TSC)."""
    return perf_counter() + seconds


if TYPE_CHECKING:
    run_batch = py_run_batch
    run_first = py_run_first
    inline_ask = py_inline_ask
    WokenSend = PyWokenSend
    DispatcherCore = PyDispatcherCore
    MailboxCore = PyMailboxCore
    clock: Callable[[], float] = perf_counter
    deadline_after = py_deadline_after
    SPEEDUPS: bool
    READY: Coroutine[Any, Any, None]
else:
    SPEEDUPS = False
    if not os.environ.get("MYCELIUM_PURE_PYTHON"):
        try:
            from ._speedups import (
                READY,
                DispatcherCore,
                MailboxCore,
                WokenSend,
                clock,
                deadline_after,
                inline_ask,
                run_batch,
                run_first,
            )
        except ImportError as exc:
            # Never built (a source install without a compiler) is legitimate and silent; an
            # extension that is there but fails to load (stale, wrong ABI, corrupt) is a broken
            # install the user should hear about, once (this module is imported once).
            if not (
                isinstance(exc, ModuleNotFoundError) and exc.name == f"{__package__}._speedups"
            ):
                import warnings

                warnings.warn(
                    f"mycelium: the C speedups failed to load ({exc}); running on the "
                    "pure-Python core (mycelium.SPEEDUPS is False). Reinstall the package to "
                    "rebuild them, or set MYCELIUM_PURE_PYTHON=1 to choose the Python core on "
                    "purpose.",
                    RuntimeWarning,
                    stacklevel=1,
                )
        else:
            SPEEDUPS = True
    if not SPEEDUPS:
        MailboxCore, DispatcherCore, run_batch = PyMailboxCore, PyDispatcherCore, py_run_batch
        READY, clock, deadline_after = PY_READY, py_clock, py_deadline_after
        run_first, inline_ask, WokenSend = py_run_first, py_inline_ask, PyWokenSend


def completed_send(loop: asyncio.AbstractEventLoop) -> Coroutine[Any, Any, None]:
    """What ``send`` returns when it enqueued at once: ``READY``, whatever the loop."""
    return READY
