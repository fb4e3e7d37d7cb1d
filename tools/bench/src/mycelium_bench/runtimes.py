"""The runtimes under test, behind one small interface, so each figure is written once.

A figure (``figures.py``) spawns actors through a :class:`Runtime` and talks to them through
a :class:`Handle`: the bound ``try_send``, ``send`` and ``ask`` of one actor, looked up once,
as a tight sender would. :class:`OursRuntime` is Mycelium (``ActorSystem``); the naive design
(``naive.py``) implements the same interface, so both run byte-for-byte the same figure code.
``spawn_us`` spawns through ``spawn_ref``, which returns the design's own ref (an
:class:`Asked`) with no :class:`Handle` built, and stops each actor with ``stop``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, final

from mycelium import Actor, ActorRef, ActorSystem

__all__ = ["Asked", "Handle", "OursRuntime", "Runtime"]

M = TypeVar("M")
M_contra = TypeVar("M_contra", contravariant=True)


class Asked(Protocol[M_contra]):
    """A design's own ref to one actor, as ``spawn_ref`` returns it: what ``spawn_us`` asks."""

    def ask(self, msg: M_contra, /) -> Awaitable[Any]:
        """Deliver ``msg`` and wait for the handler's return value (default timeout)."""
        ...


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
    async def spawn_ref(self, actor: Actor[M]) -> Asked[M]:
        """Start ``actor`` with the default capacity; return the design's own ref to it."""

    @abstractmethod
    async def stop(self, ref: Asked[Any]) -> None:
        """Stop the actor of ``ref`` (from ``spawn_ref``), waiting until it has stopped."""

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

    async def spawn_ref(self, actor: Actor[M]) -> ActorRef[M]:
        return await self.system.spawn(actor)

    async def stop(self, ref: Asked[Any]) -> None:
        if not isinstance(ref, ActorRef):
            raise TypeError(f"not a ref of this runtime: {ref!r}")
        await self.system.stop(ref)  # pyright: ignore[reportUnknownArgumentType]

    async def close(self) -> None:
        await self.system.shutdown()
