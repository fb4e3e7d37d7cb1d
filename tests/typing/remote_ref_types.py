"""Checked by pyright strict (``uv run pyright``), never run: the types a user gets from
``RemoteActorRef`` and ``serve``.

``assert_type`` fails the pyright run when an inferred type drifts; each line marked
``# pyright: ignore[...]`` must be an error (this file reports unnecessary ignores), so a send
that stops being checked fails the run too. ``tests/typing/test_typing_files.py`` runs pyright
on this file as a test.
"""

# pyright: strict, reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

from typing import Any, TypeAlias, assert_type

import msgspec

from mycelium import ActorRef, ActorServer, RemoteActorRef, Transport, serve


class Buy(msgspec.Struct, frozen=True, tag=True):
    qty: int


class Sell(msgspec.Struct, frozen=True, tag=True):
    qty: int


class Unrelated(msgspec.Struct, frozen=True, tag=True):
    pass


SignalMessage: TypeAlias = Buy | Sell


async def union_alias(transport: Transport) -> None:
    ref = RemoteActorRef(transport, SignalMessage)
    assert_type(ref, RemoteActorRef[Buy | Sell])
    await ref.send(Buy(1))
    ref.try_send(Sell(2))
    await ref.ask(Buy(3))
    await ref.send(Unrelated())  # pyright: ignore[reportArgumentType]
    ref.try_send("text")  # pyright: ignore[reportArgumentType]
    wide: ActorRef[SignalMessage] = ref  # the spelling of today keeps working
    await wide.send(Unrelated())  # pyright: ignore[reportArgumentType]


async def inline_union(transport: Transport) -> None:
    ref = RemoteActorRef(transport, Buy | Sell, name="signals")
    assert_type(ref, RemoteActorRef[Buy | Sell])
    await ref.send(Unrelated())  # pyright: ignore[reportArgumentType]


async def one_class(transport: Transport) -> None:
    ref = RemoteActorRef(transport, Buy, reply_type=int)
    assert_type(ref, RemoteActorRef[Buy])
    await ref.send(Sell(1))  # pyright: ignore[reportArgumentType]


async def untyped(transport: Transport, message_type: Any) -> None:
    assert_type(RemoteActorRef(transport, message_type), RemoteActorRef[Any])


def always_true(ref: RemoteActorRef[Buy], fallback: ActorRef[Buy]) -> ActorRef[Buy]:
    return ref or fallback  # a ref is always true: this returns ref


def served(transport: Transport, target: ActorRef[SignalMessage]) -> None:
    assert_type(serve(transport, target, SignalMessage), ActorServer[Buy | Sell])
    # A server may decode fewer types than its actor handles...
    assert_type(serve(transport, target, Buy), ActorServer[Buy])
    # ... never more.
    serve(transport, target, Buy | Unrelated)  # pyright: ignore[reportArgumentType]
