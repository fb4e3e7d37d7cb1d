"""``_message_type.py``: the sender checks each message against the actor's declared type."""

from __future__ import annotations

from typing import (
    Annotated,
    Any,
    Generic,
    Literal,
    NewType,
    Optional,
    Protocol,
    TypedDict,
    TypeVar,
    Union,
    runtime_checkable,
)

import msgspec
import pytest

from mycelium import Actor, ActorRef, ActorSystem, MessageTypeError

T = TypeVar("T")
B = TypeVar("B", bound=str)


class Ping(msgspec.Struct, frozen=True):
    n: int


class LoudPing(Ping, frozen=True):
    pass


class Pong(msgspec.Struct, frozen=True):
    n: int


class Sink(Actor[Any]):
    """Keeps what it handles; the subclasses below only change the declared type."""

    def __init__(self) -> None:
        self.got: list[object] = []

    async def handle(self, msg: Any) -> None:
        self.got.append(msg)


class Ints(Sink, Actor[int]):
    pass


class Pings(Sink, Actor[Ping]):
    pass


class PingsOrPongs(Sink, Actor[Ping | Pong]):
    pass


class OldUnion(Sink, Actor[Union[int, str]]):  # noqa: UP007 - the typing.Union spelling
    pass


class MaybeInt(Sink, Actor[Optional[int]]):  # noqa: UP045 - the typing.Optional spelling
    pass


class Anything(Sink, Actor[Any]):
    pass


class Objects(Sink, Actor[object]):
    pass


class Lists(Sink, Actor[list[int]]):
    pass


class AnnotatedInts(Sink, Actor[Annotated[int, "meters"]]):
    pass


UserId = NewType("UserId", int)


class UserIds(Sink, Actor[UserId]):
    pass


class Base(Actor[T], Generic[T]):
    def __init__(self) -> None:
        self.got: list[object] = []

    async def handle(self, msg: T) -> None:
        self.got.append(msg)


class IntBase(Base[int]):
    pass


class Middle(Base[T], Generic[T]):
    pass


class StrLeaf(Middle[str]):
    pass


class GrandChild(IntBase):
    pass


class Unbound(Base):  # pyright: ignore[reportMissingTypeArgument]
    pass


class Bounded(Actor[B], Generic[B]):
    async def handle(self, msg: B) -> None:
        pass


class Overridden(Base[Any]):
    message_type = bytes


class Literals(Actor[Literal["a", "b"]]):
    async def handle(self, msg: str) -> None:
        pass


def untyped(ref: ActorRef[Any]) -> ActorRef[Any]:
    """The ref without its static message type, to send what pyright would refuse."""
    return ref


async def _accepts(system: ActorSystem, actor: Actor[Any], messages: list[object]) -> None:
    ref = untyped(await system.spawn(actor))
    for msg in messages:
        ref.tell(msg)
    await system.stop(ref)
    assert getattr(actor, "got", messages) == messages


async def _refuses(system: ActorSystem, actor: Actor[Any], msg: object, expected: str) -> None:
    ref = untyped(await system.spawn(actor))
    label = f"{type(actor).__name__}#{int(ref.id)}"
    pattern = (
        rf"^actor '{label}' handles {expected}, not {type(msg).__qualname__}; "
        r"the message was not delivered\.$"
    )
    with pytest.raises(MessageTypeError, match=pattern) as info:
        ref.try_send(msg)
    assert info.value.message is msg
    with pytest.raises(MessageTypeError, match=pattern):
        ref.tell(msg)
    with pytest.raises(MessageTypeError, match=pattern):
        await ref.send(msg)
    with pytest.raises(MessageTypeError, match=pattern):
        await ref.ask(msg)
    mailbox = ref.mailbox
    assert (len(mailbox), mailbox.dropped) == (0, 0)
    assert ref.is_alive
    await system.stop(ref)
    assert getattr(actor, "got", []) == []


async def test_a_class_accepts_its_instances(system: ActorSystem) -> None:
    await _accepts(system, Ints(), [1, -5, 10**30])
    await _accepts(system, Pings(), [Ping(1)])


async def test_a_class_accepts_its_subclasses(system: ActorSystem) -> None:
    await _accepts(system, Ints(), [True, 3])
    await _accepts(system, Pings(), [LoudPing(1), Ping(2)])


@pytest.mark.parametrize(
    ("actor", "msg", "expected"),
    [
        (Ints(), "1", "int"),
        (Ints(), 1.0, "int"),
        (Ints(), None, "int"),
        (Pings(), Pong(1), "Ping"),
        (PingsOrPongs(), 3, r"Ping \| Pong"),
        (OldUnion(), 1.5, r"int \| str"),
        (MaybeInt(), "x", r"int \| None"),
        (Lists(), (1, 2), r"list\[int\]"),
        (AnnotatedInts(), "1", r"Annotated\[int, 'meters'\]"),
        (UserIds(), "u1", r".*UserId.*"),
    ],
    ids=lambda value: type(value).__name__,
)
async def test_a_message_of_another_type_is_refused_at_the_sender(
    system: ActorSystem, actor: Actor[Any], msg: object, expected: str
) -> None:
    await _refuses(system, actor, msg, expected)


async def test_a_union_accepts_each_member(system: ActorSystem) -> None:
    await _accepts(system, PingsOrPongs(), [Ping(1), Pong(2), LoudPing(3)])
    await _accepts(system, OldUnion(), [1, "one"])
    await _accepts(system, MaybeInt(), [None, 1])


async def test_any_and_object_accept_everything(system: ActorSystem) -> None:
    messages: list[object] = [1, "x", None, Ping(1), object]
    await _accepts(system, Anything(), messages)
    await _accepts(system, Objects(), messages)


async def test_a_generic_class_checks_only_its_origin(system: ActorSystem) -> None:
    await _accepts(system, Lists(), [[1], ["not", "checked"]])


async def test_annotated_and_new_type_check_the_underlying_class(system: ActorSystem) -> None:
    await _accepts(system, AnnotatedInts(), [1])
    await _accepts(system, UserIds(), [UserId(7), 8])


async def test_a_generic_actor_subclass_binds_the_message_type(system: ActorSystem) -> None:
    await _accepts(system, IntBase(), [1, 2])
    await _refuses(system, IntBase(), "1", "int")


async def test_the_binding_is_followed_through_several_generic_levels(
    system: ActorSystem,
) -> None:
    await _accepts(system, StrLeaf(), ["a"])
    await _refuses(system, StrLeaf(), 1, "str")


async def test_a_plain_subclass_inherits_the_binding(system: ActorSystem) -> None:
    await _accepts(system, GrandChild(), [1])
    await _refuses(system, GrandChild(), "1", "int")


async def test_an_unbound_type_variable_accepts_everything(system: ActorSystem) -> None:
    await _accepts(system, Unbound(), [1, "x", None])


async def test_a_bound_type_variable_checks_the_bound(system: ActorSystem) -> None:
    ref = untyped(await system.spawn(Bounded[str]()))
    ref.tell("ok")
    with pytest.raises(MessageTypeError):
        ref.tell(1)


async def test_message_type_overrides_the_declaration(system: ActorSystem) -> None:
    await _accepts(system, Overridden(), [b"raw"])
    await _refuses(system, Overridden(), 1, "bytes")


async def test_a_type_that_cannot_be_checked_is_refused_at_spawn(system: ActorSystem) -> None:
    with pytest.raises(TypeError, match=r"^cannot check messages of Literals at runtime: "):
        await system.spawn(Literals())
    assert len(system) == 0


async def test_a_refused_message_does_not_change_what_is_accepted_later(
    system: ActorSystem,
) -> None:
    actor = Ints()
    ref = untyped(await system.spawn(actor))
    for _ in range(3):
        with pytest.raises(MessageTypeError):
            ref.tell("1")
        ref.tell(1)
        ref.tell(True)
    with pytest.raises(MessageTypeError):
        await ref.send(2.5)
    await system.stop(ref)
    assert actor.got == [1, True] * 3


async def test_actors_of_different_classes_keep_separate_checks(system: ActorSystem) -> None:
    ints = untyped(await system.spawn(Ints()))
    strs = untyped(await system.spawn(StrLeaf()))
    ints.tell(1)
    strs.tell("a")
    with pytest.raises(MessageTypeError):
        strs.tell(1)
    with pytest.raises(MessageTypeError):
        ints.tell("a")


class Greeter(Protocol):
    def greet(self) -> str: ...


@runtime_checkable
class CheckedGreeter(Protocol):
    def greet(self) -> str: ...


@runtime_checkable
class Named(Protocol):
    name: str


class Point(TypedDict):
    x: int
    y: int


class English:
    def greet(self) -> str:
        return "hello"


class Greeters(Sink, Actor[Greeter]):
    pass


class CheckedGreeters(Sink, Actor[CheckedGreeter]):
    pass


class MaybeCheckedGreeters(Sink, Actor[CheckedGreeter | None]):
    pass


class NamedThings(Sink, Actor[Named]):
    pass


class Points(Sink, Actor[Point]):
    pass


class PointsOrInts(Sink, Actor[Point | int]):
    pass


class RefusesInstanceChecks(type):
    def __instancecheck__(cls, instance: object) -> bool:
        raise TypeError("no instance checks here")


class Odd(metaclass=RefusesInstanceChecks):
    pass


class Odds(Sink, Actor[Odd]):
    pass


@pytest.mark.parametrize(
    ("actor", "reason"),
    [
        (Greeters(), r"its message type .*\.Greeter is a Protocol that is not @runtime_checkable"),
        (NamedThings(), r"its message type .*\.Named is a Protocol with data members"),
        (Points(), r"its message type .*\.Point is a TypedDict, which is a plain dict at runtime"),
        (PointsOrInts(), r"its message type .*\.Point is a TypedDict"),
        (Odds(), r"its message type .*\.Odd is refused by isinstance \(no instance checks here\)"),
    ],
    ids=lambda value: type(value).__name__,
)
async def test_a_type_isinstance_cannot_check_is_refused_at_spawn_saying_why(
    system: ActorSystem, actor: Actor[Any], reason: str
) -> None:
    with pytest.raises(TypeError, match=rf"^cannot check messages of {type(actor).__name__} "):
        await system.spawn(actor)
    with pytest.raises(TypeError, match=reason):
        await system.spawn(actor)
    assert len(system) == 0


async def test_a_runtime_checkable_protocol_of_methods_accepts_classes_with_them(
    system: ActorSystem,
) -> None:
    await _accepts(system, CheckedGreeters(), [English(), English()])
    await _accepts(system, MaybeCheckedGreeters(), [English(), None])
    await _refuses(system, CheckedGreeters(), 1, "CheckedGreeter")


# Two message classes with one name, from two modules: errors name them with their modules.
Order = msgspec.defstruct("Order", [("id", int)], module="shop.orders", frozen=True)
OtherOrder = msgspec.defstruct("Order", [("id", int)], module="billing.orders", frozen=True)


class Orders(Sink, Actor[Any]):
    message_type = Order


class OrdersOrNone(Sink, Actor[Any]):
    message_type = Order | None


async def test_a_refused_class_named_like_the_declared_one_is_named_with_its_module(
    system: ActorSystem,
) -> None:
    for actor, expected in [
        (Orders(), "shop.orders.Order"),
        (OrdersOrNone(), "shop.orders.Order | None"),
    ]:
        ref = untyped(await system.spawn(actor))
        with pytest.raises(MessageTypeError) as info:
            ref.tell(OtherOrder(1))
        assert str(info.value) == (
            f"actor '{type(actor).__name__}#{int(ref.id)}' handles {expected}, not "
            "billing.orders.Order; the message was not delivered."
        )
        assert info.value.expected == expected
        ref.tell(Order(1))
    await _refuses(system, Orders(), 1, "Order")  # no clash: short names
