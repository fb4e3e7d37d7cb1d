"""The C core and its pure-Python twin, side by side in one process.

Every operation of the twin classes (``MailboxCore``: ``try_send``, ``tell``, ``send``;
``DispatcherCore``: ``schedule``, ``thread_id``; ``run_batch``; what ``send`` returns at once;
the inline runs: ``WokenSend``, ``inline_ask``, ``run_first``) runs on both implementations
(the Python ones imported from ``mycelium._core`` under their ``py`` names, the C ones from
``mycelium._speedups``, whatever ``MYCELIUM_PURE_PYTHON`` says), and what can be observed is
compared: return values, errors (type and message), the state left (queue, limit, flags, ready
queue, the inline fields) and which path the send took. The intended differences that remain
are listed in ``_core.py``'s docstring; none of them is observable here.

The cells are small subclasses of each twin with a slow path of their own, the shape
``LocalActorRef`` gives them (first message creates the queue, full, closed, senders waiting
for room, a failed wake-up), so that one process can hold both.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import datetime
import importlib.util
import pickle
import threading
import traceback
import types
from asyncio.tasks import _enter_task, _leave_task  # pyright: ignore[reportPrivateUsage]
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import Actor, ActorSystem, Mailbox, _core  # pyright: ignore[reportPrivateUsage]
from mycelium import dispatcher as dispatcher_module
from mycelium._core import SendFuture  # pyright: ignore[reportPrivateUsage]
from mycelium._handler_task import CURRENT_TASKS, HandlerTask  # pyright: ignore[reportPrivateUsage]
from mycelium.local_ref import RUNNING, Ask

BUILT = importlib.util.find_spec("mycelium._speedups") is not None


@dataclass(frozen=True)
class Twin:
    """One implementation of the core: its classes and functions."""

    name: str
    MailboxCore: type[Any]
    DispatcherCore: type[Any]
    run_batch: Callable[..., Any]
    completed_send: Callable[[asyncio.AbstractEventLoop], Any]
    WokenSend: type[Any]
    inline_ask: Callable[..., Any]
    run_first: Callable[..., Any]


PYTHON = Twin(
    "python",
    _core.PyMailboxCore,
    _core.PyDispatcherCore,
    _core.py_run_batch,
    _core.py_completed_send,
    _core.PyWokenSend,
    _core.py_inline_ask,
    _core.py_run_first,
)


def _c_twin() -> Twin | None:
    if not BUILT:
        return None
    from mycelium import _speedups

    def ready(loop: asyncio.AbstractEventLoop) -> Any:
        return _speedups.READY

    return Twin(
        "c",
        _speedups.MailboxCore,
        _speedups.DispatcherCore,
        _speedups.run_batch,
        ready,
        _speedups.WokenSend,
        _speedups.inline_ask,
        _speedups.run_first,
    )


C = _c_twin()
NOT_BUILT = "the C extension is not built"

TWINS = [
    pytest.param(PYTHON, id="python"),
    pytest.param(C, id="c", marks=pytest.mark.skipif(C is None, reason=NOT_BUILT)),
]


@pytest.fixture(params=TWINS)
def twin(request: pytest.FixtureRequest) -> Twin:
    """Each implementation in turn (the C one skipped when it is not built)."""
    chosen: Twin = request.param
    return chosen


def both() -> tuple[Twin, Twin]:
    """The two implementations, for a side-by-side comparison (skips if C is not built)."""
    if C is None:
        pytest.skip(NOT_BUILT)
    return PYTHON, C


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A real uvloop loop, not running: the tests step it with ``turn``."""
    made = uvloop.new_event_loop()
    yield made
    made.close()


@pytest.fixture
def closed_loop() -> asyncio.AbstractEventLoop:
    """A closed uvloop loop: its ``call_soon`` raises ``RuntimeError``."""
    made = uvloop.new_event_loop()
    made.close()
    return made


# ----------------------------------------------------------------------------- the cells


class Accepted:
    """A message class the cells accept (in ``accepts`` from the start: the fast path)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n})"


class Admitted(Accepted):
    """Accepted by the check, but learnt on the slow path (not in ``accepts`` at first)."""


class Refused:
    """Refused by the check."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Refused({self.n})"


class Boom(Accepted):
    """Its handler raises."""


class Full(Exception):
    pass


class Stopped(Exception):
    pass


class NotAMessage(TypeError):
    pass


class OtherThread(Exception):
    pass


def make_classes(twin: Twin, loop: asyncio.AbstractEventLoop) -> tuple[type[Any], type[Any]]:
    """A cell class and a dispatcher class over ``twin``'s cores, with a slow path each."""

    class Dispatcher(twin.DispatcherCore):
        __slots__ = ("calls", "handled", "outcomes", "sound")
        _ready: deque[Any]

        def __init__(self) -> None:
            self._ready = deque()
            self.sound = loop.call_soon
            self._call_soon = self.call_soon
            self._run_handle = self.run
            self._pending = False
            self.calls = 0
            self.handled: list[str] = []
            self.outcomes: list[object] = []

        def call_soon(self, callback: Callable[[], None]) -> object:
            self.calls += 1
            return self.sound(callback)

        async def handle(self, msg: Accepted) -> None:
            if type(msg) is Boom:
                raise ValueError(f"boom {msg.n}")
            self.handled.append(repr(msg))

        def run(self) -> None:
            """One run of every ready cell (two messages each at most), then admit waiters."""
            ready = self._ready
            self._pending = False
            for _ in range(len(ready)):
                cell: Any = ready.popleft()
                outcome = twin.run_batch(cell._queue, self.handle, 2, ready, Refused, None, 1e300)
                done, code, a, _b, msg = outcome
                if code == _core.RAISED:
                    self.outcomes.append((done, code, type(a).__name__, str(a), repr(msg)))
                else:
                    self.outcomes.append((done, code))
                cell.admit_waiters()
                cell.scheduled = False
                if cell._queue:
                    try:
                        self.schedule(cell)
                    except RuntimeError as exc:
                        self.outcomes.append(("not rescheduled", str(exc)))

    class Cell(twin.MailboxCore):
        __slots__ = ("capacity", "slow", "waiters")
        _queue: Any

        def __init__(self, dispatcher: Any, capacity: int) -> None:
            self._queue = ()
            self._limit = 0
            self.accepts = {Accepted, Boom}
            self.dispatcher = dispatcher
            self.scheduled = False
            self.capacity = capacity
            self.slow: list[str] = []
            self.waiters: deque[tuple[object, SendFuture]] = deque()

        def check(self, msg: object) -> None:
            if threading.get_ident() != self.dispatcher.thread_id:
                raise OtherThread(f"{msg!r} from another thread")
            if type(msg) not in self.accepts:
                if not isinstance(msg, Accepted):
                    raise NotAMessage(f"{msg!r} is not a message")
                self.accepts.add(type(msg))

        def put_nowait(self, msg: object) -> None:
            self.slow.append("put_nowait")
            self.check(msg)
            if self._limit < 0:
                raise Stopped(f"{msg!r}: stopped")
            if self.waiters or (self._queue and len(self._queue) >= self.capacity):
                raise Full(f"{msg!r}: full")
            self.append(msg)

        def _send_slow(self, msg: object) -> Any:
            self.slow.append("_send_slow")
            self.check(msg)
            if self._limit < 0:
                raise Stopped(f"{msg!r}: stopped")
            if self.waiters or (self._queue and len(self._queue) >= self.capacity):
                entering = SendFuture(loop=loop)
                self.waiters.append((msg, entering))
                self._limit = 0
                return entering
            self.append(msg)
            return twin.completed_send(loop)

        def append(self, msg: object) -> None:
            if type(self._queue) is tuple:
                self._queue = deque()
            self._queue.append(msg)
            if not self.waiters:
                self._limit = self.capacity
            if not self.scheduled:
                try:
                    self.dispatcher.schedule(self)
                except BaseException:
                    self._queue.pop()
                    raise

        def admit_waiters(self) -> None:
            waiters = self.waiters
            while waiters and len(self._queue) < self.capacity and self._limit >= 0:
                msg, entering = waiters.popleft()
                if not entering.done():
                    self._queue.append(msg)
                    entering.set_result(None)
            if not waiters and self._limit >= 0:
                self._limit = self.capacity

        def close(self) -> None:
            self._limit = -1
            while self.waiters:
                msg, entering = self.waiters.popleft()
                if not entering.done():
                    entering.set_exception(Stopped(f"{msg!r}: stopped"))

    return Cell, Dispatcher


class CellState(NamedTuple):
    queue: list[str] | str  # the messages queued, or "()" before the queue exists
    limit: int
    scheduled: bool
    accepts: tuple[str, ...]
    slow: tuple[str, ...]  # the slow-path calls so far
    waiters: list[tuple[str, str]]


class State(NamedTuple):
    cells: tuple[CellState, ...]
    ready: list[str]
    pending: bool
    calls: int  # of call_soon
    handled: tuple[str, ...]
    outcomes: tuple[object, ...]  # of run_batch
    sends: list[str]  # the futures of the sends that had to wait


class Step(NamedTuple):
    op: str
    args: tuple[Any, ...]
    result: object
    state: Any  # a State (World) or an InlineState (InlineWorld)


class World:
    """Two cells of one dispatcher over one twin, driven by named operations."""

    def __init__(self, twin: Twin, loop: asyncio.AbstractEventLoop, closed: Any) -> None:
        self.twin = twin
        self.loop = loop
        self.closed = closed
        cell_class, dispatcher_class = make_classes(twin, loop)
        self.dispatcher = dispatcher_class()
        self.cells = [cell_class(self.dispatcher, 2), cell_class(self.dispatcher, 3)]
        self.sends: list[Any] = []  # what every send returned that was not ready at once
        self.names = {id(cell): f"cell{i}" for i, cell in enumerate(self.cells)}

    def state(self) -> State:
        """Everything observable of the cells and the dispatcher."""
        d = self.dispatcher
        cells = tuple(
            CellState(
                queue_of(c),
                c._limit,
                c.scheduled,
                tuple(sorted(t.__name__ for t in c.accepts)),
                tuple(c.slow),
                [(repr(m), describe_future(f)) for m, f in c.waiters],
            )
            for c in self.cells
        )
        return State(
            cells,
            [self.names[id(c)] for c in d._ready],
            d._pending,
            d.calls,
            tuple(d.handled),
            tuple(d.outcomes),
            [describe_future(f) for f in self.sends],
        )

    def do(self, op: str, *args: Any) -> Step:
        """Run one operation; returns what it returned or raised, and the state after it."""
        try:
            result = describe(self, getattr(self, op)(*args))
        except Exception as exc:  # compared between the twins
            result = ("raised", type(exc).__name__, str(exc))
        return Step(op, args, result, self.state())

    # The operations.

    def try_send(self, cell: int, kind: type[Any], n: int) -> object:
        return self.cells[cell].try_send(kind(n))

    def tell(self, cell: int, kind: type[Any], n: int) -> object:
        return self.cells[cell].tell(kind(n))

    def send(self, cell: int, kind: type[Any], n: int) -> object:
        sent = self.cells[cell].send(kind(n))
        if isinstance(sent, SendFuture):
            self.sends.append(sent)
        return sent

    def try_send_from_another_thread(self, cell: int, kind: type[Any], n: int) -> object:
        caught: list[object] = []

        def run() -> None:
            try:
                caught.append(self.cells[cell].try_send(kind(n)))
            except Exception as exc:  # handed back to this thread
                caught.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        if isinstance(caught[0], Exception):
            raise caught[0]
        return caught[0]

    def turn(self) -> None:
        """One iteration of the loop: the dispatcher's run, if one was asked for."""
        self.loop.run_until_complete(asyncio.sleep(0))

    def close(self, cell: int) -> None:
        self.cells[cell].close()

    def break_loop(self) -> None:
        """From now on, asking the loop for a run fails (the loop is closed)."""
        self.dispatcher.sound = self.closed.call_soon

    def mend_loop(self) -> None:
        self.dispatcher.sound = self.loop.call_soon

    def cancel_send(self, index: int) -> object:
        if not self.sends:
            return None
        return self.sends[index % len(self.sends)].cancel()


def queue_of(cell: Any) -> list[str] | str:
    queue: Any = cell._queue
    if isinstance(queue, deque):
        messages: deque[object] = queue  # pyright: ignore[reportUnknownVariableType]
        return [type(m).__name__ if isinstance(m, Ask) else repr(m) for m in messages]
    return repr(queue)


def describe_future(future: asyncio.Future[Any]) -> str:
    if future.cancelled():
        return "cancelled"
    if not future.done():
        return "waiting"
    if future.exception() is not None:
        return f"failed: {future.exception()}"
    return "admitted"


def describe(world: World, result: object) -> object:
    """What an operation returned, comparable between the twins."""
    if result is world.twin.completed_send(world.loop):
        return "ready at once"
    if isinstance(result, world.twin.WokenSend):
        return "woken"
    if isinstance(result, SendFuture):
        return ("SendFuture", describe_future(result))
    return result


def run_on(twin: Twin, ops: list[tuple[Any, ...]], closed: Any) -> list[Step]:
    loop = uvloop.new_event_loop()
    try:
        world = World(twin, loop, closed)
        return [world.do(*op) for op in ops]
    finally:
        loop.close()


# ------------------------------------------------------------------ scenarios, each twin

A, B, R = Accepted, Admitted, Refused


def test_sends_with_room_take_the_fast_path(twin: Twin, closed_loop: Any) -> None:
    ops = [("try_send", 0, A, 1), ("try_send", 0, A, 2), ("tell", 1, A, 3)]
    trace = run_on(twin, ops, closed_loop)
    assert [step.result for step in trace] == [None, None, None]
    state = trace[-1].state
    first = state.cells[0]
    assert (first.queue, first.limit, first.scheduled) == (["Accepted(1)", "Accepted(2)"], 2, True)
    assert first.slow == ("put_nowait",)  # the first message creates the queue: slow
    assert state.cells[1].slow == ("put_nowait",)
    assert (state.ready, state.pending, state.calls) == (["cell0", "cell1"], True, 1)


def test_a_full_mailbox_refuses_try_send_and_makes_send_wait(twin: Twin, closed_loop: Any) -> None:
    ops = [("try_send", 0, A, 1), ("try_send", 0, A, 2), ("try_send", 0, A, 3), ("send", 0, A, 4)]
    trace = run_on(twin, ops, closed_loop)
    assert trace[2].result == ("raised", "Full", "Accepted(3): full")
    assert trace[3].result == ("SendFuture", "waiting")
    cell = trace[3].state.cells[0]
    assert cell.limit == 0  # the fast path is closed while someone waits
    assert cell.waiters == [("Accepted(4)", "waiting")]
    assert cell.slow == ("put_nowait", "put_nowait", "_send_slow")


def test_waiting_senders_are_admitted_in_order_and_a_cancelled_one_withdrawn(
    twin: Twin, closed_loop: Any
) -> None:
    ops = [
        ("send", 0, A, 1),
        ("send", 0, A, 2),
        ("send", 0, A, 3),
        ("send", 0, A, 4),
        ("cancel_send", 0),
        ("try_send", 0, A, 5),
        ("turn",),
        ("turn",),
    ]
    trace = run_on(twin, ops, closed_loop)
    assert [step.result for step in trace[:4]] == [
        "ready at once",
        "ready at once",
        ("SendFuture", "waiting"),
        ("SendFuture", "waiting"),
    ]
    assert trace[4].result is True
    assert trace[5].result == ("raised", "Full", "Accepted(5): full")
    state = trace[-1].state
    assert state.handled == ("Accepted(1)", "Accepted(2)", "Accepted(4)")  # 3 was withdrawn
    assert state.sends == ["cancelled", "admitted"]


def test_a_closed_mailbox_refuses_every_send(twin: Twin, closed_loop: Any) -> None:
    ops = [("send", 0, A, 1), ("close", 0), ("try_send", 0, A, 2), ("send", 0, A, 3)]
    trace = run_on(twin, ops, closed_loop)
    assert trace[2].result == ("raised", "Stopped", "Accepted(2): stopped")
    assert trace[3].result == ("raised", "Stopped", "Accepted(3): stopped")
    assert trace[3].state.cells[0].slow == ("_send_slow", "put_nowait", "_send_slow")


def test_a_failed_wake_up_leaves_nothing_behind(twin: Twin, closed_loop: Any) -> None:
    ops = [
        ("send", 0, A, 1),
        ("turn",),  # handled: the cell is idle again, its queue open
        ("break_loop",),
        ("try_send", 0, A, 2),
        ("send", 0, A, 3),
        ("mend_loop",),
        ("try_send", 0, A, 4),
        ("turn",),
    ]
    trace = run_on(twin, ops, closed_loop)
    for failed in trace[3], trace[4]:
        assert failed.result == ("raised", "RuntimeError", "Event loop is closed")
        state = failed.state
        cell = state.cells[0]
        assert (cell.queue, cell.scheduled, state.ready, state.pending) == ([], False, [], False)
        assert cell.slow == ("_send_slow",)  # it was the fast path's wake-up that failed
    assert trace[-1].state.handled == ("Accepted(1)", "Accepted(4)")


def test_other_threads_and_refused_messages_take_the_slow_path(
    twin: Twin, closed_loop: Any
) -> None:
    ops = [
        ("send", 0, A, 1),
        ("try_send_from_another_thread", 0, A, 2),
        ("try_send", 0, R, 3),
        ("try_send", 0, B, 4),
        ("try_send", 0, B, 5),
    ]
    trace = run_on(twin, ops, closed_loop)
    assert trace[1].result == ("raised", "OtherThread", "Accepted(2) from another thread")
    assert trace[2].result == ("raised", "NotAMessage", "Refused(3) is not a message")
    assert trace[3].result is None
    assert trace[4].result == ("raised", "Full", "Admitted(5): full")
    assert trace[4].state.cells[0].accepts == ("Accepted", "Admitted", "Boom")


def test_a_handler_that_raises_is_reported_with_its_message(twin: Twin, closed_loop: Any) -> None:
    trace = run_on(twin, [("send", 0, Boom, 1), ("send", 0, A, 2), ("turn",)], closed_loop)
    state = trace[-1].state
    assert state.outcomes == ((0, _core.RAISED, "ValueError", "boom 1", "Boom(1)"), (1, _core.DONE))
    assert state.handled == ("Accepted(2)",)


async def test_send_at_once_returns_the_shared_loop_free_ready_coroutine(twin: Twin) -> None:
    loop = asyncio.get_running_loop()
    cell_class, dispatcher_class = make_classes(twin, loop)
    dispatcher = dispatcher_class()
    cell = cell_class(dispatcher, 4)
    cell.send(Accepted(0))  # creates the queue (slow path)
    sent = cell.send(Accepted(1))
    assert cell.slow == ["_send_slow"]
    assert sent is cell.send(Accepted(2))  # one shared object
    assert type(sent).__name__ == "Ready"
    assert not asyncio.isfuture(sent)
    assert asyncio.iscoroutine(sent)
    wrapped = asyncio.ensure_future(sent)
    assert wrapped is not sent
    assert await wrapped is None
    assert await sent is None


# ------------------------------------------------------------------ the twins side by side


def test_every_scenario_gives_the_same_trace_on_both(closed_loop: Any) -> None:
    python, c = both()
    ops: list[tuple[Any, ...]] = [
        ("send", 0, A, 1),
        ("send", 0, A, 2),
        ("send", 0, A, 3),
        ("try_send", 1, B, 4),
        ("try_send", 1, R, 5),
        ("send", 1, Boom, 6),
        ("cancel_send", 0),
        ("turn",),
        ("break_loop",),
        ("send", 0, A, 7),
        ("turn",),
        ("try_send", 0, A, 8),
        ("mend_loop",),
        ("close", 1),
        ("tell", 1, A, 9),
        ("try_send_from_another_thread", 0, A, 10),
        ("turn",),
    ]
    assert run_on(python, ops, closed_loop) == run_on(c, ops, closed_loop)


KINDS = st.sampled_from([Accepted, Admitted, Refused, Boom])
OPS = st.one_of(
    st.tuples(
        st.sampled_from(["try_send", "tell", "send"]), st.integers(0, 1), KINDS, st.integers(0, 99)
    ),
    st.tuples(st.just("try_send_from_another_thread"), st.integers(0, 1), KINDS, st.integers(0, 9)),
    st.tuples(st.just("turn")),
    st.tuples(st.just("close"), st.integers(0, 1)),
    st.tuples(st.sampled_from(["break_loop", "mend_loop"])),
    st.tuples(st.just("cancel_send"), st.integers(0, 9)),
)


@pytest.mark.skipif(C is None, reason=NOT_BUILT)
@settings(max_examples=100, deadline=None)
@given(ops=st.lists(OPS, max_size=30))
def test_random_operations_give_the_same_trace_on_both(ops: list[tuple[Any, ...]]) -> None:
    assert C is not None
    closed = uvloop.new_event_loop()
    closed.close()
    assert run_on(PYTHON, ops, closed) == run_on(C, ops, closed)


def _outcome(call: Callable[[], object]) -> tuple[object, ...]:
    try:
        return ("returned", call())
    except BaseException as exc:  # compared between the twins
        return ("raised", type(exc).__name__, str(exc), exc.args)


async def test_what_send_returns_at_once_behaves_the_same_on_both() -> None:
    python, c = both()
    loop = asyncio.get_running_loop()
    readies = [twin.completed_send(loop) for twin in (python, c)]
    assert [type(r).__name__ for r in readies] == ["Ready", "Ready"]
    public = [sorted(n for n in dir(r) if not n.startswith("_")) for r in readies]
    assert public[0] == public[1] == ["close", "send", "throw"]
    for call in COROUTINE_CALLS:
        assert _outcome(partial(call, readies[0])) == _outcome(partial(call, readies[1]))
    for ready in readies:
        assert await ready is None
        assert await asyncio.ensure_future(ready) is None
        assert await asyncio.create_task(ready) is None


GIVEN_UP = KeyError("thrown")
COROUTINE_CALLS: list[Callable[[Any], object]] = [
    lambda r: r.send(None),
    lambda r: r.throw(KeyError),
    lambda r: r.throw(KeyError, "val"),
    lambda r: r.throw(KeyError, ("a", "b")),
    lambda r: r.throw(KeyError, GIVEN_UP) is GIVEN_UP,
    lambda r: r.throw(GIVEN_UP),
    lambda r: r.throw(GIVEN_UP, "ignored", None),
    lambda r: r.throw(3),
    lambda r: r.throw(),
    lambda r: r.throw(KeyError, None, None, None),
    lambda r: r.close(),
    asyncio.iscoroutine,
    asyncio.isfuture,
    lambda r: list(r.__await__()),
    list,  # iterable, as a generator-based coroutine's `yield from` wants
    lambda r: iter(r) is r,
    lambda r: next(r, "exhausted"),
]


# ------------------------------------------------------------------ the classes themselves


def bare_classes(twin: Twin) -> tuple[type[Any], type[Any]]:
    """Subclasses of ``twin``'s cores that add nothing (no slow path of their own)."""

    class Bare(twin.MailboxCore):
        __slots__ = ()

        def __init__(self) -> None:  # the fields as a standalone Mailbox sets them
            self._queue = ()
            self._limit = 0
            self.accepts: set[type] = set()
            self.scheduled = True

    class BareDispatcher(twin.DispatcherCore):
        __slots__ = ()

        def __init__(self) -> None:
            self._ready: deque[Any] = deque()
            self._call_soon = print
            self._run_handle = print
            self._pending = False

    return Bare, BareDispatcher


def _uses(twin: Twin) -> list[object]:
    """What each use of the bare classes gives: returned, or raised (type and message)."""
    bare, bare_dispatcher = bare_classes(twin)
    uses: list[Callable[[], object]] = [
        lambda: bare().send(1),
        lambda: bare().try_send(1),
        lambda: bare().tell(1),
        lambda: copy.copy(bare()),
        lambda: copy.deepcopy(bare()),
        lambda: pickle.dumps(bare()),
        lambda: copy.copy(bare_dispatcher()),
        lambda: pickle.dumps(bare_dispatcher()),
        lambda: bare_dispatcher().schedule(3),
    ]
    return [_outcome(use)[:3] for use in uses]


def test_the_classes_behave_the_same_on_both_without_a_slow_path() -> None:
    python, c = both()
    assert _uses(python) == _uses(c)


def test_cores_cannot_be_copied_or_pickled(twin: Twin) -> None:
    """A copy would share the queue, the flags and the ready queue of the original."""
    bare, bare_dispatcher = bare_classes(twin)
    with pytest.raises(TypeError, match=r"^cannot pickle 'Bare' object$"):
        copy.copy(bare())
    with pytest.raises(TypeError, match=r"^cannot pickle 'BareDispatcher' object$"):
        pickle.dumps(bare_dispatcher())


# ------------------------------------------------------------------------------- run_batch


class Returns:
    """A handler whose result is given, not a coroutine."""

    def __init__(self, result: object) -> None:
        self.result = result

    def __call__(self, msg: object) -> object:
        return self.result


class AwaitRaises:
    """An awaitable whose ``__await__`` itself raises ``AttributeError``."""

    def __await__(self) -> Any:
        raise AttributeError("inside __await__")


def _batch_outcome(twin: Twin, handle: Callable[[Any], Any]) -> object:
    outcome = twin.run_batch(deque([1, 2]), handle, 5, deque(), Refused, None, 1e300)
    done, code, a, _b, msg = outcome
    if code == _core.RAISED:
        return (done, code, type(a).__name__, str(a), a.__context__, msg)
    return (done, code, msg)


@pytest.mark.parametrize(
    ("result", "error", "message"),
    [
        (3, "TypeError", "handle() returned int, not an awaitable"),
        (datetime.date(2026, 1, 1), "TypeError", "handle() returned date, not an awaitable"),
        (AwaitRaises(), "AttributeError", "inside __await__"),
    ],
)
def test_a_handler_result_that_cannot_be_awaited_is_reported_alike(
    twin: Twin, result: object, error: str, message: str
) -> None:
    assert _batch_outcome(twin, Returns(result)) == (0, _core.RAISED, error, message, None, 1)


def test_a_handled_message_is_released_before_the_next_checks(twin: Twin) -> None:
    """Once its handler has returned, run_batch holds a message no longer: what its release
    does (here: makes another actor ready) is seen by the check right after it."""
    ready: deque[Any] = deque()

    class Released:
        def __del__(self) -> None:
            ready.append("woken by a release")

    async def handle(msg: object) -> None:
        pass

    queue: deque[Any] = deque([Released(), Released()])
    outcome = twin.run_batch(queue, handle, 5, ready, Refused, None, 1e300)
    assert outcome == (1, _core.HANDOFF, None, None, None)
    assert len(queue) == 1


class AwaitFails:
    """An awaitable whose ``__await__`` raises an error of its own."""

    def __await__(self) -> Any:
        raise LookupError("no steps")


async def _raises(msg: object) -> None:
    raise ValueError(f"handler failed on {msg}")


def _not_callable(msg: object) -> object:
    raise KeyError(msg)


@pytest.mark.parametrize(
    ("handle", "frames"),
    [
        (_raises, ["_raises"]),
        (Returns(AwaitFails()), ["__await__"]),
        (Returns(AwaitRaises()), ["__await__"]),
        (_not_callable, ["_not_callable"]),
        (Returns(3), []),
        (None, []),  # not callable: raised by the call itself
    ],
)
def test_a_handler_error_has_the_same_traceback_on_both(
    twin: Twin, handle: Callable[[Any], Any], frames: list[str]
) -> None:
    """The traceback starts where the handler's code does: run_batch adds no frame of its own."""
    outcome = twin.run_batch(deque([1]), handle, 5, deque(), Refused, None, 1e300)
    assert outcome[1] == _core.RAISED
    error: BaseException = outcome[2]
    assert [frame.name for frame in traceback.extract_tb(error.__traceback__)] == frames


class Idle(Actor[int]):
    async def handle(self, msg: int) -> None:
        pass


async def test_a_mailbox_and_a_ref_refuse_to_be_copied_on_the_build_in_use(
    system: ActorSystem,
) -> None:
    """A copy would share the original's queue: refused on both builds (this runs on each)."""
    with pytest.raises(TypeError, match=r"^cannot pickle 'Mailbox' object$"):
        copy.copy(Mailbox[int](3))
    ref = await system.spawn(Idle)
    with pytest.raises(TypeError, match=r"^cannot pickle 'LocalActorRef' object$"):
        copy.copy(ref)
    with pytest.raises(TypeError, match=r"^cannot pickle 'LocalActorRef' object$"):
        pickle.dumps(ref)


# ---------------------------------------------------------------- run_batch and the clock


class Question:
    """Stands for the dispatcher's Ask envelope."""


async def _handle(msg: object) -> str:
    if msg == "suspend":
        await asyncio.sleep(0)
    if msg == "boom":
        raise ValueError("boom")
    return "done"


def _batch_trace(twin: Twin, items: list[object], batch: int, handoff: bool) -> object:
    """run_batch over ``items`` until the queue is empty, each outcome made comparable."""
    queue: deque[Any] = deque(Question() if item == "question" else item for item in items)
    ready: deque[Any] = deque()
    seen: list[object] = []

    def handle(msg: object) -> Any:
        seen.append(msg)
        if handoff and msg == "handoff":
            ready.append("another actor")
        return _handle(msg)

    outcomes: list[object] = []
    while queue and len(outcomes) < len(items) + 1:  # a bound: every outcome takes one
        done, code, a, b, msg = twin.run_batch(queue, handle, batch, ready, Question, None, 1e300)
        if code == _core.PARKED:
            a.close()  # the suspended handler is not resumed here
            a = b
        elif code == _core.RAISED:
            a = (type(a).__name__, str(a))
        elif code == _core.ASK:
            a = type(a).__name__
        outcomes.append((done, code, a, msg, len(queue), len(ready)))
    return outcomes, seen


ITEMS = st.lists(st.sampled_from(["plain", "boom", "suspend", "handoff", "question"]), max_size=12)


@pytest.mark.skipif(C is None, reason=NOT_BUILT)
@settings(max_examples=100, deadline=None)
@given(items=ITEMS, batch=st.integers(1, 5), handoff=st.booleans())
def test_random_batches_give_the_same_outcomes_on_both(
    items: list[object], batch: int, handoff: bool
) -> None:
    assert C is not None
    assert _batch_trace(PYTHON, items, batch, handoff) == _batch_trace(C, items, batch, handoff)


@pytest.mark.skipif(C is None, reason=NOT_BUILT)
def test_both_clocks_are_one_clock() -> None:
    """``clock`` is the same monotonic clock in both (C reads it less often, not another one),
    and ``deadline_after`` adds to one reading of it."""
    from mycelium import _speedups

    before = _core.py_clock()
    between = _speedups.clock()
    after = _core.py_clock()
    assert before <= between <= after
    before = _core.py_clock()
    deadline = _speedups.deadline_after(0.5)
    after = _core.py_clock()
    assert before + 0.5 <= deadline <= after + 0.5
    assert type(deadline) is type(_core.py_deadline_after(0.5)) is float


# ----------------------------------------------------------------------------- inline runs
#
# WokenSend (what send returns when it woke an idle actor while wake_inline is set),
# inline_ask and run_first. The dispatcher of these cells has the real Dispatcher's inline
# methods (run_inline, _may_run_inline, _run_here, run_woken, _outside, settle: the Python
# reference the C fast paths follow), calling its own twin's run_first, and an _after_run of
# its own that records what it was given (the C fast path calls it for every ending but the
# common one) and settles as the real one does; the cells have the fields those methods read.

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("twins_var", default="unset")


class Keeps(Accepted):
    """Its handler keeps a reference to its current task (TAINTED)."""


class Sets(Accepted):
    """Its handler sets a context variable (its context is no longer empty)."""


class Suspends(Accepted):
    """Its handler suspends (PARKED)."""


class Relays(Accepted):
    """Its handler sends ``Accepted(n)`` to the other cell and awaits the send (nested)."""


class AsksOn(Accepted):
    """Its handler asks the other cell ``Accepted(n)`` (a nested inline ask)."""


INLINE_KINDS = (Accepted, Boom, Keeps, Sets, Suspends, Relays, AsksOn)


def borrowed(twin: Twin, name: str) -> Any:
    """The real Dispatcher's method ``name``, calling ``twin``'s ``run_first``."""
    function: Any = getattr(dispatcher_module.Dispatcher, name)
    scope = {**vars(dispatcher_module), "run_first": twin.run_first}
    return types.FunctionType(
        function.__code__, scope, name, function.__defaults__, function.__closure__
    )


class Handler:
    """The actor of one inline cell: records each message it handles, and how."""

    def __init__(self, world: InlineWorld, index: int) -> None:
        self.world = world
        self.index = index

    async def handle(self, msg: Accepted) -> object:
        world = self.world
        name = f"cell{self.index}"
        world.seen.append((name, repr(msg), world.task_label(), VAR.get()))
        kind = type(msg)
        if kind is Boom:
            raise ValueError(f"boom {msg.n}")
        if kind is Keeps:
            world.kept.append(asyncio.current_task(world.loop))
        elif kind is Sets:
            VAR.set(name)
        elif kind is Suspends:
            await asyncio.sleep(0)
        elif kind is Relays:
            await world.cells[1 - self.index].send(Accepted(msg.n))
        elif kind is AsksOn:
            return ("asked", world.ask(1 - self.index, Accepted, msg.n))
        return f"{name} answers {msg.n}"


def make_inline_classes(
    twin: Twin, loop: asyncio.AbstractEventLoop, world: InlineWorld
) -> tuple[type[Any], type[Any]]:
    """A cell class and a dispatcher class over ``twin``'s cores, for inline runs."""
    cell_class, _ = make_classes(twin, loop)

    class InlineCell(cell_class):
        __slots__ = ("actor", "handled", "state")

    class InlineDispatcher(twin.DispatcherCore):
        __slots__ = ("_cut", "after_runs", "loop", "outcomes", "runs", "turn_budget_s", "turned")
        _ready: deque[Any]

        run_inline = borrowed(twin, "run_inline")
        _may_run_inline = borrowed(twin, "_may_run_inline")
        _run_here = borrowed(twin, "_run_here")
        run_woken = borrowed(twin, "run_woken")
        _outside = borrowed(twin, "_outside")
        settle = borrowed(twin, "settle")

        def __init__(self) -> None:
            depth = dispatcher_module.MAX_INLINE_DEPTH
            self.loop = loop
            self.turn_budget_s = 3600.0  # the budget runs out only when a test says so
            self._ready = deque()
            self._call_soon = loop.call_soon
            self._run_handle = self.run
            self._pending = False
            self._cut = None
            self.running = None
            self._inline_depth = 0
            self._inline_tasks = [None] * depth
            self._inline_contexts = [None] * depth
            self._inline_deadline = 0.0
            self._inline_sent = 0
            self.wake_inline = True
            self._inline_cap = depth
            self._inline_budget = self.turn_budget_s
            self._current_tasks = CURRENT_TASKS
            self._inline_loop = loop
            self._ask_type = Ask
            self._loop_turned_handle = self._loop_turned
            self.after_runs: list[object] = []
            self.outcomes: list[object] = []
            self.runs = 0
            self.turned = 0

        def _loop_turned(self) -> None:
            self.turned += 1
            self._inline_deadline = 0.0

        def _after_run(  # noqa: PLR0917 - positional, as the C fast path calls it
            self,
            cell: Any,
            msg: object,
            asking: bool,
            depth: int,
            task: Any,
            context: Any,
            code: int,
            a: Any,
            b: Any,
        ) -> object:
            self.after_runs.append(
                (
                    world.names[id(cell)],
                    repr(msg),
                    asking,
                    depth,
                    task is self._inline_tasks[depth],
                    context is self._inline_contexts[depth],
                    code,
                    world.describe_value(a),
                    world.describe_value(b),
                    cell.scheduled,
                )
            )
            if code in {_core.DONE, _core.TAINTED}:
                cell.handled += 1
                if code == _core.TAINTED or task.held is not None:
                    task.retire()
                    self._inline_tasks[depth] = None
                if len(context):
                    self._inline_contexts[depth] = None
                self._outside(self.settle, cell)
                return True, a
            self._inline_contexts[depth] = None
            self._inline_tasks[depth] = None
            task.retire()
            if code == _core.PARKED:
                a.close()  # not resumed here
                self._outside(self.settle, cell)
                return False, "reply" if asking else None
            self._outside(self.settle, cell)
            if asking:
                raise a
            return True, None

        def run(self) -> None:
            """A turn: one run of every ready cell (two messages each at most)."""
            ready = self._ready
            self.runs += 1
            self.wake_inline = False
            self._inline_sent = 0
            self._inline_deadline = 0.0
            try:
                for _ in range(len(ready)):
                    cell: Any = ready.popleft()
                    self.running = cell
                    outcome = twin.run_batch(
                        cell._queue, cell.actor.handle, 2, ready, Ask, None, 1e300
                    )
                    self.running = None
                    done, code, a, b, msg = outcome
                    if code == _core.PARKED:
                        a.close()
                    elif code == _core.ASK:  # not answered here
                        a = "Ask"
                    self.outcomes.append(
                        (
                            done,
                            code,
                            world.describe_value(a),
                            world.describe_value(b),
                            repr(msg),
                        )
                    )
                    cell.handled += done + (code in {_core.PARKED, _core.RAISED, _core.ASK})
                    self.settle(cell)
            finally:
                self.running = None
                self.wake_inline = True
                if ready:
                    loop.call_soon(self._run_handle)
                else:
                    self._pending = False

    return InlineCell, InlineDispatcher


class InlineState(NamedTuple):
    cells: tuple[tuple[object, ...], ...]  # queue, limit, scheduled, handled, state, waiters
    ready: list[str]
    pending: bool
    running: str | None
    depth: int
    wake_inline: bool
    sent: int  # _inline_sent
    budget_started: bool  # _inline_deadline set
    slots: tuple[tuple[bool, bool], ...]  # a standby task, a context, at the first depths
    current: str  # the current task now
    seen: tuple[object, ...]  # what the handlers saw
    after_runs: tuple[object, ...]
    outcomes: tuple[object, ...]  # of the turns' run_batch
    runs: int  # turns (the call_soon of _run_handle)
    turned: int  # _loop_turned calls (its call_soon)
    woken: list[str]


class InlineWorld(World):
    """Two cells of one dispatcher over one twin, with inline runs (``wake_inline`` set)."""

    def __init__(self, twin: Twin, loop: asyncio.AbstractEventLoop, closed: Any) -> None:
        self.twin = twin
        self.loop = loop
        self.closed = closed
        self.seen: list[object] = []
        self.kept: list[object] = []
        self.woken: list[Any] = []
        self.sends: list[Any] = []
        cell_class, dispatcher_class = make_inline_classes(twin, loop, self)
        self.dispatcher = dispatcher_class()
        self.cells = [cell_class(self.dispatcher, 2), cell_class(self.dispatcher, 3)]
        for index, cell in enumerate(self.cells):
            cell.accepts.update(INLINE_KINDS)
            cell.actor = Handler(self, index)
            cell.handled = 0
            cell.state = RUNNING
        self.names = {id(cell): f"cell{i}" for i, cell in enumerate(self.cells)}
        self.outer = HandlerTask(loop, contextvars.Context())  # a caller's task

    def task_label(self) -> str:
        current = asyncio.current_task(self.loop)
        if current is None:
            return "none"
        if current is self.outer:
            return "outer"
        for depth, task in enumerate(self.dispatcher._inline_tasks):
            if current is task:
                return f"inline{depth}"
        return "other"

    def describe_value(self, value: object) -> object:
        if isinstance(value, BaseException):
            return (type(value).__name__, str(value))
        if asyncio.isfuture(value):
            return type(value).__name__
        if isinstance(value, Generator | Coroutine):
            return "steps"
        return value

    def state(self) -> InlineState:  # pyright: ignore[reportIncompatibleMethodOverride]
        d = self.dispatcher
        return InlineState(
            tuple(
                (
                    queue_of(c),
                    c._limit,
                    c.scheduled,
                    c.handled,
                    c.state,
                    [(repr(m), describe_future(f)) for m, f in c.waiters],
                )
                for c in self.cells
            ),
            [self.names[id(c)] for c in d._ready],
            d._pending,
            None if d.running is None else self.names[id(d.running)],
            d._inline_depth,
            d.wake_inline,
            d._inline_sent,
            d._inline_deadline != 0.0,
            tuple(
                (d._inline_tasks[i] is not None, d._inline_contexts[i] is not None)
                for i in range(3)
            ),
            self.task_label(),
            tuple(self.seen),
            tuple(d.after_runs),
            tuple(d.outcomes),
            d.runs,
            d.turned,
            [describe_future(f) for f in self.sends],
        )

    # The operations (and World's: send, try_send, turn, close...).

    def send(self, cell: int, kind: type[Any], n: int) -> object:
        sent = super().send(cell, kind, n)
        if isinstance(sent, self.twin.WokenSend):
            self.woken.append(sent)
        return sent

    def ask(self, cell: int, kind: type[Any], n: int) -> object:
        """As ``LocalActorRef.ask``: an idle cell's ask runs inline (else: queued, not here)."""
        target = self.cells[cell]
        if target.scheduled or target.state != RUNNING or target._queue:
            return "queued"
        if type(target._queue) is tuple:
            target._queue = deque()
            target._limit = target.capacity
        ran = self.twin.inline_ask(self.dispatcher, target, kind(n))
        return None if ran is None else (ran[0], self.describe_value(ran[1]))

    def in_task(self, op: str, *args: Any) -> object:
        """``op`` run with a caller's task current: it is current again after."""
        _enter_task(self.loop, self.outer)
        try:
            result = getattr(self, op)(*args)
        finally:
            restored = asyncio.current_task(self.loop) is self.outer
            _leave_task(self.loop, self.outer)
        return (result, "restored" if restored else "not restored")

    def _woken(self, index: int) -> Any:
        return self.woken[index % len(self.woken)] if self.woken else None

    def await_woken(self, index: int) -> object:
        """The first step of a woken send (as ``await`` takes it)."""
        woken = self._woken(index)
        if woken is None:
            return None
        try:
            return ("yielded", woken.send(None))
        except StopIteration as stop:
            return ("complete", stop.value)

    def iterate_woken(self, index: int) -> object:
        """A woken send driven as an iterator (``yield from``)."""
        woken = self._woken(index)
        return None if woken is None else list(woken.__await__())

    def await_woken_from_another_thread(self, index: int) -> object:
        caught: list[object] = []
        thread = threading.Thread(target=lambda: caught.append(self.await_woken(index)))
        thread.start()
        thread.join()
        return caught[0]

    def throw_woken(self, index: int) -> object:
        woken = self._woken(index)
        return None if woken is None else woken.throw(KeyError("thrown"))

    def close_woken(self, index: int) -> object:
        woken = self._woken(index)
        return None if woken is None else woken.close()

    def set_wake_inline(self, on: bool) -> None:
        self.dispatcher.wake_inline = on

    def cut(self, cell: int) -> None:
        """The last turn's budget cut ``cell``'s run short (-1: none)."""
        self.dispatcher._cut = None if cell < 0 else self.cells[cell]

    def spend_budget(self) -> None:
        """This loop iteration's budget of inline runs is spent."""
        self.dispatcher._inline_deadline = 1.0  # long past on the monotonic clock

    def set_state(self, cell: int, state: int) -> None:
        self.cells[cell].state = state

    def break_loop(self) -> None:
        """From now on, asking the loop for a call fails (the loop is closed)."""
        d = self.dispatcher
        d.loop = d._inline_loop = self.closed
        d._call_soon = self.closed.call_soon

    def mend_loop(self) -> None:
        d = self.dispatcher
        d.loop = d._inline_loop = self.loop
        d._call_soon = self.loop.call_soon

    def queue_ask(self, cell: int) -> None:
        """An Ask first in ``cell``'s mailbox (as a queued ask would be)."""
        target: Any = self.cells[cell]
        if type(target._queue) is tuple:
            target._queue = deque[Any]()
            target._limit = target.capacity
        target._queue.appendleft(Ask(Accepted(0), self.loop.create_future()))
        if not target.scheduled:
            self.dispatcher.schedule(target)


def run_inline_on(twin: Twin, ops: list[tuple[Any, ...]], closed: Any) -> list[Step]:
    loop = uvloop.new_event_loop()
    try:
        world = InlineWorld(twin, loop, closed)
        return [world.do(*op) for op in ops]
    finally:
        loop.close()


INLINE_SCENARIO: list[tuple[Any, ...]] = [
    ("send", 0, A, 1),  # creates the queue (slow path): no WokenSend
    ("send", 1, A, 2),
    ("turn",),
    ("send", 0, A, 3),  # woke it: a WokenSend
    ("await_woken", -1),  # the first inline run: makes the standby task and context (Python)
    ("send", 0, A, 4),
    ("in_task", "await_woken", -1),  # the common case (C: woken_fast), a caller's task current
    ("await_woken", -1),  # already run: nothing
    ("send", 0, A, 5),
    ("await_woken", -1),  # INLINE_SENDS_PER_TURN reached: left to the turn
    ("turn",),
    ("send", 1, A, 6),
    ("send", 1, A, 7),  # queued behind it: the cell is scheduled
    ("await_woken", -1),  # runs 6 inline; 7 is left for the turn (settled: requeued)
    ("turn",),
    ("send", 0, Keeps, 8),
    ("await_woken", -1),  # TAINTED: its standby task is replaced
    ("send", 0, Sets, 9),
    ("iterate_woken", -1),  # its context is replaced
    ("turn",),
    ("send", 0, Suspends, 10),
    ("await_woken", -1),  # PARKED
    ("send", 0, Boom, 11),
    ("await_woken", -1),  # RAISED: not at the sender
    ("turn",),
    ("send", 0, Relays, 12),
    ("await_woken", -1),  # nested: cell1's send runs at depth 1
    ("turn",),
    ("ask", 1, A, 13),  # the first ask of this loop iteration starts its budget
    ("in_task", "ask", 1, A, 14),
    ("ask", 1, AsksOn, 15),  # nested ask
    ("ask", 1, Boom, 16),  # raised at the asker
    ("ask", 1, Suspends, 17),
    ("ask", 1, Keeps, 18),
    ("ask", 1, Sets, 19),
    ("ask", 0, Relays, 20),  # an ask whose handler's send runs nested
    ("turn",),  # _loop_turned runs: a new budget
    ("ask", 1, A, 21),
    ("send", 0, A, 22),
    ("ask", 1, A, 23),  # a turn is pending: left to the queued path
    ("set_wake_inline", False),
    ("await_woken", -1),  # wake_inline off: the turn handles it
    ("set_wake_inline", True),
    ("turn",),
    ("send", 0, A, 24),
    ("throw_woken", -1),
    ("send", 0, A, 25),  # not woken: 24 is still queued
    ("turn",),
    ("send", 0, A, 26),
    ("close_woken", -1),
    ("await_woken", -1),  # closed: nothing
    ("turn",),
    ("send", 0, A, 27),
    ("cut", 0),
    ("await_woken", -1),  # the cut run: left to the turn
    ("cut", -1),
    ("turn",),
    ("send", 0, A, 28),
    ("await_woken_from_another_thread", -1),  # another thread: left to the turn
    ("turn",),
    ("break_loop",),
    ("ask", 1, A, 29),  # the first ask of the loop iteration cannot ask for _loop_turned
    ("mend_loop",),
    ("ask", 1, A, 29),
    ("spend_budget",),
    ("send", 0, A, 30),
    ("await_woken", -1),  # the budget is spent: left to the turn
    ("turn",),
    ("ask", 1, A, 31),
    ("spend_budget",),
    ("ask", 1, A, 32),  # likewise
    ("turn",),
    ("send", 0, A, 33),
    ("send", 1, A, 34),
    ("await_woken", -1),  # not last in the ready queue: left to the turn
    ("await_woken", -2),
    ("turn",),
    ("send", 0, A, 35),
    ("queue_ask", 0),  # an Ask first in its mailbox
    ("await_woken", -1),  # a question: left to the turn
    ("turn",),
    ("send", 0, A, 36),
    ("set_state", 0, 2),
    ("await_woken", -1),  # not RUNNING: left to the turn
    ("set_state", 0, RUNNING),
    ("turn",),
    ("send", 0, A, 37),
    ("send", 0, A, 38),
    ("send", 0, A, 39),  # full: waits
    ("await_woken", -1),  # waiters: left to the turn
    ("turn",),
    ("turn",),
]


def test_inline_runs_give_the_same_trace_on_both(closed_loop: Any) -> None:
    python, c = both()
    assert run_inline_on(python, INLINE_SCENARIO, closed_loop) == run_inline_on(
        c, INLINE_SCENARIO, closed_loop
    )


INLINE_OPS = st.one_of(
    st.tuples(
        st.sampled_from(["send", "ask", "try_send"]),
        st.integers(0, 1),
        st.sampled_from(INLINE_KINDS),
        st.integers(0, 99),
    ),
    st.tuples(
        st.sampled_from(["await_woken", "iterate_woken", "throw_woken", "close_woken"]),
        st.integers(-3, 3),
    ),
    st.tuples(st.just("in_task"), st.just("await_woken"), st.integers(-3, 3)),
    st.tuples(
        st.just("in_task"),
        st.just("ask"),
        st.integers(0, 1),
        st.sampled_from(INLINE_KINDS),
        st.integers(0, 9),
    ),
    st.tuples(st.just("turn")),
    st.tuples(st.just("set_wake_inline"), st.booleans()),
    st.tuples(st.just("cut"), st.integers(-1, 1)),
    st.tuples(st.sampled_from(["spend_budget", "break_loop", "mend_loop"])),
    st.tuples(st.just("set_state"), st.integers(0, 1), st.sampled_from([RUNNING, 2])),
    st.tuples(st.just("queue_ask"), st.integers(0, 1)),
    st.tuples(st.just("close"), st.integers(0, 1)),
)


@pytest.mark.skipif(C is None, reason=NOT_BUILT)
@settings(max_examples=300, deadline=None)
@given(ops=st.lists(INLINE_OPS, max_size=30))
def test_random_inline_operations_give_the_same_trace_on_both(ops: list[tuple[Any, ...]]) -> None:
    assert C is not None
    closed = uvloop.new_event_loop()
    closed.close()
    assert run_inline_on(PYTHON, ops, closed) == run_inline_on(C, ops, closed)


# ------------------------------------------------------------------------------- run_first


class YieldsValue:
    """An awaitable (not a coroutine) that suspends once, yielding a value."""

    def __await__(self) -> Generator[str, None, str]:
        yield "yielded"
        return "resumed"


def _first_handlers(
    seen: list[tuple[object, ...]],
    kept: list[object],
    tasks: dict[object, object] | None,
    loop: object,
) -> Any:
    """The handlers run_first is compared with, by name."""

    def current() -> object:
        return "not watched" if tasks is None else tasks.get(loop, "none")

    async def returns(msg: object) -> object:
        seen.append(("returns", current(), VAR.get()))
        return ("answer", msg)

    async def keeps(msg: object) -> object:
        kept.append(current())
        return "kept"

    async def sets(msg: object) -> object:
        VAR.set("set inside")
        seen.append(("sets", current(), VAR.get()))
        return "set"

    async def suspends(msg: object) -> object:
        seen.append(("suspends", current()))
        await asyncio.sleep(0)
        return "never"

    async def raises(msg: object) -> object:
        seen.append(("raises", current()))
        raise ValueError(f"handler failed on {msg}")

    async def interrupts(msg: object) -> object:
        raise KeyboardInterrupt("interrupted")

    return {
        "returns": returns,
        "keeps": keeps,
        "sets": sets,
        "suspends": suspends,
        "raises": raises,
        "interrupts": interrupts,
        "not awaitable": Returns(3),
        "its __await__ raises AttributeError": Returns(AwaitRaises()),
        "its __await__ fails": Returns(AwaitFails()),
        "an awaitable that suspends": Returns(YieldsValue()),
        "an awaitable that completes": Returns(_core.PY_READY),
        "raises when called": _not_callable,
        "not callable": None,
    }


class Standby:
    """Stands for the standby task: run_first only makes it current and counts its references."""

    def __repr__(self) -> str:
        return "Standby()"


FIRST_HANDLERS = list(_first_handlers([], [], None, None))


def _tasks_of(kind: str, loop: object) -> dict[object, object] | None:
    """No dict of current tasks, an empty one, or one with a task current on ``loop``."""
    if kind == "none":
        return None
    if kind == "empty":
        return {}
    return {loop: "outer", "other loop": "theirs"}


def _first_outcome(twin: Twin, name: str, tasks_kind: str) -> object:
    """run_first of one handler on ``twin``, everything observable made comparable."""
    seen: list[tuple[object, ...]] = []
    kept: list[object] = []
    loop = "the loop"
    task = Standby()
    tasks = _tasks_of(tasks_kind, loop)
    handlers = _first_handlers(seen, kept, tasks, loop)
    context = contextvars.Context()
    code, a, b = twin.run_first(handlers[name], "msg", context, task, loop, tasks)
    if code == _core.PARKED:
        a.close()
        a = "steps"
    elif code == _core.RAISED:
        a = (
            type(a).__name__,
            str(a),
            repr(a.__context__),
            repr(a.__cause__),
            a.__suppress_context__,
            [frame.name for frame in traceback.extract_tb(a.__traceback__)],
        )
    labelled = [tuple("task" if x is task else x for x in entry) for entry in seen]
    seen_tasks = [("task" if s is task else s) for s in kept]
    after = None if tasks is None else {k: ("task" if v is task else v) for k, v in tasks.items()}
    return code, a, b, labelled, seen_tasks, after, dict(context.items())


@pytest.mark.parametrize("tasks_kind", ["none", "empty", "outer"])
@pytest.mark.parametrize("name", FIRST_HANDLERS)
def test_run_first_gives_the_same_outcome_on_both(name: str, tasks_kind: str) -> None:
    python, c = both()
    assert _first_outcome(python, name, tasks_kind) == _first_outcome(c, name, tasks_kind)


@pytest.mark.parametrize("tasks_kind", ["none", "empty", "outer"])
def test_run_first_in_a_context_already_entered_raises_alike(tasks_kind: str) -> None:
    """Not an outcome: run_first itself raises, the current task put back first."""

    async def handle(msg: object) -> None:
        pass

    def attempt(twin: Twin) -> tuple[object, ...]:
        context = contextvars.Context()
        tasks = _tasks_of(tasks_kind, "loop")
        task = Standby()
        outcome = context.run(
            _outcome, lambda: twin.run_first(handle, 1, context, task, "loop", tasks)
        )
        return outcome[:2], str(outcome[2]).replace(repr(context), "<context>"), tasks

    python, c = both()
    assert attempt(python) == attempt(c)
    assert attempt(python)[0] == ("raised", "RuntimeError")


# ------------------------------------------------------------------ WokenSend as a coroutine


def _woken_uses(twin: Twin) -> list[object]:
    """Each coroutine call on a fresh WokenSend of an idle cell (its step then does nothing)."""
    loop = uvloop.new_event_loop()
    try:
        world = InlineWorld(twin, loop, None)
        outcomes: list[object] = []
        for call in COROUTINE_CALLS:
            woken = twin.WokenSend(world.cells[0])
            outcomes.append((_outcome(partial(call, woken)), _outcome(partial(call, woken))))
        outcomes.append(sorted(n for n in dir(twin.WokenSend) if not n.startswith("_")))
        outcomes.append(world.state())
        return outcomes
    finally:
        loop.close()


def test_a_woken_send_is_a_coroutine_alike_on_both() -> None:
    """send, throw (with every arity and kind of argument), close, iteration: the same results,
    the first call and the one after it."""
    python, c = both()
    assert _woken_uses(python) == _woken_uses(c)


async def test_a_woken_send_is_awaited_and_wrapped_in_a_task_on_both(twin: Twin) -> None:
    loop = asyncio.get_running_loop()
    world = InlineWorld(twin, loop, None)
    woken = twin.WokenSend(world.cells[0])
    assert asyncio.iscoroutine(woken)
    assert not asyncio.isfuture(woken)
    assert await woken is None
    assert await asyncio.create_task(twin.WokenSend(world.cells[0])) is None
    assert await asyncio.ensure_future(twin.WokenSend(world.cells[0])) is None


# ------------------------------------------------------------------ inline runs, each twin


def test_inline_runs_do_what_the_dispatcher_says(twin: Twin, closed_loop: Any) -> None:
    """Key points of INLINE_SCENARIO on each twin (the side-by-side test compares the rest)."""
    trace = dict(enumerate(run_inline_on(twin, INLINE_SCENARIO, closed_loop)))
    ops = [step.op for step in trace.values()]
    assert ops == [op[0] for op in INLINE_SCENARIO]
    first = trace[3]
    assert (first.op, first.result) == ("send", "woken")
    ran = trace[6]  # the common case, a caller's task current: restored after
    assert ran.result == (("complete", None), "restored")
    assert ran.state.seen[-1] == ("cell0", "Accepted(4)", "inline0", "unset")
    assert ran.state.cells[0][:4] == ([], 2, False, 3)
    assert (ran.state.ready, ran.state.running, ran.state.depth, ran.state.current) == (
        [],
        None,
        0,
        "none",
    )
    assert ran.state.after_runs == ()  # the common ending: no _after_run
    assert trace[8].result == "ready at once"  # INLINE_SENDS_PER_TURN sends ran inline
    assert trace[9].state.cells[0][0] == ["Accepted(5)"]  # left to the turn
    assert trace[13].state.cells[1][0] == ["Accepted(7)"]  # 6 ran, 7 waits for the turn
    assert trace[13].state.after_runs[-1][:2] == ("cell1", "Accepted(6)")
    codes = [entry[6] for entry in trace[23].state.after_runs]
    assert codes[-4:] == [_core.TAINTED, _core.DONE, _core.PARKED, _core.RAISED]
    nested = trace[26].state.seen[-2:]
    assert nested == (
        ("cell0", "Relays(12)", "inline0", "unset"),
        ("cell1", "Accepted(12)", "inline1", "unset"),
    )
    assert trace[28].result == (True, "cell1 answers 13")
    assert trace[29].result == ((True, "cell1 answers 14"), "restored")
    assert trace[30].result == (True, ("asked", (True, "cell0 answers 15")))
    assert trace[31].result == ("raised", "ValueError", "boom 16")
    assert trace[32].result == (False, "reply")
    assert trace[39].result is None  # a turn is pending: the ask declines
    assert trace[41].state.cells[0][0] == ["Accepted(22)"]  # wake_inline off
    assert trace[45].result == ("raised", "KeyError", "'thrown'")
