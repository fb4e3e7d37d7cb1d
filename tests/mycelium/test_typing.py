"""The types users see, checked by pyright (``uv run pyright``) as well as run by pytest.

``assert_type`` lines are checked statically; a ``# pyright: ignore[rule]`` marks an error that
pyright must report there (an ignore with no error under it is itself an error in this file).
"""

# pyright: reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from typing import Any, assert_type

import msgspec
import pytest

from mycelium import Actor, ActorRef, ActorSystem, MessageTypeError


class Ping(msgspec.Struct, frozen=True):
    n: int


class Pong(msgspec.Struct, frozen=True):
    n: int


class Counter(Actor[int, int]):
    """Declares its answers: asks to it return an int."""

    def __init__(self) -> None:
        self.total = 0

    async def handle(self, msg: int) -> int:
        self.total += msg
        return self.total


class Echo(Actor[str]):
    """The short spelling: the answer type is Any."""

    async def handle(self, msg: str) -> str:
        return msg


class Table(Actor[Ping | Pong, str]):
    async def handle(self, msg: Ping | Pong) -> str:
        return type(msg).__name__


class Mislabelled(Actor[int, int]):
    async def handle(self, msg: int) -> str:  # pyright: ignore[reportIncompatibleMethodOverride]
        return str(msg)


def takes_old_spelling(ref: ActorRef[int]) -> ActorRef[int]:
    return ref


async def test_ask_returns_the_declared_answer_type(system: ActorSystem) -> None:
    counter = await system.spawn(Counter())
    assert_type(counter, ActorRef[int, int])
    total = await counter.ask(2)
    assert_type(total, int)
    assert total == 2
    wrong: str = await counter.ask(1)  # pyright: ignore[reportAssignmentType]
    assert wrong == 3  # what pyright refused: the answer is an int


async def test_an_actor_without_an_answer_type_answers_any(system: ActorSystem) -> None:
    echo = await system.spawn(Echo())
    assert_type(echo, ActorRef[str, Any])
    assert_type(echo, ActorRef[str])  # the same type: Actor[M] and ActorRef[M] still mean it
    answer = await echo.ask("hi")
    assert_type(answer, Any)
    assert answer == "hi"


async def test_refs_with_an_answer_type_pass_where_the_short_spelling_is_asked(
    system: ActorSystem,
) -> None:
    counter = await system.spawn(Counter())
    kept: ActorRef[int] = takes_old_spelling(counter)
    assert_type(await kept.ask(1), Any)
    table = await system.spawn(Table())
    assert_type(table, ActorRef[Ping | Pong, str])
    as_pings: ActorRef[Ping, object] = table  # fewer messages, a wider answer: fine
    assert await as_pings.ask(Ping(1)) == "Ping"


async def test_sends_are_checked_statically_and_at_runtime(system: ActorSystem) -> None:
    counter = await system.spawn(Counter())
    with pytest.raises(MessageTypeError):
        counter.tell("one")  # pyright: ignore[reportArgumentType]
    with pytest.raises(MessageTypeError):
        await counter.ask("one")  # pyright: ignore[reportArgumentType]
    narrow: ActorRef[Ping] = await system.spawn(Table())
    wide: ActorRef[Ping | Pong] = narrow  # pyright: ignore[reportAssignmentType]
    assert wide is narrow


async def test_lookup_with_a_message_type_gives_a_typed_ref(system: ActorSystem) -> None:
    await system.spawn(Counter(), name="counter")
    await system.spawn(Table(), name="table")
    untyped = system.lookup("counter")
    assert_type(untyped, ActorRef[Any] | None)
    counter = system.lookup("counter", int)
    assert_type(counter, ActorRef[int] | None)
    assert counter is not None
    assert await counter.ask(5) == 5
    pings = system.lookup("table", Ping)
    assert_type(pings, ActorRef[Ping] | None)
    assert pings is not None
    pings.tell(Ping(1))
    pings.tell(Pong(1))  # pyright: ignore[reportArgumentType]  # accepted at runtime: Table's
    assert system.lookup("nobody", int) is None


async def test_lookup_refuses_a_message_type_the_actor_does_not_handle(
    system: ActorSystem,
) -> None:
    ref = await system.spawn(Counter(), name="counter")
    label = f"counter#{int(ref.id)}"
    with pytest.raises(
        TypeError,
        match=rf"^actor '{label}' handles int, not every str; look it up with a message type",
    ):
        system.lookup("counter", str)
    table = await system.spawn(Table(), name="table")
    with pytest.raises(TypeError, match=r"handles Ping \| Pong, not every int"):
        system.lookup("table", int)
    assert table.is_alive
