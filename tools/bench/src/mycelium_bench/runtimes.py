"""The runtimes under test, behind one small interface, so each figure is written once.

A figure (``figures.py``) spawns actors through a :class:`Runtime` and talks to them through
a :class:`Handle`: the bound ``try_send``, ``send`` and ``ask`` of one actor, looked up once,
as a tight sender would. :class:`OursRuntime` is Mycelium (``ActorSystem``); the naive design
(``naive.py``) implements the same interface, so both run byte-for-byte the same figure code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, final

from mycelium import Actor, ActorSystem

__all__ = ["Handle", "OursRuntime", "Runtime"]

M = TypeVar("M")


@final
@dataclass(frozen=True, slots=True)
class Handle(Generic[M]):
    """The three ways to deliver a message to one actor, as bound callables."""

    try_send: Callable[[M], None]
    """Deliver without waiting; raises when the mailbox is full."""
    send: Callable[[M], Awaitable[None]]
    """Deliver, waiting for room while the mailbox is full (backpressure)."""
    ask: Callable[[M], Awaitable[Any]]
    """Deliver and wait for the handler's return value (default timeout of the design)."""


class Runtime(ABC):
    """One actor runtime for the length of one measurement; ``close`` stops every actor."""

    name: str

    @abstractmethod
    async def spawn(self, actor: Actor[M], *, capacity: int) -> Handle[M]:
        """Start ``actor`` with a mailbox of ``capacity`` messages; return its handle."""

    @abstractmethod
    async def spawn_idle(self, actor: Actor[Any]) -> None:
        """Start ``actor`` with the default capacity and keep nothing but the runtime's own
        bookkeeping (what ``memory_bytes_per_actor`` measures)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop every actor; the messages already accepted are handled first."""


@final
class OursRuntime(Runtime):
    """Mycelium: one ``ActorSystem`` and its dispatcher."""

    name = "ours"

    __slots__ = ("system",)

    def __init__(self) -> None:
        self.system = ActorSystem("bench")

    async def spawn(self, actor: Actor[M], *, capacity: int) -> Handle[M]:
        ref = await self.system.spawn(actor, capacity=capacity)
        return Handle(ref.try_send, ref.send, ref.ask)

    async def spawn_idle(self, actor: Actor[Any]) -> None:
        await self.system.spawn(actor)

    async def close(self) -> None:
        await self.system.shutdown()
