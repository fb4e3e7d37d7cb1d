"""``run_batch``: the C batch loop and its pure-Python reference return the same outcomes."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import sys
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mycelium import _core  # pyright: ignore[reportPrivateUsage]

RunBatch = Callable[
    [deque[Any], Callable[[Any], Awaitable[Any]], int, deque[Any], type, object, float],
    _core.BatchOutcome,
]

IMPLEMENTATIONS: list[Any] = [pytest.param(_core.py_run_batch, id="python")]
if importlib.util.find_spec("mycelium._speedups") is not None:
    from mycelium import _speedups

    IMPLEMENTATIONS.append(pytest.param(_speedups.run_batch, id="c"))


class Question:
    """Stands for the dispatcher's Ask envelope."""


class Boom(Exception):
    pass


class Recorder:
    """Handlers that record what they saw; some suspend, raise or hand off."""

    def __init__(self, ready: deque[Any]) -> None:
        self.seen: list[object] = []
        self.ready = ready

    async def handle(self, msg: object) -> object:
        self.seen.append(msg)
        if msg == "suspend":
            await asyncio.sleep(0)
        if msg == "boom":
            raise Boom("handler failed")
        if msg == "handoff":
            self.ready.append("another actor")
        return msg


@pytest.fixture(params=IMPLEMENTATIONS)
def run_batch(request: pytest.FixtureRequest) -> RunBatch:
    implementation: RunBatch = request.param
    return implementation


def _run(run_batch: RunBatch, items: list[object], batch: int) -> tuple[Any, ...]:
    queue: deque[Any] = deque(items)
    ready: deque[Any] = deque()
    recorder = Recorder(ready)
    outcome = run_batch(queue, recorder.handle, batch, ready, Question, None, math.inf)
    return outcome, recorder.seen, list(queue)


def test_a_plain_batch_is_done(run_batch: RunBatch) -> None:
    (done, code, a, b, msg), seen, left = _run(run_batch, [1, 2, 3, 4], 3)
    assert (done, code, a, b, msg) == (3, _core.DONE, None, None, None)
    assert (seen, left) == ([1, 2, 3], [4])


def test_an_empty_queue_ends_the_batch(run_batch: RunBatch) -> None:
    assert _run(run_batch, [1], 5)[0] == (1, _core.DONE, None, None, None)
    assert _run(run_batch, [], 5)[0] == (0, _core.DONE, None, None, None)


def test_a_handoff_ends_the_batch_after_that_message(run_batch: RunBatch) -> None:
    (done, code, _, _, msg), seen, left = _run(run_batch, [1, "handoff", 3], 10)
    assert (done, code, msg) == (2, _core.HANDOFF, None)
    assert (seen, left) == ([1, "handoff"], [3])


def test_a_question_is_taken_and_returned(run_batch: RunBatch) -> None:
    question = Question()
    (done, code, a, _, msg), seen, left = _run(run_batch, [1, question, 3], 10)
    assert (done, code, a, msg) == (1, _core.ASK, question, None)
    assert (seen, left) == ([1], [3])


def test_a_suspended_handler_is_returned_resumable(run_batch: RunBatch) -> None:
    (done, code, steps, yielded, msg), seen, left = _run(run_batch, [1, "suspend", 3], 10)
    assert (done, code, yielded) == (1, _core.PARKED, None)  # asyncio.sleep(0) yields None
    assert msg == "suspend"  # the message being handled, for the dispatcher's accounting
    assert (seen, left) == ([1, "suspend"], [3])
    with pytest.raises(StopIteration) as finished:
        steps.send(None)
    assert finished.value.value == "suspend"


def test_a_raising_handler_returns_its_exception_with_traceback(run_batch: RunBatch) -> None:
    (done, code, exc, _, msg), seen, left = _run(run_batch, [1, "boom", 3], 10)
    assert (done, code, msg) == (1, _core.RAISED, "boom")
    assert isinstance(exc, Boom)
    assert exc.__traceback__ is not None
    assert (seen, left) == ([1, "boom"], [3])


def test_a_spent_deadline_ends_the_batch_after_the_first_handler(run_batch: RunBatch) -> None:
    queue: deque[Any] = deque([1, 2, 3])
    recorder = Recorder(deque())
    outcome = run_batch(queue, recorder.handle, 10, deque(), Question, None, -math.inf)
    assert outcome == (1, _core.OVERTIME, None, None, None)
    assert (recorder.seen, list(queue)) == ([1], [2, 3])


def test_the_deadline_is_on_the_clock_of_the_same_build(run_batch: RunBatch) -> None:
    clock = _core.py_clock if run_batch is _core.py_run_batch else _clock_of_c()
    queue: deque[Any] = deque([1, 2, 3, 4])
    recorder = Recorder(deque())
    assert run_batch(queue, recorder.handle, 2, deque(), Question, None, clock() + 60.0) == (
        2,
        _core.DONE,
        None,
        None,
        None,
    )
    assert run_batch(queue, recorder.handle, 2, deque(), Question, None, clock() - 1.0) == (
        1,
        _core.OVERTIME,
        None,
        None,
        None,
    )


def _clock_of_c() -> Any:
    from mycelium import _speedups

    return _speedups.clock


class Watched:
    """Stands for the dispatcher's standby task."""


def test_a_handler_keeping_or_dropping_the_watched_task_ends_the_batch(
    run_batch: RunBatch,
) -> None:
    task = Watched()
    kept: list[object] = []

    async def handle(msg: object) -> None:
        seen = task  # a reference held while it runs, then dropped: not kept
        if msg == "keep":
            kept.append(seen)
        elif msg == "drop":
            kept.clear()  # a reference given back is a change too

    queue: deque[Any] = deque([1, "keep", 3, "drop", 5])
    outcome = run_batch(queue, handle, 10, deque(), Question, task, math.inf)
    assert outcome == (2, _core.TAINTED, None, None, None)
    outcome = run_batch(queue, handle, 10, deque(), Question, task, math.inf)
    assert outcome == (2, _core.TAINTED, None, None, None)
    assert list(queue) == [5]
    unwatched = deque([1, "keep", 3])
    assert run_batch(unwatched, handle, 10, deque(), Question, None, math.inf)[:2] == (
        3,
        _core.DONE,
    )


def test_a_handler_returning_a_plain_awaitable_is_driven(run_batch: RunBatch) -> None:
    loop = asyncio.new_event_loop()
    try:
        finished: asyncio.Future[str] = loop.create_future()
        finished.set_result("ok")

        def handle(msg: object) -> Awaitable[str]:
            return finished

        queue: deque[Any] = deque([1, 2])
        outcome = run_batch(queue, handle, 10, deque(), Question, None, math.inf)
        assert outcome == (2, _core.DONE, None, None, None)
    finally:
        loop.close()


def test_a_handler_returning_a_non_awaitable_raises_type_error(run_batch: RunBatch) -> None:
    def handle(msg: object) -> Any:
        return msg

    done, code, exc, _, msg = run_batch(deque([1]), handle, 10, deque(), Question, None, math.inf)
    assert (done, code, msg) == (0, _core.RAISED, 1)
    assert isinstance(exc, TypeError)
    assert str(exc) == "handle() returned int, not an awaitable"


def test_no_reference_is_leaked_or_lost(run_batch: RunBatch) -> None:
    msg, answer, task = object(), object(), Watched()
    before = (sys.getrefcount(msg), sys.getrefcount(answer), sys.getrefcount(task))

    async def handle(seen: object) -> object:
        return answer

    for _ in range(3):
        queue: deque[Any] = deque([msg] * 100)
        outcome = run_batch(queue, handle, 100, deque(), Question, task, math.inf)
        assert outcome == (100, _core.DONE, None, None, None)
        del queue
    assert (sys.getrefcount(msg), sys.getrefcount(answer), sys.getrefcount(task)) == before


@pytest.mark.parametrize("kind", ["suspend", "boom", "not awaitable"])
def test_the_message_handed_back_is_neither_leaked_nor_lost(run_batch: RunBatch, kind: str) -> None:
    msg = object()
    before = sys.getrefcount(msg)

    async def suspends(seen: object) -> None:
        await asyncio.sleep(0)

    async def raises(seen: object) -> None:
        raise Boom

    def not_awaitable(seen: object) -> Any:
        return seen

    handle: Any = {"suspend": suspends, "boom": raises, "not awaitable": not_awaitable}[kind]
    for _ in range(3):
        outcome = run_batch(deque([msg]), handle, 10, deque(), Question, None, math.inf)
        assert outcome[1] == (_core.PARKED if kind == "suspend" else _core.RAISED)
        assert outcome[4] is msg
        if kind == "suspend":
            outcome[2].close()
        del outcome
    assert sys.getrefcount(msg) == before


Completed = Callable[[asyncio.AbstractEventLoop], Any]


def _completeds() -> list[Any]:
    completeds: list[Any] = [pytest.param(_core.py_completed_send, id="python")]
    if importlib.util.find_spec("mycelium._speedups") is not None:
        from mycelium import _speedups

        def c_ready(loop: asyncio.AbstractEventLoop) -> Any:
            return _speedups.READY

        completeds.append(pytest.param(c_ready, id="c"))
    return completeds


@pytest.mark.parametrize("completed_for", _completeds())
async def test_the_completed_send_gives_none_at_once_every_time(completed_for: Completed) -> None:
    completed = completed_for(asyncio.get_running_loop())
    for _ in range(3):  # one object is shared by every send: it must stay reusable
        assert await completed is None
    assert asyncio.iscoroutine(completed)  # so that create_task takes it
    assert await asyncio.ensure_future(completed) is None
    assert await asyncio.create_task(completed) is None
    async with asyncio.TaskGroup() as group:
        task = group.create_task(completed)
    assert task.result() is None
    assert await asyncio.gather(completed, completed) == [None, None]
    with pytest.raises(KeyError, match="thrown"):
        completed.throw(KeyError("thrown"))
    with pytest.raises(KeyError):
        completed.throw(KeyError)
    completed.close()
    assert await completed is None  # still reusable after all that


def _dispatcher_cores() -> list[Any]:
    cores: list[Any] = [pytest.param(_core.PyDispatcherCore, id="python")]
    if importlib.util.find_spec("mycelium._speedups") is not None:
        from mycelium import _speedups

        cores.append(pytest.param(_speedups.DispatcherCore, id="c"))
    return cores


class _Cell:
    scheduled = False


@pytest.mark.parametrize("core", _dispatcher_cores())
def test_schedule_queues_the_cell_and_asks_for_one_run_until_it_happens(core: Any) -> None:
    calls: list[object] = []

    class Dispatcher(core):
        __slots__ = ()

        def run(self) -> None:  # pragma: no cover - never called: call_soon is recorded
            pass

    dispatcher = Dispatcher()
    dispatcher._ready = deque()
    dispatcher._call_soon = calls.append
    dispatcher._run_handle = dispatcher.run
    dispatcher._pending = False
    first, second = _Cell(), _Cell()
    dispatcher.schedule(first)
    dispatcher.schedule(second)
    assert (first.scheduled, second.scheduled) == (True, True)
    assert list(dispatcher._ready) == [first, second]
    assert calls == [dispatcher.run]  # one run requested while one is pending
    assert dispatcher._pending is True


@pytest.mark.parametrize("core", _dispatcher_cores())
def test_a_schedule_whose_call_soon_fails_undoes_itself(core: Any) -> None:
    class Dispatcher(core):
        __slots__ = ()

        def run(self) -> None:  # pragma: no cover - never called: call_soon fails
            pass

    def closed_loop_call_soon(callback: object) -> None:
        raise RuntimeError("Event loop is closed")

    dispatcher = Dispatcher()
    dispatcher._ready = deque()
    dispatcher._call_soon = closed_loop_call_soon
    dispatcher._run_handle = dispatcher.run
    dispatcher._pending = False
    cell = _Cell()
    for _ in range(2):
        with pytest.raises(RuntimeError, match=r"^Event loop is closed$"):
            dispatcher.schedule(cell)
        assert cell.scheduled is False
        assert list(dispatcher._ready) == []
        assert dispatcher._pending is False


@pytest.mark.parametrize("core", _dispatcher_cores())
def test_a_dispatcher_core_notes_the_thread_that_made_it(core: Any) -> None:
    made: list[int] = []
    thread = threading.Thread(target=lambda: made.append(core().thread_id))
    thread.start()
    thread.join()
    assert core().thread_id == threading.get_ident()
    assert made == [thread.ident]
