"""``_handler_task.py``: every asyncio API works from a handler's first line.

A handler runs on the dispatcher until it first suspends, in the dispatcher's standby task:
``asyncio.current_task()`` names the task the handler continues in, so ``asyncio.timeout``,
``asyncio.TaskGroup`` and libraries that key state by task work at the top of a handler, in tell
and ask handlers alike, and the actor survives.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mycelium import Actor, ActorSystem

Mode = str


class AsyncioUser(Actor[str]):
    """Uses an asyncio API on its first line; ``mode`` says which, the answer says how it went."""

    def __init__(self) -> None:
        self.results: list[object] = []
        self.told = asyncio.Event()
        self.never = asyncio.Event()  # never set: what an expiring timeout interrupts

    async def handle(self, msg: Mode) -> object:
        result = await self._use(msg)
        self.results.append(result)
        self.told.set()
        return result

    async def _use(self, msg: Mode) -> object:
        if msg == "current_task":
            task = asyncio.current_task()
            await asyncio.sleep(0)
            return task is not None and task is asyncio.current_task()
        if msg == "timeout, expiring":
            try:
                async with asyncio.timeout(0):
                    await self.never.wait()
            except TimeoutError:
                return f"timed out, cancelling={_cancelling()}"
            return "not timed out"
        if msg == "timeout, not expiring":
            async with asyncio.timeout(60):
                await asyncio.sleep(0)
            return f"in time, cancelling={_cancelling()}"
        if msg == "timeout, never suspending":
            async with asyncio.timeout(60):  # noqa: ASYNC100 - entered and left at once
                pass
            return "in time"
        if msg == "task group":
            async with asyncio.TaskGroup() as group:
                children = [group.create_task(_double(n)) for n in (1, 2, 3)]
            return [child.result() for child in children]
        if msg == "task group, failing child":
            caught: tuple[Exception, ...] = ()
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(_fail_soon())
                    group.create_task(self.never.wait())  # cancelled by the group
            except* ValueError as failed:
                caught = failed.exceptions
            return f"caught {caught!r}, cancelling={_cancelling()}"
        if msg == "task group, empty":
            async with asyncio.TaskGroup():
                pass
            return "empty group"
        if msg == "wait_for":
            return await asyncio.wait_for(_double(21), timeout=60)
        raise AssertionError(msg)


def _cancelling() -> int:
    task = asyncio.current_task()
    assert task is not None
    return task.cancelling()


async def _double(n: int) -> int:
    await asyncio.sleep(0)
    return 2 * n


async def _fail_soon() -> None:
    await asyncio.sleep(0)
    raise ValueError("child failed")


EXPECTED: dict[Mode, object] = {
    "current_task": True,
    "timeout, expiring": "timed out, cancelling=0",
    "timeout, not expiring": "in time, cancelling=0",
    "timeout, never suspending": "in time",
    "task group": [2, 4, 6],
    # cancelling() is 1 after a failed group on Python < 3.13, in any task (fixed in 3.13).
    "task group, failing child": "caught (ValueError('child failed'),), cancelling=",
    "task group, empty": "empty group",
    "wait_for": 42,
}


async def _in_a_task_of_its_own(mode: Mode) -> object:
    """What the same code gives in a plain asyncio task: the reference."""
    result = await asyncio.create_task(AsyncioUser()._use(mode))  # pyright: ignore[reportPrivateUsage]
    expected = EXPECTED[mode]
    assert result == expected or str(result).startswith(str(expected))
    return result


@pytest.mark.parametrize("mode", list(EXPECTED))
async def test_an_ask_handler_uses_asyncio_from_its_first_line(
    system: ActorSystem, mode: Mode
) -> None:
    expected = await _in_a_task_of_its_own(mode)
    actor = AsyncioUser()
    ref = await system.spawn(actor)
    assert await ref.ask(mode) == expected
    assert await ref.ask(mode) == expected  # the actor survives, and it works again
    assert ref.is_alive


@pytest.mark.parametrize("mode", list(EXPECTED))
async def test_a_tell_handler_uses_asyncio_from_its_first_line(
    system: ActorSystem, mode: Mode
) -> None:
    expected = await _in_a_task_of_its_own(mode)
    actor = AsyncioUser()
    ref = await system.spawn(actor)
    ref.tell(mode)
    ref.tell(mode)
    await ref.ask("current_task")  # handled after both
    assert actor.results == [expected, expected, True]
    assert ref.is_alive


class Keeper(Actor[str]):
    """Keeps the task it saw, or changes it, and returns without suspending."""

    def __init__(self) -> None:
        self.kept: list[asyncio.Task[Any]] = []
        self.callbacks: list[str] = []

    async def handle(self, msg: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        if msg == "keep":
            self.kept.append(task)
        elif msg == "callback":
            task.add_done_callback(lambda _: self.callbacks.append("done"))
        elif msg == "cancel":
            task.cancel()


class Sleeper(Actor[int]):
    """Suspends until released; says whether it was cancelled."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None

    async def handle(self, msg: int) -> str:
        self.task = asyncio.current_task()
        self.entered.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            return "cancelled"
        return "released"


async def test_a_task_kept_by_a_handler_that_returned_is_no_other_handlers(
    system: ActorSystem,
) -> None:
    keeper, sleeper = Keeper(), Sleeper()
    keeper_ref = await system.spawn(keeper)
    sleeper_ref = await system.spawn(sleeper)
    keeper_ref.tell("keep")
    answer = asyncio.ensure_future(sleeper_ref.ask(1))
    await sleeper.entered.wait()
    (kept,) = keeper.kept
    assert kept is not sleeper.task
    await asyncio.sleep(0)  # one loop turn: the kept task finishes, as the handler did
    assert kept.done()
    kept.cancel()  # reaches nobody
    sleeper.release.set()
    assert await answer == "released"


async def test_a_handler_changing_its_task_and_returning_changes_no_other_handler(
    system: ActorSystem,
) -> None:
    keeper, sleeper = Keeper(), Sleeper()
    keeper_ref = await system.spawn(keeper)
    sleeper_ref = await system.spawn(sleeper)
    keeper_ref.tell("callback")
    keeper_ref.tell("cancel")
    answer = asyncio.ensure_future(sleeper_ref.ask(1))
    await sleeper.entered.wait()
    await asyncio.sleep(0)
    assert keeper.callbacks == ["done"]  # called when that handler's task finished
    sleeper.release.set()
    assert await answer == "released"  # the cancel went nowhere else
    assert keeper_ref.is_alive


class SelfCanceller(Actor[int]):
    """Cancels its own task, then awaits: the await raises CancelledError, as in any task."""

    async def handle(self, msg: int) -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel("by itself")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError as cancelled:
            task.uncancel()
            return f"cancelled {cancelled.args}"
        return "not cancelled"


async def test_a_handler_cancelling_its_own_task_is_cancelled_at_its_next_await(
    system: ActorSystem,
) -> None:
    ref = await system.spawn(SelfCanceller())
    assert await ref.ask(1) == "cancelled ('by itself',)"
    assert await ref.ask(2) == "cancelled ('by itself',)"


async def test_a_stuck_handler_is_cancelled_in_the_task_it_started_in() -> None:
    sleeper = Sleeper()
    async with ActorSystem() as system:
        ref = await system.spawn(sleeper)
        answer = asyncio.ensure_future(ref.ask(1))
        await sleeper.entered.wait()
        assert sleeper.task is not None
        sleeper.task.cancel()
        assert await answer == "cancelled"
        assert ref.is_alive


async def test_handlers_that_never_suspend_share_one_task() -> None:
    seen: set[int] = set()

    class Peek(Actor[int]):
        async def handle(self, msg: int) -> None:
            task = asyncio.current_task()
            assert task is not None
            seen.add(id(task))  # an id keeps nothing alive

    async with ActorSystem() as system:
        refs = [await system.spawn(Peek()) for _ in range(3)]
        for i in range(100):
            refs[i % 3].tell(i)
        await refs[0].ask(0)
    assert len(seen) == 1  # no task per message
