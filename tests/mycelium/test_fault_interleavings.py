"""Random interleavings of sends, failures, restarts, upgrades and stops: every message a send
accepted is handled exactly once or dead-lettered with its reason, in each sender's order."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal, NamedTuple

import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import (
    Actor,
    ActorStopped,
    ActorSystem,
    Backoff,
    MailboxFull,
    Supervision,
)


class Boom(Exception):
    pass


class Note(NamedTuple):
    sender: int
    seq: int
    slow: bool
    boom: bool


class Op(NamedTuple):
    kind: Literal["try", "send", "ask"]
    slow: bool
    boom: bool
    pause: bool


OPS = st.builds(
    Op,
    st.sampled_from(["try", "send", "ask"]),
    st.booleans(),
    st.integers(0, 5).map(lambda n: n == 0),  # one message in six fails
    st.booleans(),
)


class Scenario(NamedTuple):
    capacity: int
    supervision: Literal["resume", "restart", "restart-backoff"]
    plans: list[list[Op]]
    upgrades: list[int]  # pauses (loop turns) before each upgrade
    stop_after: int | None


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    return Scenario(
        capacity=draw(st.integers(1, 4)),
        supervision=draw(st.sampled_from(["resume", "restart", "restart-backoff"])),
        plans=draw(st.lists(st.lists(OPS, max_size=10), min_size=1, max_size=3)),
        upgrades=draw(st.lists(st.integers(0, 6), max_size=4)),
        stop_after=draw(st.one_of(st.none(), st.integers(0, 30))),
    )


class Sink(Actor[Note]):
    """Records what it handled in a list every instance shares; fails on ``boom`` notes."""

    def __init__(self, handled: list[Note]) -> None:
        self.handled = handled

    async def handle(self, msg: Note) -> Note:
        if msg.slow:
            await asyncio.sleep(0)
        if msg.boom:
            raise Boom(f"note {msg.sender}.{msg.seq}")
        self.handled.append(msg)
        return msg


class Outcome(NamedTuple):
    accepted: set[Note]
    refused: set[Note]
    ask_stopped: set[Note]
    handled: list[Note]
    dead: dict[Note, str]
    dead_count: int
    mailbox_handled: int


async def _run(scenario: Scenario) -> Outcome:
    accepted: set[Note] = set()
    refused: set[Note] = set()
    ask_stopped: set[Note] = set()
    handled: list[Note] = []
    supervision = {
        "resume": Supervision.resume(),
        "restart": Supervision.restart(max_restarts=1000, within=60.0),
        "restart-backoff": Supervision.restart(
            max_restarts=1000, within=60.0, backoff=Backoff(min=0.0, max=0.0005, jitter=0.5)
        ),
    }[scenario.supervision]
    async with asyncio.timeout(20):  # a guard against a hang, not a timing assertion
        async with ActorSystem(dead_letter_history=10_000) as system:
            ref = await system.spawn(
                lambda: Sink(handled), capacity=scenario.capacity, supervision=supervision
            )

            async def sender(who: int, plan: list[Op]) -> None:
                for seq, op in enumerate(plan):
                    note = Note(who, seq, op.slow, op.boom)
                    try:
                        if op.kind == "try":
                            ref.try_send(note)
                        elif op.kind == "send":
                            await ref.send(note)
                        else:
                            assert await ref.ask(note, timeout=None) == note
                    except (MailboxFull, ActorStopped) as exc:
                        if op.kind == "ask" and isinstance(exc, ActorStopped):
                            ask_stopped.add(note)  # refused, or accepted then dead-lettered
                        else:
                            refused.add(note)
                    except Boom:
                        accepted.add(note)  # the asker gets the exception
                    else:
                        accepted.add(note)
                    if op.pause:
                        await asyncio.sleep(0)

            async def upgrader() -> None:
                for n, pauses in enumerate(scenario.upgrades):
                    for _ in range(pauses):
                        await asyncio.sleep(0)
                    try:
                        if n % 2:
                            await system.upgrade(ref, lambda: Sink(handled))
                        else:
                            await system.upgrade(
                                ref, lambda: Sink(handled), migrate=lambda old: Sink(old.handled)
                            )
                    except ActorStopped:
                        return

            async def stopper() -> None:
                if scenario.stop_after is None:
                    return
                for _ in range(scenario.stop_after):
                    await asyncio.sleep(0)
                await system.stop(ref)

            await asyncio.gather(
                upgrader(),
                stopper(),
                *(sender(i, plan) for i, plan in enumerate(scenario.plans)),
            )
        dead: dict[Note, str] = {}
        for letter in system.dead_letters.recent:
            assert isinstance(letter.message, Note), letter
            assert letter.message not in dead, "a message was dead-lettered twice"
            dead[letter.message] = letter.reason
        mailbox = ref.mailbox
        return Outcome(
            accepted,
            refused,
            ask_stopped,
            handled,
            dead,
            system.dead_letters.count,
            mailbox.handled,
        )


@given(scenarios())
@settings(max_examples=120, deadline=None)
def test_every_accepted_message_is_handled_once_or_dead_lettered_with_its_reason(
    scenario: Scenario,
) -> None:
    logging.getLogger("mycelium").disabled = True  # the failures of a scenario are on purpose
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            out = runner.run(_run(scenario))
    finally:
        logging.getLogger("mycelium").disabled = False

    handled, dead = out.handled, out.dead
    assert len(set(handled)) == len(handled), "a message was handled twice"
    assert not set(handled) & set(dead), "a message was both handled and dead-lettered"
    assert out.dead_count == len(dead)
    # Exactly: what a send accepted is handled or dead; nothing refused shows up anywhere.
    assert out.accepted <= set(handled) | set(dead)
    assert set(handled) | set(dead) <= out.accepted | out.ask_stopped
    assert not out.refused & (set(handled) | set(dead))
    assert out.mailbox_handled == len(handled)
    # A failing message is dead with the exception as its reason; it is never handled.
    for note, reason in dead.items():
        if reason.startswith("handler raised"):
            assert note.boom
            assert reason == f"handler raised Boom: note {note.sender}.{note.seq}"
        else:  # only a stop leaves messages unhandled (a failure while it drains stops it)
            assert scenario.stop_after is not None, (note, reason)
    if scenario.stop_after is None:  # then every failing message reached its handler
        assert {note for note in out.accepted if note.boom} <= set(dead)
    assert not any(note.boom for note in handled)
    # Restarts and upgrades keep each sender's order.
    for who in range(len(scenario.plans)):
        seqs = [note.seq for note in handled if note.sender == who]
        assert seqs == sorted(seqs)
