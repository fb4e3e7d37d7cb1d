"""Timers: ``self.timers.send_after/send_every/cancel/cancel_all``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from typing import Any

import pytest

from mycelium import (
    Actor,
    ActorStopped,
    ActorSystem,
    MailboxFull,
    MessageTypeError,
    Supervision,
)
from mycelium.local_ref import LocalActorRef


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _quiet_failures(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="mycelium")  # the failures here are on purpose


async def _until(predicate: Callable[[], bool]) -> None:
    """A short bounded poll, for timers (there is no event to wait on for a loop timer)."""
    async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
        while not predicate():  # noqa: ASYNC110 - a loop timer gives no event to wait on
            await asyncio.sleep(0.001)


class Clock(Actor[Any]):
    """Handles commands to start timers; records every message it handles."""

    def __init__(self) -> None:
        self.seen: list[object] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    async def handle(self, msg: Any) -> Any:
        match msg:
            case ("after", delay, payload, key):
                return self.timers.send_after(delay, payload, key=key)
            case ("every", interval, payload, key):
                return self.timers.send_every(interval, payload, key=key)
            case ("cancel", key):
                return self.timers.cancel(key)
            case ("cancel_all",):
                self.timers.cancel_all()
            case "hold":
                self.entered.set()
                await self.gate.wait()
            case "boom":
                raise Boom("boom")
            case "rearm":
                self.seen.append(msg)
                if self.seen.count("rearm") < 3:
                    self.timers.send_after(0, "rearm", key="r")
            case _:
                self.seen.append(msg)
        return None


def _timer(ref: object, key: Hashable) -> Any:
    assert isinstance(ref, LocalActorRef)
    node = ref.node
    assert node is not None
    assert node.timers is not None
    return node.timers._timers[key]  # pyright: ignore[reportPrivateUsage]


async def test_send_after_delivers_once_then_frees_its_key(system: ActorSystem) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    key = await ref.ask(("after", 0.001, "ding", "k"))
    assert key == "k"
    await _until(lambda: clock.seen == ["ding"])
    assert await ref.ask(("cancel", "k")) is False  # handled: the key is free
    mailbox = ref.mailbox
    assert mailbox is not None
    assert mailbox.handled == 2  # the two asks; a timer message is not counted


async def test_a_handler_may_rearm_its_one_shot_key(system: ActorSystem) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    await ref.ask(("after", 0, "rearm", "r"))
    await _until(lambda: clock.seen == ["rearm"] * 3)


async def test_key_none_gets_a_fresh_key_each_time(system: ActorSystem) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    first = await ref.ask(("after", 60, "x", None))
    second = await ref.ask(("after", 60, "y", None))
    assert first != second
    assert await ref.ask(("cancel", first)) is True
    assert await ref.ask(("cancel", second)) is True


async def test_send_every_repeats_on_the_grid_of_its_first_deadline(
    system: ActorSystem,
) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    await ref.ask(("every", 0.002, "tick", "t"))
    timer = _timer(ref, "t")
    first = timer.deadline
    await _until(lambda: clock.seen.count("tick") >= 5)
    # Each deadline is the previous one plus the interval, never "now plus the interval".
    steps = round((timer.deadline - first) / 0.002)
    assert steps >= 5
    assert timer.deadline == pytest.approx(first + steps * 0.002, abs=1e-9)
    assert await ref.ask(("cancel", "t")) is True
    count = clock.seen.count("tick")
    await ref.ask("sync")
    assert clock.seen.count("tick") == count


async def test_send_every_skips_ticks_while_the_last_one_is_unhandled(
    system: ActorSystem,
) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    await ref.ask(("every", 0.001, "tick", "t"))
    clock.gate.clear()
    ref.tell("hold")
    await clock.entered.wait()
    timer = _timer(ref, "t")
    start = timer.deadline
    await _until(lambda: timer.deadline - start > 0.005)  # several ticks came meanwhile
    mailbox = ref.mailbox
    assert mailbox is not None
    assert len(mailbox) == 1  # ... but one message at most is pending
    seen_before = clock.seen.count("tick")
    clock.gate.set()
    await ref.ask(("cancel", "t"))
    assert clock.seen.count("tick") <= seen_before + 1


async def test_a_replaced_timer_is_never_handled_even_if_queued(system: ActorSystem) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    clock.gate.clear()
    ref.tell("hold")
    await clock.entered.wait()
    clock.timers.send_after(0, "old", key="k")
    old = _timer(ref, "k")
    await _until(lambda: old.pending)  # "old" is in the mailbox now
    clock.timers.send_after(0, "new", key="k")  # replaces it
    new = _timer(ref, "k")
    await _until(lambda: new.pending)
    clock.gate.set()
    await ref.ask("sync")
    assert clock.seen == ["new", "sync"]
    assert "k" not in clock.timers


def _has_timer(ref: Any, key: Hashable) -> bool:
    node = ref.node
    return node is not None and node.timers is not None and key in node.timers


async def test_a_cancelled_timer_is_never_handled_even_if_queued(system: ActorSystem) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    clock.gate.clear()
    ref.tell("hold")
    await clock.entered.wait()
    clock.timers.send_after(0, "gone", key="k")
    clock.timers.send_every(0.001, "gone too", key="e")
    timer, ticker = _timer(ref, "k"), _timer(ref, "e")
    await _until(lambda: timer.pending and ticker.pending)
    assert clock.timers.cancel("k") is True
    clock.timers.cancel_all()
    assert clock.timers.cancel("e") is False
    clock.gate.set()
    await ref.ask("sync")
    assert clock.seen == ["sync"]


async def test_timer_messages_take_no_room_in_the_mailbox(system: ActorSystem) -> None:
    clock = Clock()
    ref = await system.spawn(clock, capacity=2)
    await ref.ask(("every", 0.001, "tick", "t"))
    clock.gate.clear()
    ref.tell("hold")
    await clock.entered.wait()
    timer = _timer(ref, "t")
    ref.tell("one")
    await _until(lambda: timer.pending)
    ref.tell("two")  # the timer message did not take this room
    with pytest.raises(MailboxFull):
        ref.tell("three")
    mailbox = ref.mailbox
    assert mailbox is not None
    assert len(mailbox) == 3  # two messages, and the timer's, which a full mailbox still takes
    clock.gate.set()
    await _until(lambda: {"one", "two", "tick"} <= set(clock.seen))


async def test_a_graceful_stop_cancels_timers_and_drops_their_queued_messages(
    system: ActorSystem,
) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    await ref.ask(("every", 0.001, "tick", "t"))
    await ref.ask(("after", 60, "later", "l"))
    timer = _timer(ref, "t")
    clock.gate.clear()
    ref.tell("hold")
    await clock.entered.wait()
    await _until(lambda: timer.pending)
    ref.tell("drained")
    stopping = asyncio.ensure_future(system.stop(ref))
    await asyncio.sleep(0)
    clock.gate.set()
    await stopping
    assert "tick" not in clock.seen[clock.seen.index("drained") :]
    assert clock.seen[-1] == "drained"
    assert system.dead_letters.count == 0  # a timer message is dropped, not a dead letter


async def test_a_restart_cancels_the_timers_of_the_old_instance(system: ActorSystem) -> None:
    clocks: list[Clock] = []

    def make() -> Clock:
        clocks.append(Clock())
        return clocks[-1]

    ref = await system.spawn(make, supervision=Supervision.restart())
    await ref.ask(("every", 0.001, "tick", "t"))
    await _until(lambda: "tick" in clocks[0].seen)
    with pytest.raises(Boom):
        await ref.ask("boom")
    await ref.ask("sync")
    assert len(clocks) == 2
    assert not _has_timer(ref, "t")
    await ref.ask(("after", 0, "fresh", "f"))  # the new instance may start its own
    await _until(lambda: "fresh" in clocks[1].seen)
    assert "tick" not in clocks[1].seen


async def test_timers_refuse_bad_arguments_and_a_stopping_actor(system: ActorSystem) -> None:
    class Typed(Actor[int]):
        async def handle(self, msg: int) -> None:
            pass

        async def on_stop(self) -> None:
            with pytest.raises(ActorStopped, match=r"timers do not start once a stop has begun"):
                self.timers.send_after(1, 1)

    actor = Typed()
    await system.spawn(actor)
    with pytest.raises(MessageTypeError, match=r"handles int, not str"):
        actor.timers.send_after(1, "not an int")
    with pytest.raises(ValueError, match=r"^delay must be a finite number of seconds >= 0"):
        actor.timers.send_after(-1, 1)
    with pytest.raises(ValueError, match=r"^interval must be a finite number of seconds > 0"):
        actor.timers.send_every(0, 1)
    with pytest.raises(TypeError, match=r"^delay must be a number of seconds, got str"):
        actor.timers.send_after("1", 1)  # type: ignore[arg-type]
    assert len(actor.timers) == 0
    await system.stop(actor.ref)


async def test_next_deadline_is_on_the_grid_of_the_first(system: ActorSystem) -> None:
    clock = Clock()
    ref = await system.spawn(clock)
    await ref.ask(("every", 60.0, "slow tick", "t"))
    await ref.ask(("after", 30.0, "once", "o"))
    first = clock.timers.next_deadline("t")
    once = clock.timers.next_deadline("o")
    assert first is not None
    assert once is not None
    assert first - once == pytest.approx(30.0, abs=0.01)
    assert clock.timers.next_deadline("nothing") is None
    clock.timers.cancel_all()
    assert clock.timers.next_deadline("t") is None
