"""Mailbox overflow policies (``spawn(..., overflow=...)``): what a full mailbox does with one
more message under "block", "drop_new", "drop_oldest" and "fail", for ``try_send``, ``send`` and
``ask``; the counters and dead letters; timers and supervision meanwhile; and the accounting
(handled + dead letters == accepted) for random sends under every policy.

Every test runs on the C build and on the pure-Python one (see ``test_speedups.py``).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Literal

import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import (
    Actor,
    ActorRef,
    ActorSystem,
    MailboxFull,
    MessageDropped,
    Supervision,
    Supervisor,
)
from mycelium.mailbox import OVERFLOW_POLICIES, Overflow
from mycelium.supervisor import Child


class Log(Actor[object]):
    """Logs every message and answers it; ``"hold"`` waits for ``gate`` (``entered`` first);
    ``"arm"`` sets a timer sending ``"tick"`` soon; ``"boom"`` raises."""

    def __init__(self) -> None:
        self.log: list[object] = []
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.ticked = asyncio.Event()

    async def handle(self, msg: object) -> object:
        if msg == "hold":
            self.entered.set()
            await self.gate.wait()
        elif msg == "arm":
            self.timers.send_after(0.001, "tick")
            self.entered.set()
            await self.gate.wait()
        elif msg == "tick":
            self.ticked.set()
        elif msg == "boom":
            raise ValueError("boom")
        self.log.append(msg)
        return msg


async def _held(
    system: ActorSystem, capacity: int, overflow: Overflow, first: str = "hold"
) -> tuple[Log, ActorRef[object]]:
    """An actor stuck in ``first`` with its mailbox of ``capacity`` filled with 1, 2, ..."""
    actor = Log()
    ref = await system.spawn(actor, capacity=capacity, overflow=overflow)
    ref.tell(first)
    await actor.entered.wait()
    for i in range(1, capacity + 1):
        ref.tell(i)
    return actor, ref


async def _drain(system: ActorSystem, actor: Log, ref: ActorRef[object]) -> None:
    """Let the held actor go and stop it gracefully: everything queued is handled."""
    actor.gate.set()
    await system.stop(ref)


def _dead(system: ActorSystem) -> list[tuple[object, str]]:
    return [(d.message, d.reason) for d in system.dead_letters.recent]


# ------------------------------------------------------------------------ the argument


@pytest.mark.parametrize("bad", ["drop", "BLOCK", "", None, 1, b"fail"])
async def test_a_bad_overflow_is_refused_at_spawn_naming_the_allowed_values(
    system: ActorSystem, bad: Any
) -> None:
    allowed = "'block', 'drop_new', 'drop_oldest', 'fail'"
    pattern = rf"^overflow must be one of {allowed}, got {re.escape(repr(bad))}$"
    with pytest.raises(ValueError, match=pattern):
        await system.spawn(Log(), overflow=bad)
    with pytest.raises(ValueError, match=pattern):
        await system.spawn(Log, overflow=bad)
    with pytest.raises(ValueError, match=pattern):
        Child("c", Log, overflow=bad)
    assert system.actors == []


@pytest.mark.parametrize("overflow", OVERFLOW_POLICIES)
async def test_the_view_shows_the_policy(system: ActorSystem, overflow: Overflow) -> None:
    ref = await system.spawn(Log(), overflow=overflow)
    assert ref.mailbox.overflow == overflow
    assert (await system.spawn(Log())).mailbox.overflow == "block"


# ------------------------------------------------------------------------------ block


async def test_block_is_the_default_and_waits(system: ActorSystem) -> None:
    actor, ref = await _held(system, 2, "block")
    with pytest.raises(MailboxFull):
        ref.try_send(3)
    sending = asyncio.ensure_future(ref.send(4))
    asking = asyncio.ensure_future(ref.ask(5, timeout=None))
    await asyncio.sleep(0)
    assert not sending.done()
    assert ref.mailbox.waiting == 2
    actor.gate.set()
    await sending
    assert await asking == 5
    await system.stop(ref)
    assert actor.log == ["hold", 1, 2, 4, 5]
    assert (ref.mailbox.dropped, system.dead_letters.count) == (1, 0)


# ------------------------------------------------------------------------------- fail


async def test_fail_refuses_every_call_at_once(system: ActorSystem) -> None:
    actor, ref = await _held(system, 2, "fail")
    with pytest.raises(MailboxFull):
        ref.try_send(3)
    with pytest.raises(MailboxFull):
        _ = ref.send(4)  # at the call: never a future that waits
    with pytest.raises(MailboxFull):
        await ref.ask(5)
    assert ref.mailbox.waiting == 0
    assert ref.mailbox.dropped == 3
    await _drain(system, actor, ref)
    assert actor.log == ["hold", 1, 2]
    assert system.dead_letters.count == 0  # refused, not accepted: nothing to dead-letter


async def test_fail_accepts_again_once_there_is_room(system: ActorSystem) -> None:
    actor, ref = await _held(system, 1, "fail")
    with pytest.raises(MailboxFull):
        await ref.send(2)
    actor.gate.set()
    for _ in range(100):  # bounded: the actor takes 1 out within a few loop turns
        if not len(ref.mailbox):
            break
        await asyncio.sleep(0)
    assert await ref.ask(3) == 3
    assert actor.log == ["hold", 1, 3]


# --------------------------------------------------------------------------- drop_new


async def test_drop_new_drops_the_arriving_message_as_a_dead_letter(system: ActorSystem) -> None:
    actor, ref = await _held(system, 2, "drop_new")
    ref.try_send(3)  # returns normally
    await ref.send(4)  # does not wait
    ref.tell(5)
    assert ref.mailbox.dropped == 3
    assert len(ref.mailbox) == 2
    reason = "mailbox full: overflow policy 'drop_new' dropped it"
    assert _dead(system) == [(3, reason), (4, reason), (5, reason)]
    await _drain(system, actor, ref)
    assert actor.log == ["hold", 1, 2]
    assert ref.mailbox.handled + system.dead_letters.count == 6


async def test_drop_new_refuses_an_ask_since_no_answer_could_come(system: ActorSystem) -> None:
    actor, ref = await _held(system, 2, "drop_new")
    with pytest.raises(MailboxFull):
        await ref.ask(3)
    assert ref.mailbox.dropped == 1
    assert system.dead_letters.count == 0  # refused at the asker: not accepted
    await _drain(system, actor, ref)
    assert actor.log == ["hold", 1, 2]


# ------------------------------------------------------------------------ drop_oldest


async def test_drop_oldest_keeps_the_newest_in_order(system: ActorSystem) -> None:
    actor, ref = await _held(system, 3, "drop_oldest")  # queued: 1, 2, 3
    ref.try_send(4)
    await ref.send(5)
    ref.tell(6)
    ref.tell(7)
    assert len(ref.mailbox) == 3
    assert ref.mailbox.dropped == 4
    reason = "mailbox full: overflow policy 'drop_oldest' dropped it for a newer message"
    assert _dead(system) == [(1, reason), (2, reason), (3, reason), (4, reason)]
    await _drain(system, actor, ref)
    assert actor.log == ["hold", 5, 6, 7]
    assert ref.mailbox.handled + system.dead_letters.count == 8


async def test_drop_oldest_fails_a_dropped_question_and_answers_a_kept_one(
    system: ActorSystem,
) -> None:
    actor = Log()
    ref = await system.spawn(actor, capacity=2, overflow="drop_oldest")
    ref.tell("hold")
    await actor.entered.wait()
    first = asyncio.ensure_future(ref.ask("q1"))
    second = asyncio.ensure_future(ref.ask("q2"))
    await asyncio.sleep(0)  # both questions are queued now: the mailbox is full
    assert len(ref.mailbox) == 2
    third = asyncio.ensure_future(ref.ask("q3"))
    await asyncio.sleep(0)  # q3 is queued: it dropped q1
    ref.tell("m")  # drops q2
    with pytest.raises(MessageDropped, match=r"overflow policy 'drop_oldest' dropped str"):
        await first
    with pytest.raises(MessageDropped) as caught:
        await second
    assert (caught.value.policy, caught.value.message) == ("drop_oldest", "q2")
    assert [m for m, _ in _dead(system)] == ["q1", "q2"]
    actor.gate.set()
    assert await third == "q3"
    await system.stop(ref)
    assert actor.log == ["hold", "q3", "m"]
    assert ref.mailbox.handled + system.dead_letters.count == 5


# --------------------------------------------------------------- timers and supervision


@pytest.mark.parametrize("overflow", ["drop_oldest", "drop_new", "fail"])
async def test_a_timer_fires_into_a_full_mailbox_and_is_never_dropped(
    system: ActorSystem, overflow: Overflow
) -> None:
    actor, ref = await _held(system, 2, overflow, first="arm")
    for _ in range(200):  # bounded poll: the timer's item joins the full mailbox (no event)
        if len(ref.mailbox) == 3:
            break
        await asyncio.sleep(0.001)
    assert len(ref.mailbox) == 3  # it takes no room
    for i in range(10, 15):  # overflow: never the timer's item
        try:
            ref.try_send(i)
        except MailboxFull:
            assert overflow == "fail"
    actor.gate.set()
    await actor.ticked.wait()
    await system.stop(ref)
    assert "tick" in actor.log
    kept = [m for m in actor.log if isinstance(m, int)]
    assert kept == {"drop_oldest": [13, 14], "drop_new": [1, 2], "fail": [1, 2]}[overflow]


async def test_a_restarted_actor_keeps_its_policy(system: ActorSystem) -> None:
    instances: list[Log] = []

    def make() -> Log:
        instances.append(Log())
        return instances[-1]

    ref = await system.spawn(
        make, capacity=2, overflow="drop_oldest", supervision=Supervision.restart()
    )
    ref.tell("boom")
    assert await ref.ask("after") == "after"  # handled by the new instance
    assert len(instances) == 2
    new = instances[-1]
    ref.tell("hold")
    await new.entered.wait()
    for i in (1, 2, 3):
        ref.tell(i)  # 3 drops 1
    assert ref.mailbox.overflow == "drop_oldest"
    await _drain_instance(system, new, ref)
    assert new.log == ["after", "hold", 2, 3]
    assert [m for m, _ in _dead(system)] == ["boom", 1]


async def _drain_instance(system: ActorSystem, actor: Log, ref: ActorRef[object]) -> None:
    actor.gate.set()
    await system.stop(ref)


async def test_a_supervisor_child_gets_its_policy(system: ActorSystem) -> None:
    await system.spawn(Supervisor([Child("c", Log, capacity=3, overflow="fail")]), name="sup")
    child = system.lookup("sup/c")
    assert child is not None
    assert (child.mailbox.capacity, child.mailbox.overflow) == (3, "fail")


# ------------------------------------------------------------ the accounting, at random

Op = Literal["try_send", "send", "ask", "turn"]


async def _random_run(
    overflow: Overflow, capacity: int, ops: list[Op]
) -> tuple[list[int], list[int], list[int], list[object], int]:
    """Run ``ops`` against one actor; return (attempt order, accepted, handled, dead, handled
    count). A ``"turn"`` lets the loop run (the actor takes some mail out)."""
    async with ActorSystem(dead_letter_history=10_000) as system:
        actor = Log()
        ref = await system.spawn(actor, capacity=capacity, overflow=overflow)
        order: list[int] = []
        accepted: list[int] = []
        asks: list[asyncio.Future[None]] = []

        async def ask(n: int) -> None:
            order.append(n)  # the put happens in this same step
            try:
                assert await ref.ask(n, timeout=None) == n
            except MailboxFull:
                return
            except MessageDropped:
                pass
            accepted.append(n)

        for n, op in enumerate(ops):
            if op == "turn":
                await asyncio.sleep(0)
            elif op == "ask":
                asks.append(asyncio.ensure_future(ask(n)))
            else:
                order.append(n)
                try:
                    if op == "try_send":
                        ref.try_send(n)
                    else:
                        await ref.send(n)
                except MailboxFull:
                    continue
                accepted.append(n)
        await asyncio.gather(*asks)
        await system.stop(ref)
        dead = [d.message for d in system.dead_letters.recent]
        assert system.dead_letters.count == len(dead)
        handled = [m for m in actor.log if isinstance(m, int)]
        return order, accepted, handled, dead, ref.mailbox.handled


def _is_subsequence(small: list[int], big: list[int]) -> bool:
    it = iter(big)
    return all(x in it for x in small)


@given(
    st.sampled_from(OVERFLOW_POLICIES),
    st.integers(1, 4),
    st.lists(st.sampled_from(["try_send", "send", "ask", "turn"]), max_size=40),
)
@settings(max_examples=150, deadline=None)
def test_handled_plus_dead_letters_is_exactly_what_was_accepted(
    overflow: Overflow, capacity: int, ops: list[Op]
) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        order, accepted, handled, dead, count = runner.run(_random_run(overflow, capacity, ops))
    assert count == len(handled)
    assert count + len(dead) == len(accepted)
    assert sorted(handled + [m for m in dead if isinstance(m, int)]) == sorted(accepted)
    assert len(dead) == len(set(dead) - set(handled))  # each once, never both
    assert _is_subsequence(handled, order)
    if overflow in ("block", "fail"):  # nothing accepted is dropped: all handled, in order
        taken = set(accepted)
        assert handled == [n for n in order if n in taken]
        assert dead == []
