"""The two hottest pieces of the runtime: the send fast path and the dispatcher's batch loop.

``MailboxCore`` holds the fields and the ``try_send``/``send`` fast path of a local actor ref;
``DispatcherCore`` the scheduling fields and ``schedule`` of a dispatcher (so the C send path
wakes an idle actor without a Python call); ``run_batch`` handles a batch of one actor's
messages, ``clock`` is the clock its deadlines are on and ``deadline_after`` makes one. Each
exists twice with one behaviour: in C (``_speedups.c``, built when a compiler is available) and
here in Python, the reference and the fallback (one difference of means, not of behaviour: the
C ``run_batch`` reads a TSC to know when the clock is worth reading, the Python one reads
``perf_counter`` after every handler). The C ones are used when importable, unless the
environment variable ``MYCELIUM_PURE_PYTHON`` is set to a non-empty value; ``SPEEDUPS`` tells
which are in use.

The fast path is taken only when the message's exact class is in ``accepts`` and
``len(_queue) < _limit``; everything else goes to the subclass's ``put_nowait``, which performs
the full checks and raises the right error.

Invariants (kept by the subclasses that assign the fields): ``_limit > 0`` implies ``_queue`` is a
``collections.deque``; ``scheduled`` is True whenever the queue is non-empty.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from sys import getrefcount
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final, final

__all__ = [
    "ASK",
    "DONE",
    "HANDOFF",
    "OVERTIME",
    "PARKED",
    "RAISED",
    "READY",
    "SPEEDUPS",
    "TAINTED",
    "DispatcherCore",
    "MailboxCore",
    "PyDispatcherCore",
    "PyMailboxCore",
    "clock",
    "deadline_after",
    "py_deadline_after",
    "py_run_batch",
    "run_batch",
]

# run_batch's outcome codes (the same numbers in _speedups.c).
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

BatchOutcome = tuple[int, int, Any, Any]


@final
class _Ready:
    """An awaitable that is already complete: ``await`` gives ``None`` at once. Shared."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())  # pyright: ignore[reportReturnType]  # an exhausted iterator suffices

    def __repr__(self) -> str:
        return "<ready>"


PY_READY = _Ready()


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
        queue = self._queue
        if type(msg) in self.accepts and len(queue) < self._limit:
            queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
            if not self.scheduled:
                self.dispatcher.schedule(self)
            return
        self.put_nowait(msg)

    tell = try_send

    def send(self, msg: Any, /) -> Awaitable[None]:
        """Deliver ``msg`` now if there is room (see ``LocalActorRef.send``)."""
        queue = self._queue
        if type(msg) in self.accepts and len(queue) < self._limit:
            queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
            if not self.scheduled:
                self.dispatcher.schedule(self)
            # A completed future of the loop: awaiting it is cheaper than any Python __await__.
            completed: Awaitable[None] = self.dispatcher.completed
            return completed
        return self._send_slow(msg)

    def put_nowait(self, msg: Any, /) -> None:
        """The slow path of ``try_send``; implemented by the subclass."""
        raise NotImplementedError

    def _send_slow(self, msg: Any, /) -> Awaitable[None]:
        """The slow path of ``send``; implemented by the subclass."""
        raise NotImplementedError


class PyDispatcherCore:
    """The pure-Python ``DispatcherCore`` (the reference behaviour).

    Invariant (kept with the subclass): ``_pending`` is True iff a call of ``_run_handle`` is
    scheduled on the loop or running; every cell in ``_ready`` has ``scheduled`` set.
    """

    __slots__ = ("_call_soon", "_pending", "_ready", "_run_handle")

    _ready: deque[Any]
    _call_soon: Callable[[Callable[[], None]], object]
    _run_handle: Callable[[], None]
    _pending: bool

    def schedule(self, cell: Any, /) -> None:
        """Put ``cell`` on the ready queue. Precondition: ``cell.scheduled`` is False."""
        cell.scheduled = True
        self._ready.append(cell)
        if not self._pending:
            self._pending = True
            self._call_soon(self._run_handle)


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
    seen as ``ready`` growing (``HANDOFF``), or an empty queue. Returns ``(done, code, a, b)``:
    see the codes.
    """
    before = len(ready)
    watched = task is not None
    refs, clock = getrefcount, perf_counter  # locals: read after every handler
    held = refs(task)
    done = 0
    if clock() >= deadline:  # spent by what ran before (a question, say)
        return done, OVERTIME, None, None
    while done < batch and queue:
        msg = queue.popleft()
        if type(msg) is ask_type:
            return done, ASK, msg, None
        try:
            awaitable = handle(msg)
            try:
                steps = awaitable.__await__()
            except AttributeError:
                raise TypeError(
                    f"handle() returned {type(awaitable).__name__}, not an awaitable"
                ) from None
            for yielded in steps:
                return done, PARKED, steps, yielded
        except BaseException as exc:  # the dispatcher decides what each kind means
            return done, RAISED, exc, None
        done += 1
        if watched and refs(task) != held:
            return done, TAINTED, None, None
        if clock() >= deadline:
            return done, OVERTIME, None, None
        if len(ready) != before:
            return done, HANDOFF, None, None
    return done, DONE, None, None


py_clock: Callable[[], float] = perf_counter
"""The pure-Python ``clock``: ``time.perf_counter`` (what ``py_run_batch`` reads)."""


def py_deadline_after(seconds: float, /) -> float:
    """``clock() + seconds``: a deadline for ``run_batch`` (the C one also primes its TSC)."""
    return perf_counter() + seconds


if TYPE_CHECKING:
    run_batch = py_run_batch
    DispatcherCore = PyDispatcherCore
    MailboxCore = PyMailboxCore
    READY: Awaitable[None] = PY_READY
    clock: Callable[[], float] = perf_counter
    deadline_after = py_deadline_after
    SPEEDUPS: bool
elif os.environ.get("MYCELIUM_PURE_PYTHON"):
    MailboxCore, DispatcherCore, READY, run_batch, clock, deadline_after = (
        PyMailboxCore,
        PyDispatcherCore,
        PY_READY,
        py_run_batch,
        py_clock,
        py_deadline_after,
    )
    SPEEDUPS = False
else:
    try:
        from ._speedups import (
            READY,
            DispatcherCore,
            MailboxCore,
            clock,
            deadline_after,
            run_batch,
        )
    except ImportError:  # no compiler when the package was built: the Python path is used
        MailboxCore, DispatcherCore, READY = PyMailboxCore, PyDispatcherCore, PY_READY
        run_batch, clock, deadline_after = py_run_batch, py_clock, py_deadline_after
        SPEEDUPS = False
    else:
        SPEEDUPS = True
